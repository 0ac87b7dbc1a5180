# No `from __future__ import annotations`: django-ninja reads the schemas' annotations at runtime.
"""The goals API: create, read, change and archive goals with their targets and distribution.

A token acts as an admin of its tenant: it may backfill and set a sales role's KPIs. Members are
named by email, rules by key, the ruleset by id; anything of another tenant is unknown here.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status
from pydantic import BeforeValidator, Discriminator, Tag

from core.numbers import EXAMPLE, number_parse
from core.pagination import Pages
from hierarchy.models import Member, SalesRole
from hierarchy.services import normalize_email
from rulesets.models import Ruleset

from .models import Goal, tenant_today
from .quotas import QuotaInput, quota_rows, quotas_set, shown_targets
from .services import (
    AMOUNT_LIMIT,
    OWN_KEY,
    GoalDraft,
    SplitInput,
    TargetInput,
    goal_archive,
    goal_plan,
    goal_save,
)

router = Router()


def _ascii_number(value: object) -> object:
    """Text is read as a number only in ASCII digits (core.numbers), as elsewhere."""
    if isinstance(value, str) and number_parse(value) is None:
        raise ValueError(f"{value!r} is not a number ({EXAMPLE})")
    return value


# A target, share or percentage: finite and within what a target is stored with.
Amount = Annotated[
    Decimal, BeforeValidator(_ascii_number), Field(gt=-AMOUNT_LIMIT, lt=AMOUNT_LIMIT)
]


class PhasedTarget(Schema):
    total: Amount = Field(..., description="The target over the whole goal.")
    phasing: list[Amount] = Field(..., description="One percentage per cycle, adding up to 100.")


# A target is an amount or a phased total; the tags keep the error locations short ("decimal").
Target = Annotated[
    Annotated[Amount, Tag("decimal")] | Annotated[PhasedTarget, Tag("PhasedTarget")],
    Discriminator(lambda value: "PhasedTarget" if isinstance(value, dict | Schema) else "decimal"),
]


class LevelIn(Schema):
    parent: str = Field(..., description="The email of the manager whose share is split.")
    method: str = Field(..., description="equal, level, percentage or custom")
    shares: dict[str, Amount] = Field(
        {}, description='Percentages or amounts by report email, and "own" for the manager.'
    )
    rule: str | None = Field(None, description="A rule key; every rule when absent.")


class GoalIn(Schema):
    name: str
    ruleset: int
    team: str = Field(..., description="The email of the member whose subtree the goal covers.")
    cycle: str = Field(..., description="daily, weekly, biweekly, monthly, quarterly or yearly")
    start: date
    end: date = Field(..., description="The last day, inclusive.")
    backfill: bool = False
    holders: str = Field(Goal.Holders.REPS, description="reps or everyone")
    default_split: str = Field(
        Goal.Split.EQUAL,
        description=(
            "How levels not listed in distribution split: equal (per person carrying a "
            "target: a manager of eight gets eight shares) or level (equal among direct "
            "reports, whatever their teams' sizes)."
        ),
    )
    sales_role: str = Field(
        "",
        description=(
            "The KPIs of a sales role, by name: every member with the role holds the targets "
            "in full (no distribution); empty for a team goal."
        ),
    )
    targets: dict[str, Target] = Field(
        ...,
        description=(
            "By rule key: the team target per cycle, or a phased total. A rule of the ruleset "
            "left out is a tracked metric: computed and reported with no target and no status "
            "(except a ratio's numerator or denominator, reported on the ratio's rows)."
        ),
    )
    distribution: list[LevelIn] = Field(
        [], description="Levels not listed split as default_split says."
    )


class Problem(Schema):
    field: str
    message: str


class ProblemsOut(Schema):
    detail: list[Problem]


class GoalSummary(Schema):
    id: int
    name: str
    ruleset: int
    ruleset_name: str
    team: str
    cycle: str
    start: date
    end: date
    status: str
    holders: str
    default_split: str
    sales_role: str
    backfilled: bool


class CycleOut(Schema):
    index: int
    label: str
    start: date
    end: date = Field(..., description="The last day, inclusive.")
    partial: bool


class MemberTargetsOut(Schema):
    member: str
    name: str
    targets: dict[str, dict[str, Decimal | None]] = Field(
        ..., description="By rule key: own (null when the member holds none) and team."
    )


class GoalOut(GoalSummary):
    targets: dict[str, dict[str, Any]]
    distribution: list[dict[str, Any]]
    cycles: list[CycleOut]
    shown_cycle: int = Field(..., description="The cycle the member targets are for.")
    members: list[MemberTargetsOut]
    warnings: list[str] = Field(
        ...,
        description=(
            "A counted target whose split gives someone 0 in the shown cycle: saved as asked, "
            "but rarely meant (a longer cycle, a team-only target or custom amounts fix it)."
        ),
    )


def _summary(goal: Goal, today: date) -> dict[str, Any]:
    return {
        "id": goal.pk,
        "name": goal.name,
        "ruleset": goal.ruleset_id,
        "ruleset_name": goal.ruleset.name,
        "team": goal.team.user.email,
        "cycle": goal.cycle,
        "start": goal.start,
        "end": goal.end,
        "status": goal.status_on(today).value,
        "holders": goal.holders,
        "default_split": goal.default_split,
        "sales_role": goal.sales_role.name if goal.sales_role_id else "",
        "backfilled": goal.backfilled,
    }


def _goals():  # noqa: ANN202
    return Goal.objects.select_related("tenant", "ruleset", "team__user", "sales_role")


def _out(goal: Goal) -> dict[str, Any]:
    """The goal with every member's targets in the shown cycle (a fixed number of queries)."""
    today = tenant_today(goal.tenant)
    plan = goal_plan(goal)
    emails = {pk: member.user.email for pk, member in plan.tree.members.items()}
    keys = {rule.pk: rule.key for rule in plan.rules}
    cycle = plan.shown_cycle(today)
    table, _stored = shown_targets(goal, plan, cycle)
    splits = goal.splits.select_related("parent__user").order_by("parent__lft", "rule__position")
    return _summary(goal, today) | {
        "targets": {
            keys[rule_id]: {"amount": target.amount, "phasing": list(target.phasing)}
            for rule_id, target in plan.targets.items()
        },
        "distribution": [
            {
                "rule": keys[split.rule_id],
                "parent": split.parent.user.email,
                "method": split.method,
                "shares": {
                    key if key == OWN_KEY else emails.get(int(key), key): value
                    for key, value in split.shares.items()
                },
            }
            for split in splits
        ],
        "cycles": [
            {
                "index": c.index,
                "label": c.label,
                "start": c.local_start,
                "end": c.local_end - timedelta(days=1),
                "partial": c.partial,
            }
            for c in plan.cycles
        ],
        "shown_cycle": cycle.index,
        "warnings": [] if plan.template else plan.zero_shares(cycle),
        "members": [
            {
                "member": emails[pk],
                "name": plan.tree.members[pk].name,
                "targets": {key: {"own": t.own, "team": t.team} for key, t in targets.items()},
            }
            for pk, targets in table.items()
        ],
    }


def _member(email: str, where: str, errors: dict[str, str]) -> Member | None:
    found = (
        Member.objects.select_related("tenant").filter(user__email__iexact=email.strip()).first()
    )
    if found is None:
        errors[where] = f"No member with the email {email!r} in this organization."
    return found


def _draft(body: GoalIn) -> GoalDraft:
    """The service's draft from the request, or ValidationError naming every unknown name."""
    errors: dict[str, str] = {}
    ruleset = Ruleset.objects.filter(pk=body.ruleset).first()
    if ruleset is None:
        errors["ruleset"] = f"No ruleset {body.ruleset} in this organization."
    team = _member(body.team, "team", errors)
    role = None
    if body.sales_role.strip():
        role = SalesRole.objects.filter(name__iexact=body.sales_role.strip()).first()
        if role is None:
            errors["sales_role"] = (
                f"No sales role called {body.sales_role.strip()!r} in this organization."
            )
    splits = []
    for index, level in enumerate(body.distribution):
        parent = _member(level.parent, f"distribution.{index}.parent", errors)
        shares: dict[int | str, Decimal] = {}
        for key, value in level.shares.items():
            if key == OWN_KEY:
                shares[OWN_KEY] = value
            elif report := _member(key, f"distribution.{index}.shares.{key}", errors):
                shares[report.pk] = value
        if parent is not None:
            splits.append(SplitInput(parent, level.method, shares, level.rule))
    if errors:
        raise ValidationError(errors)
    targets = {
        key: TargetInput(value.total, tuple(value.phasing))
        if isinstance(value, PhasedTarget)
        else TargetInput(value)
        for key, value in body.targets.items()
    }
    return GoalDraft(
        name=body.name,
        ruleset=ruleset,
        team=team,
        cycle=body.cycle,
        start=body.start,
        end=body.end,
        targets=targets,
        splits=splits,
        holders=body.holders,
        default_split=body.default_split,
        sales_role=role,
        backfill=body.backfill,
    )


def _problems(exc: ValidationError) -> dict[str, list[dict[str, str]]]:
    return {
        "detail": [
            {"field": field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    }


def _save(request: HttpRequest, body: GoalIn, goal: Goal | None) -> Status:
    try:
        saved = goal_save(draft=_draft(body), goal=goal, actor=f"API token {request.auth.name!r}")
    except ValidationError as exc:
        return Status(422, _problems(exc))
    return Status(200 if goal else 201, _out(_goals().get(pk=saved.pk)))


@router.get("", response=list[GoalSummary])
@paginate(Pages, page_size=100)
def goals_list(request: HttpRequest, status: str | None = None) -> list[dict[str, Any]]:
    """The tenant's goals, newest first; ``status``: upcoming, in_progress, ended or archived."""
    today = tenant_today(request.tenant)
    summaries = [_summary(goal, today) for goal in _goals()]
    return [s for s in summaries if status is None or s["status"] == status]


@router.post("", response={201: GoalOut, 422: ProblemsOut})
def goals_create(request: HttpRequest, body: GoalIn) -> Status:
    """Create a goal; every problem answers 422 named by field ("targets.won",
    "distribution.0.shares.east@example.com", "start")."""
    return _save(request, body, None)


@router.get("/{goal_id}", response=GoalOut)
def goals_get(request: HttpRequest, goal_id: int) -> dict[str, Any]:
    """The goal, its cycles, and every member's target per rule in the current cycle (the first
    while upcoming, the last once ended): its stored quotas once stored (a member without one
    holds none), else the targets it would get from the team as it is."""
    return _out(get_object_or_404(_goals(), pk=goal_id))


@router.put("/{goal_id}", response={200: GoalOut, 422: ProblemsOut})
def goals_update(request: HttpRequest, goal_id: int, body: GoalIn) -> Status:
    """Change a goal: name, end date, targets and distribution while it runs (its ruleset, team,
    cycle and start only while upcoming); an ended or archived goal is read-only (422)."""
    return _save(request, body, get_object_or_404(_goals(), pk=goal_id))


@router.delete("/{goal_id}", response={204: None, 409: ProblemsOut})
def goals_delete(request: HttpRequest, goal_id: int) -> Status:
    """Archive the goal: kept with its history, no longer computed (409 once ended)."""
    goal = get_object_or_404(_goals(), pk=goal_id)
    try:
        goal_archive(goal=goal, actor=f"API token {request.auth.name!r}")
    except ValidationError as exc:
        return Status(409, _problems(exc))
    return Status(204, None)


class QuotaOut(Schema):
    member: str = Field(..., description="The member's email.")
    member_name: str
    rule: str = Field(..., description="The rule's key.")
    cycle: int = Field(..., description="The cycle's index in the goal.")
    cycle_start: date = Field(..., description="The cycle's first local day.")
    cycle_end: date = Field(..., description="The cycle's last local day.")
    own: Decimal | None = Field(..., description="The member's own target; null: none held.")
    team: Decimal = Field(..., description="The target of the member and their whole team.")
    source: str = Field(..., description="distribution, redistribution or manual")
    set_by: str = Field(..., description="Who or what set it: a member, a token, recompute.")
    set_at: datetime


class QuotaIn(Schema):
    member: str = Field(..., description="The member's email.")
    rule: str = Field(..., description="The key of a rule with a target in the goal.")
    own: Amount | None = Field(None, description="The member's own target; null: none.")
    team: Amount | None = Field(
        None,
        description=(
            "Counts and sums: leave out (the sum of the team's own targets; a different "
            "number is refused). Rates and averages: the team's target, else own."
        ),
    )


class QuotasIn(Schema):
    cycle: int = Field(..., description="The index of a cycle that has not ended.")
    quotas: list[QuotaIn]


@router.get("/{goal_id}/quotas", response=list[QuotaOut])
def goal_quotas(
    request: HttpRequest, goal_id: int, cycle: int | None = None, member: str | None = None
) -> list[dict[str, Any]]:
    """The goal's stored quotas: each member's own and team target per rule and cycle, with
    who set them; ``cycle`` (an index) and ``member`` (an email) filter. A cycle's quotas are
    stored when it is first computed."""
    goal = get_object_or_404(_goals(), pk=goal_id)
    return [row.export() for row in quota_rows(goal, cycle=cycle, member_email=member)]


@router.put("/{goal_id}/quotas", response={200: list[QuotaOut], 422: ProblemsOut})
def goal_quotas_put(request: HttpRequest, goal_id: int, body: QuotasIn) -> Status:
    """Set a cycle's quotas of the rules named, all or nothing (422 naming each member and
    rule at fault): for each rule named, the members listed hold what is given and the others
    none; a count's or sum's team targets are the sums over each team. Ended cycles are
    refused. Answers the cycle's quotas."""
    goal = get_object_or_404(_goals(), pk=goal_id)
    wanted = {normalize_email(entry.member) for entry in body.quotas}
    found = {
        member.user.email.lower(): member
        for member in Member.objects.select_related("user").filter(user__email__in=wanted)
    }
    errors = {
        f"quotas.{n}.member": f"No member with the email {entry.member!r} in this organization."
        for n, entry in enumerate(body.quotas)
        if normalize_email(entry.member) not in found
    }
    entries = [
        QuotaInput(found.get(normalize_email(e.member)), e.rule, e.own, e.team) for e in body.quotas
    ]
    try:
        quotas_set(
            goal=goal,
            cycle_index=body.cycle,
            entries=entries,
            actor=f"API token {request.auth.name!r}",
            problems=errors,
        )
    except ValidationError as exc:
        return Status(422, _problems(exc))
    return Status(200, [row.export() for row in quota_rows(goal, cycle=body.cycle)])
