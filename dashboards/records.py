"""The records behind a number: the CRM rows a dashboard value was computed from.

The page runs the rule's own filter (``rulesets.compiler.rule_records``) for the member (or
their whole team, as the reporting lines stood at each record's time) and the cycle, so the
count it shows is the count the engine counted. A number is a goal's (its rule, member and
cycle) or, for a dashboard metric without a goal, a rule's in a whole cycle of the calendar.
A bar of a breakdown (``dashboards.breakdowns``) links here with its bucket (``Bucket``): the
rule then gets one condition more, the bucket's.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import get_script_prefix, get_urlconf, reverse
from django.views.decorators.vary import vary_on_headers

from achievements.models import Achievement
from achievements.services import TeamOverTime
from core.csvcells import NeutralDictWriter
from core.dates import date_range_problem
from core.numbers import whole_number
from crm.listings import LISTING_OF_ENTITY, PAGE_SIZE, Listing
from goals.calendar import Cycle, CycleKind, whole_cycle
from goals.models import Goal, tenant_calendar
from hierarchy.decorators import member_required
from hierarchy.models import Member, Tenant
from rulesets.catalogue import Condition, CustomFieldDecl, FieldSpec, Op, fields_for
from rulesets.compiler import BREAKDOWN_TYPES, During, Granularity, rule_parts, rule_records
from rulesets.models import GoalRule
from rulesets.parts import Parts, ratio_value
from rulesets.services import rule_specs, tenant_vocabulary
from rulesets.spec import Aggregation, RuleSpec, Unit


def whole_asked(request: HttpRequest, name: str) -> int:
    """The whole number of the query's ``name`` (an id, an index), or 404."""
    found = whole_number(request.GET.get(name))
    if found is None:
        raise Http404(f"{name} must be a whole number")
    return found


@dataclass(frozen=True)
class Number:
    """What a link to the records behind a number names: a goal's rule (``goal`` None: a rule
    of a dashboard's metric without a goal, in a whole cycle of the calendar), a member (or
    their team), a cycle, and for a ratio which side."""

    goal: Goal | None
    rule: GoalRule
    member: Member
    cycle: Cycle
    whole_team: bool
    side: str

    def query(self) -> str:
        """The number as the records page (and the breakdown page) reads it."""
        scope = "team" if self.whole_team else "own"
        if self.goal is not None:
            return goal_number_query(
                self.goal.pk, self.rule.pk, self.member.pk, self.cycle.index, scope
            )
        return (
            f"rule={self.rule.pk}&member={self.member.pk}&kind={self.cycle.kind}"
            f"&day={self.cycle.local_start.isoformat()}&scope={scope}"
        )


@cache
def _records_path(prefix: str, urlconf: str) -> str:
    return reverse("achievement_records", urlconf=urlconf)


def records_path() -> str:
    """The records page's path, reversed once per script prefix and URLconf: a page links
    hundreds of numbers."""
    return _records_path(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


def records_link(number: Number) -> str:
    """The records page's URL of the number as a whole (its rule, member, cycle, scope)."""
    return f"{records_path()}?{number.query()}"


def goal_number_query(goal: int, rule: int, member: int, cycle: int, scope: str) -> str:
    """A goal's number as the records page reads it: whole numbers and a fixed word, with
    nothing to quote (a page links hundreds of these)."""
    return f"goal={goal}&rule={rule}&member={member}&cycle={cycle}&scope={scope}"


def _calendar_cycle(request: HttpRequest) -> Cycle:
    """The whole cycle of ``?kind=&day=<its first local date>``, or 404."""
    try:
        kind = CycleKind(request.GET.get("kind", ""))
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        raise Http404("kind must be a kind of cycle and day a date") from None
    if date_range_problem(day):
        raise Http404("no such cycle")
    cycle = whole_cycle(tenant_calendar(request.tenant), kind, day)
    if cycle is None:
        raise Http404("no cycle of this kind begins that day")
    return cycle


def number_asked(request: HttpRequest) -> Number:
    """The number of ``?goal=&rule=&member=&cycle=<index>&scope=own|team[&side=denominator]``
    or, without a goal, of ``?rule=&member=&kind=&day=&scope=...``; 404 for anything the
    viewer may not see or that does not exist. A number without a goal is the viewer's own
    (or, for an admin, anyone's): a member's team as it stood in a cycle may hold people the
    viewer never saw, and no goal's team bounds it."""
    member = get_object_or_404(
        Member.objects.visible_to(request.member), pk=whole_asked(request, "member")
    )
    side = "denominator" if request.GET.get("side") == "denominator" else "numerator"
    whole_team = request.GET.get("scope") == "team"
    if "goal" not in request.GET:
        if not (request.member.is_admin or member.pk == request.member.pk):
            raise Http404("only your own numbers without a goal")
        rule = get_object_or_404(GoalRule.objects.all(), pk=whole_asked(request, "rule"))
        return Number(None, rule, member, _calendar_cycle(request), whole_team, side)
    goals = Goal.objects.select_related("tenant", "team", "ruleset")
    goal = get_object_or_404(goals, pk=whole_asked(request, "goal"))
    rule = get_object_or_404(goal.ruleset.rules.all(), pk=whole_asked(request, "rule"))
    cycles = goal.cycles()
    index = whole_asked(request, "cycle")
    if not 0 <= index < len(cycles):
        raise Http404("no such cycle")
    return Number(goal, rule, member, cycles[index], whole_team, side)


RulesetRead = tuple[dict[str, RuleSpec], list[CustomFieldDecl]]


def ruleset_read(
    tenant: Tenant, ruleset_id: int, vocabulary: tuple[Any, Any] | None = None
) -> RulesetRead:
    """Every computable rule of a ruleset by key, and the tenant's custom fields (``vocabulary``:
    ``tenant_vocabulary(tenant)``, when the caller has it already)."""
    custom, vocab = vocabulary or tenant_vocabulary(tenant)
    rules = GoalRule.objects.filter(ruleset_id=ruleset_id)
    specs, _failed = rule_specs(tenant=tenant, rules=rules, custom=custom, vocab=vocab)
    return specs, custom


@dataclass(frozen=True)
class Rules:
    """A rule as the tenant reads it now: its spec, every spec of its ruleset by key
    (a ratio's sides are among them) and the tenant's custom fields."""

    spec: RuleSpec
    specs: dict[str, RuleSpec]
    custom: list[CustomFieldDecl]

    @classmethod
    def of(cls, tenant: Tenant, rule: GoalRule, read: RulesetRead | None = None) -> Rules:
        """A rule of a ruleset (a goal's, or a dashboard's metric), or 404 when it can no longer
        be computed (the goal's page says why). ``read``: its ruleset as ``ruleset_read`` gave
        it, for a page that shows several rules of one ruleset."""
        specs, custom = read or ruleset_read(tenant, rule.ruleset_id)
        if rule.key not in specs:
            raise Http404("this rule cannot be computed")
        return cls(specs[rule.key], specs, custom)

    def sides(self) -> list[RuleSpec]:
        """The counted rules of the value: the rule, or a ratio's numerator and denominator."""
        spec = self.spec
        if spec.aggregation == Aggregation.RATIO:
            return [self.specs[spec.numerator], self.specs[spec.denominator]]
        return [spec]

    def value(self, parts: Sequence[Parts]) -> Decimal | None:
        """The rule's value from the parts of each of its sides (as ``sides`` lists them):
        a ratio is sum over sum, as the engine's roll-up computes it."""
        spec, sides = self.spec, self.sides()
        if spec.aggregation != Aggregation.RATIO:
            return parts[0].value(spec.aggregation)
        numerator, denominator = (
            part.value(side.aggregation) for part, side in zip(parts, sides, strict=True)
        )
        return ratio_value(numerator, denominator, percent=spec.unit == Unit.PERCENT)


@dataclass(frozen=True)
class Window:
    """Whose records count for a number and when: the compiler's window (tenant, start, end,
    members and ``during``)."""

    tenant: Tenant
    start: datetime
    end: datetime
    during: During

    @classmethod
    def of(
        cls,
        tenant: Tenant,
        team: TeamOverTime,
        member: int,
        *,
        whole_team: bool,
        start: datetime,
        end: datetime,
    ) -> Window:
        """The member's records (``whole_team``: their team's, as the reporting lines of
        ``team`` stood at each record's time) in ``[start, end)``."""
        return cls(tenant, start, end, team.during(member, whole_team=whole_team))

    def compiler(self) -> dict[str, Any]:
        """The keyword arguments of ``rule_parts`` and ``rule_records`` that say it."""
        return {"tenant": self.tenant, "start": self.start, "end": self.end,
                "member_ids": list(self.during), "during": self.during}  # fmt: skip


def number_window(tenant: Tenant, number: Number) -> Window:
    """The records behind ``number`` (one query: the reporting lines), or 404 when its member
    was not in the goal's team in its cycle. Without a goal, the member's team is theirs as the
    reporting lines stood then."""
    cycle = number.cycle
    # Whose records count for the number and when: as the reporting lines stood then.
    head = number.member.pk if number.goal is None else number.goal.team_id
    team = TeamOverTime.of(head, cycle.start, cycle.end)
    if number.goal is not None and number.member.pk not in team.listed(cycle):
        raise Http404("not in this goal's team in this cycle")
    return Window.of(
        tenant, team, number.member.pk, whole_team=number.whole_team, start=cycle.start,
        end=cycle.end,
    )  # fmt: skip


@dataclass(frozen=True)
class Bucket:
    """Which records of a breakdown's bar: those whose field ``by`` holds ``value``; with no
    value, those where it is empty ("(none)"); with ``others``, the "other" bar: a value, and
    none of those (the bars shown on their own)."""

    by: str
    value: str | None = None
    others: tuple[str, ...] | None = None

    def conditions(self) -> tuple[Condition, ...]:
        """The conditions a rule gets to count only this bucket's records."""
        if self.others is not None:
            return (
                Condition(self.by, Op.IS_NOT_EMPTY),
                Condition(self.by, Op.NOT_IN, self.others),
            )
        if self.value is None:
            return (Condition(self.by, Op.IS_EMPTY),)
        return (Condition(self.by, Op.EQ, self.value),)

    def query(self) -> str:
        """The bucket as the records page reads it (``?by=&is=``, ``&empty=1``, ``&not=``)."""
        if self.others is not None:
            pairs = [("by", self.by), *(("not", value) for value in self.others)]
        elif self.value is None:
            pairs = [("by", self.by), ("empty", "1")]
        else:
            pairs = [("by", self.by), ("is", self.value)]
        return urlencode(pairs)

    @classmethod
    def asked(cls, request: HttpRequest, specs: dict[str, FieldSpec]) -> Bucket | None:
        """The bucket of the request, of a field of ``specs`` a breakdown splits by; None when
        none is asked; 404 for a field that is not one."""
        by = request.GET.get("by")
        if not by:
            return None
        if by not in specs or specs[by].type not in BREAKDOWN_TYPES:
            raise Http404("no such field to split by")
        if "not" in request.GET:
            return cls(by, others=tuple(request.GET.getlist("not")))
        # No value asked (``empty=1``, or no ``is``): the records without one, "(none)".
        return cls(by, value=request.GET.get("is") or None)

    def label(self) -> str:
        if self.others is not None:
            return "Other"
        return "(none)" if self.value is None else self.value


def counted_parts(
    rule: RuleSpec, custom: list[CustomFieldDecl], window: Window, **grouping: Any
) -> dict[tuple[Hashable, ...], Parts]:
    """The rule's parts over the window, everyone's together, per (cycle,) or with ``by``
    per (cycle, value) (``grouping``: rule_parts's ``granularity``, ``cycle_of`` and ``by``;
    by default the whole window is one cycle, 0)."""
    grouping = {"granularity": Granularity.MONTH, "cycle_of": lambda day: 0} | grouping
    found = rule_parts(
        rule, custom=custom, credit_of=lambda member, span: 0, **window.compiler(), **grouping
    )
    folded: dict[tuple[Hashable, ...], Parts] = {}
    for (_credit, *cell), parts in found.items():
        key = tuple(cell)
        if key in folded:
            folded[key].merge(parts)
        else:
            folded[key] = parts
    return folded


def _counted(shown: RuleSpec, custom: list, window: Window) -> Decimal | None:
    """The value of the listed records, computed by the engine's own query."""
    return counted_parts(shown, custom, window).get((0,), Parts()).value(shown.aggregation)


@member_required()
@vary_on_headers("HX-Request")
def achievement_records(request: HttpRequest) -> HttpResponse:
    """The records behind one number, a page at a time, with the value they make."""
    number = number_asked(request)
    tenant = request.tenant
    rules = Rules.of(tenant, number.rule)
    spec, custom = rules.spec, rules.custom
    ratio = spec.aggregation == Aggregation.RATIO
    shown = rules.specs[getattr(spec, number.side)] if ratio else spec
    fields = fields_for(shown.entity, custom)
    bucket = Bucket.asked(request, fields)
    if bucket is not None:
        shown = replace(shown, conditions=shown.conditions + bucket.conditions())
    cycle = number.cycle
    window = number_window(tenant, number)
    listing = LISTING_OF_ENTITY[shown.entity]
    records = rule_records(shown, custom=custom, **window.compiler())
    newest = shown.date_field or "created_at"  # a snapshot's opportunities, newest first
    records = records.select_related(*listing.related).order_by(f"-{newest}", "-pk")
    if request.GET.get("format") == "csv":
        return _records_csv(records, listing, f"{number.rule.key}-{cycle.local_start}")
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    row = None
    if number.goal is not None:  # a metric without a goal stores nothing: counted is all
        row = Achievement.objects.filter(
            goal=number.goal, rule=number.rule, member=number.member, cycle_index=cycle.index
        ).first()
    query = request.GET.copy()
    query.pop("page", None)
    sides = query.copy()
    sides.pop("side", None)
    context = {
        "goal": number.goal,
        "rule": number.rule,
        "shown": shown,
        "ratio_side": number.side if ratio else None,
        "subject": number.member,
        "whole_team": number.whole_team,
        "cycle": cycle,
        "listing": listing,
        "page": page,
        "rows": [listing.row(record) for record in page],
        "query": query.urlencode(),
        "sides_query": sides.urlencode(),
        "bucket": bucket,
        "by_label": fields[bucket.by].label if bucket else "",
        "counted": _counted(shown, custom, window),
        "dashboard": (row.team_value if number.whole_team else row.value) if row else None,
        "computed_at": row.computed_at if row else None,
    }
    template = "dashboards/behind_number.html"
    if request.htmx and request.htmx.target == "records":
        template += "#records"
    return render(request, template, context)


def _records_csv(records: QuerySet, listing: Listing, name: str) -> HttpResponse:
    """Every record behind the number (no page), with the columns the page shows and each
    record's id in the CRM; cells a spreadsheet would run are neutralized."""
    columns = ["external_id", *(title for title, _ in listing.columns)]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="records-{name}.csv"'
    writer = NeutralDictWriter(response, fieldnames=columns)
    writer.writeheader()
    for record in records.iterator(chunk_size=2000):
        cells = [record.external_id, *listing.cells(record)]
        writer.writerow(dict(zip(columns, cells, strict=True)))
    return response
