"""Sales roles and their KPIs: the role mapping of Settings and its API.

A role's KPIs are the live goals set for the role (``Goal.sales_role``): each rule with a
target is a KPI, held in full by every member with the role. A KPI over activities may be
mapped to activity types ("meetings booked" = activities of the types "Discovery meeting"
and "Demo meeting"): the mapping *is* the rule's condition ``type in [...]``, read from and
written to the rule (through ``ruleset_save``, audited, like the rule builder), never kept
twice. Members given a role hold its KPIs from the next cycle, or at once when an admin says
so (``hierarchy.services.sales_roles_change``; the receivers are here).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils import timezone
from django_scopes import scope

from crm.models import ActivityType
from hierarchy.models import Member, SalesRole, Tenant
from hierarchy.services import Actor
from rulesets.models import GoalRule, Ruleset
from rulesets.services import ruleset_save
from rulesets.spec import RulesetError

from .calendar import CycleKind
from .models import Goal, GoalTarget, tenant_today
from .quotas import quotas_ensure, quotas_rederive, running_cycle
from .services import GoalDraft, TargetInput, goal_announce, goal_plan, goal_save

TYPE_FIELD = "type"


def activity_types_of(rule: GoalRule) -> list[str] | None:
    """The activity types a rule over activities counts (its ``type`` condition; empty: any
    type), or None for a rule over anything else."""
    if rule.entity != "activity":
        return None
    for condition in rule.conditions:
        if condition.get("field") != TYPE_FIELD:
            continue
        if condition.get("op") == "in":
            return list(condition.get("value") or [])
        if condition.get("op") == "eq":
            return [condition.get("value")]
    return []


@dataclass
class Kpi:
    goal: Goal
    rule: GoalRule
    target: GoalTarget
    activity_types: list[str] | None  # None: not over activities
    form: Any = None  # the page's form of its activity types

    @property
    def key(self) -> str:
        return str(self.target.pk)


@dataclass
class RoleRow:
    role: SalesRole
    holders: int
    kpis: list[Kpi] = field(default_factory=list)
    kpi_form: Any = None  # the page's form to add a KPI


def role_mapping(tenant: Tenant) -> list[RoleRow]:
    """Every sales role with its active holders and its KPIs (the targeted rules of its live
    goals that have not ended), by role name, goal and rule position (three queries)."""
    today = tenant_today(tenant)
    with scope(tenant=tenant):
        roles = SalesRole.objects.annotate(
            holders=Count("members", filter=Q(members__is_active=True))
        ).order_by("name")
        rows = {role.pk: RoleRow(role, role.holders) for role in roles}
        targets = (
            GoalTarget.objects.filter(
                goal__sales_role__isnull=False, goal__archived_at__isnull=True, goal__end__gte=today
            )
            .select_related("goal__ruleset", "goal__tenant", "rule")
            .order_by("goal__start", "goal__name", "goal_id", "rule__position")
        )
        for target in targets:
            kpi = Kpi(target.goal, target.rule, target, activity_types_of(target.rule))
            rows[target.goal.sales_role_id].kpis.append(kpi)
    return list(rows.values())


def role_kpi_add(
    *,
    role: SalesRole,
    rule: GoalRule,
    amount: Decimal,
    cycle: str,
    start: date | None = None,
    end: date,
    actor: Actor,
) -> Goal:
    """Make ``rule`` a KPI of ``role`` with ``amount`` per cycle: a target in the role's live
    goal of the rule's ruleset and cycle (an audited goal edit), or a new goal for the role's
    holders across the company from ``start`` (today by default) to ``end``. ValidationError
    names the field."""
    if rule.tenant_id != role.tenant_id:
        raise ValidationError({"rule": "Unknown rule."})
    if cycle not in CycleKind.__members__.values():
        raise ValidationError({"cycle": f"Choose a cycle: {', '.join(CycleKind)}."})
    tenant = role.tenant
    today = tenant_today(tenant)
    with scope(tenant=tenant):
        goal = (
            Goal.objects.live()
            .filter(sales_role=role, ruleset_id=rule.ruleset_id, cycle=cycle, end__gte=today)
            .select_related("ruleset", "team", "tenant")
            .order_by("start")
            .first()
        )
        if goal is None:
            root = Member.objects.get(reports_to=None)
            draft = GoalDraft(
                name=f"{role.name} KPIs: {rule.ruleset.name}, {cycle}",
                ruleset=rule.ruleset,
                team=root,
                cycle=cycle,
                start=start or today,
                end=end,
                targets={rule.key: TargetInput(amount)},
                sales_role=role,
            )
            return goal_save(draft=draft, actor=actor)
        targets = {
            t.rule.key: TargetInput(t.amount, tuple(Decimal(str(p)) for p in t.phasing))
            for t in goal.targets.select_related("rule")
        }
    if rule.key in targets:
        raise ValidationError(
            {"rule": f"{rule.name} is already a KPI of {role.name} ({goal.name})."}
        )
    draft = GoalDraft(
        name=goal.name,
        ruleset=goal.ruleset,
        team=goal.team,
        cycle=goal.cycle,
        start=goal.start,
        end=goal.end,
        targets=targets | {rule.key: TargetInput(amount)},
        holders=goal.holders,
        sales_role=role,
        backfill=goal.backfilled,
        default_split=goal.default_split,
    )
    return goal_save(draft=draft, goal=goal, actor=actor)


def kpi_activity_types_set(*, rule: GoalRule, types: Iterable[str], actor: Actor) -> GoalRule:
    """Map a KPI over activities to activity types: the rule's ``type`` condition becomes
    ``type in types`` (none: the rule counts every type), saved with its ruleset like the rule
    builder does (checked, audited, its goals recomputed). Every goal of the ruleset counts
    the same types. ValidationError names the field in a sentence."""
    wanted = list(dict.fromkeys(name.strip() for name in types if name.strip()))
    if rule.entity != "activity":
        raise ValidationError(
            {"activity_types": f"{rule.name} does not count activities: only a KPI over "
                               "activities maps to activity types."}
        )  # fmt: skip
    with scope(tenant=rule.tenant_id):
        ruleset = Ruleset.objects.select_related("tenant").get(pk=rule.ruleset_id)
        tenant = ruleset.tenant
        known = {name.lower(): name for name in ActivityType.objects.values_list("name", flat=True)}
        unknown = [name for name in wanted if name.lower() not in known]
        if unknown:
            raise ValidationError(
                {"activity_types": f"{', '.join(unknown)}: not an activity type of this "
                                   "organization (Settings lists them)."}
            )  # fmt: skip
        wanted = [known[name.lower()] for name in wanted]
        definitions = [r.definition() for r in ruleset.rules.order_by("position")]
    for definition in definitions:
        if definition["key"] != rule.key:
            continue
        kept = [c for c in definition["conditions"] if c.get("field") != TYPE_FIELD]
        typed = [{"field": TYPE_FIELD, "op": "in", "value": wanted}] if wanted else []
        definition["conditions"] = kept + typed
    try:
        ruleset_save(
            tenant=tenant,
            name=ruleset.name,
            description=ruleset.description,
            rules=definitions,
            ruleset=ruleset,
            actor=actor,
        )
    except RulesetError as exc:
        raise ValidationError(
            {"activity_types": " ".join(f"{p.message}" for p in exc.problems)}
        ) from None
    with scope(tenant=tenant):
        return GoalRule.objects.get(pk=rule.pk)


# --- members given or leaving a role (receivers of hierarchy.signals) ------------------------


def _role_goals(tenant_id: int, role_ids: Iterable[int]) -> list[Goal]:
    today_goals = Goal.objects.live().filter(tenant_id=tenant_id, sales_role_id__in=list(role_ids))
    return list(today_goals.select_related("tenant", "team", "sales_role"))


def sales_roles_changing(sender: Any, *, tenant_id: int, role_ids: set[int], **_: Any) -> None:
    """Before members join or leave roles: store the running cycle's quotas of the roles' KPIs
    as they stand, so the change holds from the next cycle (a cycle with stored quotas keeps
    them)."""
    now = timezone.now()
    with scope(tenant=tenant_id):
        for goal in _role_goals(tenant_id, role_ids):
            plan = goal_plan(goal)
            cycle = running_cycle(plan.cycles, now)
            if cycle is not None:
                quotas_ensure(goal=goal, plan=plan, cycles=[cycle], now=now)


def sales_roles_changed(
    sender: Any, *, tenant_id: int, role_ids: set[int], at_once: bool, actor: Actor, **_: Any
) -> None:
    """After members joined or left roles, "at once": the running cycle's quotas of the roles'
    KPIs are derived again from who holds each role now (audited on each goal), and the goals
    recomputed after commit."""
    if not at_once:
        return
    with scope(tenant=tenant_id):
        for goal in _role_goals(tenant_id, role_ids):
            locked = (
                Goal.objects.select_for_update().select_related("tenant", "team").get(pk=goal.pk)
            )
            if quotas_rederive(goal=locked, actor=actor, action="goal.role_holders") is not None:
                goal_announce(locked)
