"""A tenant's working time as plain data: the weekdays its people work, the hours of a working
day on its wall clock and its holidays. What pace counts (``goals.calendar.elapsed_fraction``).

Pure, with no Django, like ``core.dates``: hierarchy's Tenant stores working time and checks it
here (its defaults too), and the pure cycle calendar computes with it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, time

from .dates import date_range_problem

WORKING_DAYS = (0, 1, 2, 3, 4)  # Monday to Friday, like date.weekday()
WORKING_START, WORKING_END = time(9), time(18)


def working_time_problems(
    days: Collection[object], start: time, end: time, holidays: Iterable[date]
) -> dict[str, str]:
    """What is wrong with a working time, by part ("days", "end", "holidays"), or nothing."""
    problems = {}
    if not days:
        problems["days"] = "Choose at least one working day."
    elif not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days):
        problems["days"] = "Working days are numbers from 0 (Monday) to 6 (Sunday)."
    if not start < end:
        problems["end"] = f"The working day must end after it starts ({start:%H:%M})."
    outside = [problem for day in holidays if (problem := date_range_problem(day))]
    if outside:
        problems["holidays"] = "; ".join(outside) + "."
    return problems


@dataclass(frozen=True)
class WorkingTime:
    """When people work, on their wall clock: the weekdays (0 = Monday ... 6 = Sunday), the
    hours of each working day (``start`` to ``end``, half-open) and the holidays (dates without
    working time whatever their weekday)."""

    days: frozenset[int] = frozenset(WORKING_DAYS)
    start: time = WORKING_START
    end: time = WORKING_END
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not all(type(day) is date for day in self.holidays):
            raise ValueError("holidays must be dates.")
        if problems := working_time_problems(self.days, self.start, self.end, self.holidays):
            raise ValueError(" ".join(f"{part}: {text}" for part, text in problems.items()))

    @classmethod
    def of(
        cls, days: Iterable[int], start: time, end: time, holidays: Iterable[date] = ()
    ) -> WorkingTime:
        return cls(frozenset(days), start, end, frozenset(holidays))

    def works_on(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays
