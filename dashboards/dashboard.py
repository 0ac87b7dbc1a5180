"""What the dashboards show of an achievement row: a progress bar with pace, in plain data.

Every page reads rows with a fixed number of queries (as ``Achievement`` models, or as the plain
``panels.Cell`` tuples the dashboards keep in the cache) and turns them into ``Progress`` here,
so a number, its percentage and its status are computed in one place for every page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from achievements.models import Achievement
from achievements.pace import Pace, accumulates, expected_by_now, rule_pace
from goals.calendar import Cycle, cycle_containing, cycle_ended, elapsed_fraction
from goals.models import Goal, tenant_calendar
from hierarchy.models import Member, Tenant
from rulesets.models import GoalRule
from rulesets.spec import Indicator

from .panels import Cell, Rule
from .records import goal_number_query, records_path


@dataclass(frozen=True)
class Progress:
    rule: GoalRule | Rule
    value: Decimal | None
    target: Decimal | None
    status: Pace
    percent: int | None  # of target, for the text; the bar is capped at 100
    expected_percent: int | None  # where the pace marker sits on the bar
    records_url: str
    final: bool
    team: bool = False  # the member's team's number, not their own
    held_as: str = ""  # beside the name where a member holds the bar: "your team"

    @property
    def fill(self) -> int:
        return min(self.percent or 0, 100)

    @property
    def shown(self) -> tuple[Any, ...]:
        """Everything a bar's markup shows, as plain values: the key of its cached HTML."""
        rule = self.rule
        return (rule.pk, rule.key, rule.name, rule.unit, rule.currency, rule.direction,
                rule.indicator, rule.mode, self.value, self.target, self.status.value, self.percent,
                self.expected_percent, self.records_url, self.final, self.team,
                self.held_as)  # fmt: skip


T = TypeVar("T")
INDICATOR_HEADINGS = {
    Indicator.LEADING: "Leading indicators",
    Indicator.LAGGING: "Lagging indicators",
}
_FIRST = {indicator: place for place, indicator in enumerate(INDICATOR_HEADINGS)}


def leading_first(
    items: Iterable[T], rule_of: Callable[[T], Any] = lambda item: item.rule
) -> list[T]:
    """``items`` with those of leading indicators first, each kind in the order given."""
    return sorted(items, key=lambda item: _FIRST.get(rule_of(item).indicator, len(_FIRST)))


def by_indicator(
    items: Iterable[T], rule_of: Callable[[T], Any] = lambda item: item.rule
) -> list[tuple[str, list[T]]]:
    """``items`` grouped under their rules' kind of indicator, as (heading, items), leading
    first; a kind with none is left out."""
    groups: dict[str, list[T]] = {}
    for item in leading_first(items, rule_of):
        heading = INDICATOR_HEADINGS.get(rule_of(item).indicator, "Other")
        groups.setdefault(heading, []).append(item)
    return list(groups.items())


def _percent(part: Decimal | None, whole: Decimal | None) -> int | None:
    if part is None or not whole:
        return None
    return int((part * 100 / whole).to_integral_value())


def records_url(row: Achievement | Cell, *, team: bool) -> str:
    query = goal_number_query(
        row.goal_id, row.rule_id, row.member_id, row.cycle_index, "team" if team else "own"
    )
    return f"{records_path()}?{query}"


def progress(row: Achievement | Cell, cycle: Cycle, now: datetime, *, team: bool) -> Progress:
    """The member's own number (``team=False``) or their team's, against its target."""
    rule = row.rule
    value = row.team_value if team else row.value
    target = row.team_target if team else row.target
    elapsed = elapsed_fraction(cycle, now)
    status = rule_pace(rule, value, target, elapsed, final=row.final)
    additive = accumulates(rule)
    marker = None
    if status is not Pace.NO_TARGET:  # a target above 0: the marker is where pace says
        expected = expected_by_now(target, elapsed, additive=additive)
        marker = min(_percent(expected, target) or 0, 100)
    return Progress(
        rule=rule,
        value=value,
        target=target,
        status=status,
        percent=_percent(value, target),
        expected_percent=marker,
        records_url=records_url(row, team=team),
        final=row.final,
        team=team,
    )


def held_bars(
    row: Achievement | Cell, cycle: Cycle, now: datetime, *, leads_team: bool
) -> list[Progress]:
    """What a member holds of one row: their own number (a target of their own, or a tracked
    metric) and, for someone who leads a team with a team target, the team's number."""
    bars = []
    if row.target is not None or row.team_target is None or not leads_team:
        bars.append(progress(row, cycle, now, team=False))
    if leads_team and row.team_target is not None:
        bars.append(replace(progress(row, cycle, now, team=True), held_as="your team"))
    return bars


Place = tuple[int, int]  # (goal id, cycle index)
Stamp = tuple[int, int, datetime, datetime | None]  # (goal id, cycle index, start, computed at)


def member_cycles(
    tenant: Tenant, member: Member, now: datetime, *, closing: bool
) -> tuple[dict[Place, tuple[str, Cycle]], list[Stamp]]:
    """The running cycle of every live goal covering the member (and, with ``closing``, the
    cycle that just ended while it is not closed yet), by (goal id, cycle index) with the
    goal's name; and their computation stamps, the key of the panels kept in memory."""
    calendar = tenant_calendar(tenant)
    shown: dict[Place, tuple[str, Cycle]] = {}
    stamps: list[Stamp] = []
    for pk, name, kind, start, end, stamp in (
        Goal.objects.covering(member)
        .live()
        .values_list("pk", "name", "cycle", "start", "end", "computation__computed_at")
    ):
        found = [cycle_containing(calendar, kind, now, start, end)]
        if closing:
            found.append(cycle_ended(calendar, kind, now, start, end))
        for cycle in found:
            if cycle is not None:
                shown[(pk, cycle.index)] = (name, cycle)
                stamps.append((pk, cycle.index, cycle.start, stamp))
    return shown, stamps


def time_left(cycle: Cycle, now: datetime) -> str:
    seconds = (cycle.end - now).total_seconds()
    if seconds <= 0:
        return "ended"
    hours = int(seconds // 3600)
    if hours >= 48:
        return f"{hours // 24} days left"
    if hours >= 1:
        return f"{hours} h left"
    return f"{int(seconds // 60)} min left"
