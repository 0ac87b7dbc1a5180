"""A bar's status and pace marker from a row, without the database: honest statuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from achievements.pace import Pace
from dashboards.dashboard import progress
from dashboards.panels import Cell, Rule
from goals.calendar import TenantCalendar, cycles

CALLS = Rule(1, "calls", "Calls", "number", "", "higher", "count", "leading", "in_cycle")
RATE = Rule(2, "rate", "Connect rate", "percent", "", "higher", "ratio", "lagging", "in_cycle")
# Thursday 2026-12-03, a daily cycle in UTC, 13:30: half the working day (09:00-18:00) is gone.
(DAY,) = cycles(TenantCalendar(), "daily", date(2026, 12, 3), date(2026, 12, 3))
NOW = datetime.combine(DAY.local_start, time(13, 30), UTC)


def cell(rule: Rule, value: str | None, target: str | None) -> Cell:
    number = None if value is None else Decimal(value)
    goal = None if target is None else Decimal(target)
    return Cell(1, rule, 1, 0, number, number, goal, goal, False, NOW)


@pytest.mark.parametrize(
    ("row", "status", "marker"),
    [
        (cell(CALLS, "3", "6"), Pace.ON_TRACK, 50),
        (cell(CALLS, "1", "6"), Pace.BEHIND, 50),
        (cell(CALLS, "0", "0"), Pace.NO_TARGET, None),  # never "Achieved" at 0 / 0
        (cell(CALLS, "4", None), Pace.NO_TARGET, None),  # a tracked metric
        (cell(RATE, None, "30"), Pace.NO_DATA, 100),  # nothing to divide by: not "Behind"
        (cell(RATE, "20", "30"), Pace.BEHIND, 100),
    ],
)
def test_a_bar_says_what_it_knows(row: Cell, status: Pace, marker: int | None) -> None:
    bar = progress(row, DAY, NOW, team=False)
    assert (bar.status, bar.expected_percent) == (status, marker)
    assert bar.status.label in ("On track", "Behind", "No target", "No data")
