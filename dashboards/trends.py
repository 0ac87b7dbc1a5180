"""Trends: a rule's team value over the last N cycles (weekly meetings booked for 12 weeks), as
a bar chart with the target line and a table.

A cycle the goal has computed (same start and end as one of its cycles) is read from its stored
achievements, with its target; every other cycle (before the goal began, a partial first or
last cycle, a metric without a goal) is computed on the fly, all of them by one grouped query
per counted rule over their whole span, grouped by cycle as a recompute groups (the local
calendar bucket folded into cycles), with no target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from achievements.models import Achievement
from achievements.services import TeamOverTime
from core.numbers import whole_number
from goals.calendar import Cycle, CycleKind, TenantCalendar, cycle_index_of, cycles
from goals.models import Goal, tenant_calendar
from hierarchy.decorators import member_required
from hierarchy.models import Member, Tenant
from rulesets.compiler import granularity_for
from rulesets.models import GoalRule
from rulesets.parts import Parts

from .chart import bar_chart
from .records import Number, Rules, Window, counted_parts, records_link, whole_asked

COUNT = 12
"""Cycles a trend shows by default."""
MOST = 60
_PLACES = Decimal("0.0001")  # as achievements store values
_DAYS = {CycleKind.DAILY: 1, CycleKind.WEEKLY: 7, CycleKind.BIWEEKLY: 14}
_MONTHS = {CycleKind.MONTHLY: 1, CycleKind.QUARTERLY: 3, CycleKind.YEARLY: 12}


def trend_cycles(
    calendar: TenantCalendar, kind: CycleKind | str, *, through: date, count: int, anchor: date
) -> list[Cycle]:
    """The ``count`` whole cycles of ``kind`` up to the one holding the day ``through``, laid
    out as a goal starting on ``anchor`` lays out its cycles (biweekly cycles pair weeks from
    the anchor's; the others follow the calendar and fiscal year alone)."""
    kind = CycleKind(kind)
    if kind in _DAYS:
        length = _DAYS[kind]
        # A start a whole number of cycles from the anchor, at least count + 1 cycles back.
        back = (anchor - through).days + length * (count + 1)
        first = anchor - timedelta(days=length * -(-back // length))
    else:
        months = through.year * 12 + through.month - 1 - _MONTHS[kind] * (count + 1)
        first = date(months // 12, months % 12 + 1, 1)
    laid_out = cycles(calendar, kind, first, through)
    last = laid_out[-1]
    if last.partial:  # ``through`` cut it short: the whole cycle
        (whole,) = cycles(calendar, kind, last.natural_start, last.natural_end - timedelta(1))
        laid_out[-1] = whole
    return [cycle for cycle in laid_out if not cycle.partial][-count:]


@dataclass(frozen=True)
class Point:
    """A trend's cycle: the team's value, its target (stored cycles only), whether it was
    read from stored achievements, and the URL of the records behind it where the page
    links them."""

    cycle: Cycle
    value: Decimal | None
    target: Decimal | None
    stored: bool
    records: str = ""


Stored = Mapping[tuple[datetime, datetime], tuple[Decimal | None, Decimal | None]]
"""(cycle start, cycle end) -> (team value, team target) of a goal's stored achievements."""


def rule_trend(
    rules: Rules,
    *,
    tenant: Tenant,
    trend: list[Cycle],
    member: int,
    stored: Stored | None = None,
    whole_team: bool = True,
) -> list[Point]:
    """The member's team value of the rule (``whole_team`` False: their own) in each cycle of
    ``trend``: from ``stored`` where it holds the cycle, else computed by one grouped query
    per counted rule for all of the others (the team as the reporting lines stood at each
    record's time, whether or not a goal's team held it then: the number a link to the
    records of that cycle opens, ``points_linked``)."""
    stored = stored or {}
    missing = [cycle for cycle in trend if (cycle.start, cycle.end) not in stored]
    computed: dict[int, Decimal | None] = {}  # by place in ``trend``
    if missing:
        start, end = missing[0].start, missing[-1].end
        team = TeamOverTime.of(member, start, end)
        window = Window.of(tenant, team, member, whole_team=whole_team, start=start, end=end)
        grouping = {
            "granularity": granularity_for(trend[0].kind, tenant.week_start),
            "cycle_of": cycle_index_of(trend),
        }
        sides = [counted_parts(side, rules.custom, window, **grouping) for side in rules.sides()]
        for place in range(len(trend)):
            value = rules.value([side.get((place,), Parts()) for side in sides])
            computed[place] = None if value is None else value.quantize(_PLACES)
    points = []
    for place, cycle in enumerate(trend):
        if (cycle.start, cycle.end) in stored:
            value, target = stored[(cycle.start, cycle.end)]
            points.append(Point(cycle, value, target, stored=True))
        else:
            points.append(Point(cycle, computed[place], None, stored=False))
    return points


def points_linked(
    points: list[Point], rule: GoalRule, member: Member, goal: Goal | None = None,
    *, whole_team: bool = True, own: bool = True,
) -> list[Point]:  # fmt: skip
    """Each point with the URL of the records behind it: one read from the goal's stored
    achievements as the goal's number, any other (a metric without a goal, a cycle before the
    goal began) as the rule's number in that cycle of the calendar, which only the member
    (``own``) or an admin may open (``records.number_asked``): others get no link there."""
    held = {(cycle.start, cycle.end): cycle for cycle in goal.cycles()} if goal else {}

    def link(point: Point) -> str:
        cycle = held.get((point.cycle.start, point.cycle.end)) if point.stored else None
        if cycle is not None:
            return records_link(Number(goal, rule, member, cycle, whole_team, "numerator"))
        if not own:
            return ""
        return records_link(Number(None, rule, member, point.cycle, whole_team, "numerator"))

    return [replace(point, records=link(point)) for point in points]


def goal_trend(
    goal: Goal, rules: Rules, rule: GoalRule, member: Member, *, count: int, now: datetime,
    own: bool = True,
) -> list[Point]:  # fmt: skip
    """The member's team value of a goal's rule in the goal's last ``count`` cycles up to now
    (or the goal's end), its stored cycles read from its achievements, each point linked to
    its records (``own``: as ``points_linked`` says)."""
    calendar = tenant_calendar(goal.tenant)
    today = now.astimezone(calendar.zone).date()
    trend = trend_cycles(
        calendar, goal.cycle, through=min(today, goal.end), count=count, anchor=goal.start
    )
    stored = goal_stored(goal, rule.pk, member.pk, trend)
    points = rule_trend(rules, tenant=goal.tenant, trend=trend, member=member.pk, stored=stored)
    return points_linked(points, rule, member, goal, own=own)


def trend_shown(rule: GoalRule, points: list[Point], subject: Member) -> dict[str, Any]:
    """What the trend partial shows of the points: the chart, the table, whether a target."""
    return {
        "rule": rule,
        "subject": subject,
        "count": len(points),
        "points": points,
        "svg": bar_chart([(p.cycle.label, p.value, p.target) for p in points], rule),
        "targets": any(point.target is not None for point in points),
    }


def goal_stored(goal: Goal, rule_id: int, member: int, trend: list[Cycle]) -> Stored:
    """The goal's stored team values and targets of the rule for the member in the cycles of
    ``trend`` that are cycles of the goal (one query)."""
    rows = Achievement.objects.filter(
        goal=goal, rule_id=rule_id, member_id=member, cycle_start__in=[c.start for c in trend]
    ).values_list("cycle_start", "cycle_end", "team_value", "team_target")
    return {(start, end): (value, target) for start, end, value, target in rows}


def _count(request: HttpRequest) -> int:
    wanted = whole_number(request.GET.get("cycles"))
    return COUNT if wanted is None else min(max(wanted, 2), MOST)


@member_required()
@vary_on_headers("HX-Request")
def rule_trend_view(request: HttpRequest) -> HttpResponse:
    """A goal's rule over the last cycles for a member's team:
    ``?goal=&rule=&member=[&cycles=N]``; an HTMX request gets the trend alone."""
    goals = Goal.objects.select_related("tenant", "team", "ruleset")
    goal = get_object_or_404(goals, pk=whole_asked(request, "goal"))
    member = get_object_or_404(
        Member.objects.visible_to(request.member), pk=whole_asked(request, "member")
    )
    if not goal.team.contains(member):
        raise Http404("not in this goal's team")
    rule = get_object_or_404(goal.ruleset.rules.all(), pk=whole_asked(request, "rule"))
    rules = Rules.of(request.tenant, rule)
    count = _count(request)
    viewer = request.member
    points = goal_trend(
        goal, rules, rule, member, count=count, now=timezone.now(),
        own=viewer.is_admin or viewer.pk == member.pk,
    )  # fmt: skip
    context = trend_shown(rule, points, member) | {"goal": goal, "count": count}
    template = "dashboards/trend.html"
    if request.htmx:
        template += "#trend"
    return render(request, template, context)
