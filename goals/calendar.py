"""The tenant's cycle calendar: where a goal's daily ... yearly cycles begin and end.

Pure standard library, no Django: the rest of the project turns these boundaries into queries.

Conventions (see DESIGN.md, "cycle"):

- Boundaries are computed on local calendar dates first, then each date is turned into the UTC
  instant at which it begins in the tenant's time zone (`local_day_start`). A cycle is the
  half-open interval ``[start, end)`` between two such instants, so its real duration follows
  DST: a day is 23 hours when clocks spring forward and 25 hours when they fall back.
- Weekly cycles begin on the tenant's ``week_start`` weekday. Biweekly cycles are two-week
  periods anchored on the week start on or before the goal's first day: the goal's first week
  always opens a biweekly cycle, whatever the goal's neighbours do.
- Quarterly and yearly cycles are fiscal: they begin at ``fiscal_year_start_month``. A fiscal year
  is named by the calendar year in which it ends (April 2026 - March 2027 is FY2027); with a
  January start that is simply the calendar year. Labels always say "FY" so that a tenant reads
  the same shape of label whatever its fiscal start.
- A goal whose dates do not fall on natural boundaries gets a first and/or last cycle clipped to
  the goal's range, marked ``partial``.
- Pace follows working time (``core.working_time.WorkingTime``: working weekdays, daily hours,
  holidays, read on the tenant's wall clock). ``elapsed_fraction`` is the share of a cycle's
  working time that has passed: nothing is expected before the first working minute,
  everything after the last. A cycle with no working time at all (a Sunday, a week of
  holidays) expects nothing until it ends: its share is 0 until its end and 1 from then on.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.working_time import WorkingTime

_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class CycleKind(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


# Cycle lengths: the day-based kinds in days, the month-based kinds in months.
_LENGTH_IN_DAYS = {CycleKind.DAILY: 1, CycleKind.WEEKLY: 7, CycleKind.BIWEEKLY: 14}
_LENGTH_IN_MONTHS = {CycleKind.MONTHLY: 1, CycleKind.QUARTERLY: 3, CycleKind.YEARLY: 12}


@dataclass(frozen=True)
class TenantCalendar:
    """How one tenant reads the calendar: time zone, first day of the week, fiscal year start,
    and working time (for pace)."""

    time_zone: str = "UTC"
    week_start: int = 0  # 0 = Monday ... 6 = Sunday, like date.weekday()
    fiscal_year_start_month: int = 1
    working_time: WorkingTime = field(default_factory=WorkingTime)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(
                f"time_zone {self.time_zone!r} is not a known IANA time zone name "
                "(for example 'Europe/Berlin')."
            ) from exc
        if not _is_int_between(self.week_start, 0, 6):
            raise ValueError(
                f"week_start must be a whole number from 0 (Monday) to 6 (Sunday), "
                f"not {self.week_start!r}."
            )
        if not _is_int_between(self.fiscal_year_start_month, 1, 12):
            raise ValueError(
                f"fiscal_year_start_month must be a month number from 1 to 12, "
                f"not {self.fiscal_year_start_month!r}."
            )

    @property
    def zone(self) -> ZoneInfo:
        # ZoneInfo caches instances by key, so this is a dictionary lookup after the first call.
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True)
class Cycle:
    """One cycle of a goal: the UTC interval ``[start, end)`` and the local dates it covers.

    ``local_end`` is exclusive, like ``end``. ``natural_start`` is the first local date of the
    natural (unclipped) cycle, which names it: a partial week is still "Week of <its Monday>".
    """

    start: datetime
    end: datetime
    local_start: date
    local_end: date
    index: int
    partial: bool
    kind: CycleKind
    natural_start: date
    calendar: TenantCalendar = field(repr=False)

    @property
    def natural_end(self) -> date:
        """The local date after the last day of the unclipped cycle."""
        return _next_start(self.kind, self.natural_start)

    @property
    def label(self) -> str:
        """A short English name: "2027-03-04", "Week of 2027-03-01", "March 2027", "Q1 FY2027"."""
        first = self.natural_start
        match self.kind:
            case CycleKind.DAILY:
                return self.local_start.isoformat()
            case CycleKind.WEEKLY:
                return f"Week of {first.isoformat()}"
            case CycleKind.BIWEEKLY:
                return f"Weeks of {first.isoformat()} and {(first + timedelta(7)).isoformat()}"
            case CycleKind.MONTHLY:
                return f"{_MONTH_NAMES[first.month - 1]} {first.year}"
            case CycleKind.QUARTERLY:
                quarter = (first.month - self.calendar.fiscal_year_start_month) % 12 // 3 + 1
                return f"Q{quarter} FY{fiscal_year(self.calendar, first)}"
            case _:
                return f"FY{fiscal_year(self.calendar, first)}"


def fiscal_year(calendar: TenantCalendar, day: date) -> int:
    """The fiscal year containing ``day``, named by the calendar year in which it ends."""
    if calendar.fiscal_year_start_month == 1:
        return day.year
    return day.year + 1 if day.month >= calendar.fiscal_year_start_month else day.year


def local_day_start(calendar: TenantCalendar, day: date) -> datetime:
    """The UTC instant at which ``day`` begins in the tenant's time zone.

    Precisely: the earliest instant at which the tenant's wall clock reads ``day`` 00:00 or later.
    Usually that is local midnight. Where midnight happens twice (clocks turned back across it)
    it is the first occurrence, ``fold=0``. Where midnight does not exist because clocks jump
    over it (America/Santiago, Asia/Beirut, America/Havana start DST at midnight) it is the
    instant of the jump, which the wall clock shows as e.g. 01:00. Day starts therefore never
    decrease, and two consecutive days share a start only when the zone skipped a whole day
    (Pacific/Apia on 2011-12-30).
    """
    return _local_instant(calendar.zone, day, time())


def _local_instant(zone: ZoneInfo, day: date, wall: time) -> datetime:
    """The earliest UTC instant at which the wall clock reads ``day`` ``wall`` or later (see
    ``local_day_start``): never decreasing in the wall time."""
    local = datetime.combine(day, wall, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    return _end_of_gap(zone, local)


def _end_of_gap(zone: ZoneInfo, wall_time: datetime) -> datetime:
    """The instant the clock jumps past the non-existent local ``wall_time``."""
    # Inside a gap, the two folds read the wall time with the offsets before and after the jump,
    # so they bracket the jump. zoneinfo exposes no transition list; bisect on whole seconds
    # (tz database transitions fall on whole seconds).
    naive = wall_time.replace(tzinfo=None)
    low, high = sorted(int(wall_time.replace(fold=fold).timestamp()) for fold in (0, 1))
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def cycles(calendar: TenantCalendar, kind: CycleKind | str, start: date, end: date) -> list[Cycle]:
    """The cycles of a goal whose local dates run from ``start`` to ``end``, both inclusive.

    The cycles tile ``[local_day_start(start), local_day_start(end + 1 day))`` with no gap and no
    overlap, indexed from 0. Only the first and last can be ``partial``. A local day that the
    time zone skipped entirely has no duration and gets no daily cycle.
    """
    return list(_cycles(calendar, CycleKind(kind), start, end))


@lru_cache(maxsize=256)
def _cycles(calendar: TenantCalendar, kind: CycleKind, start: date, end: date) -> tuple[Cycle, ...]:
    # Cached because cycle_containing is asked about "now" for every goal on every dashboard.
    if end < start:
        raise ValueError(f"The goal ends ({end}) before it starts ({start}).")
    stop = end + timedelta(days=1)
    anchor = _week_start(calendar, start)
    natural = _natural_start(calendar, kind, start, anchor)
    opening = local_day_start(calendar, start)
    found: list[Cycle] = []
    while natural < stop:
        following = _next_start(kind, natural)
        local_start, local_end = max(natural, start), min(following, stop)
        closing = local_day_start(calendar, local_end)
        if closing > opening:
            found.append(
                Cycle(
                    start=opening,
                    end=closing,
                    local_start=local_start,
                    local_end=local_end,
                    index=len(found),
                    partial=(local_start, local_end) != (natural, following),
                    kind=kind,
                    natural_start=natural,
                    calendar=calendar,
                )
            )
        opening, natural = closing, following
    return tuple(found)


def cycle_index_of(goal_cycles: Sequence[Cycle]) -> Callable[[date], int]:
    """The place among ``goal_cycles`` of the cycle a local day (a query's bucket) falls in. A
    bucket that began before the first cycle (a month, a week) belongs to it: the query's
    window already starts at its first instant."""
    starts = [cycle.local_start for cycle in goal_cycles]
    return lambda day: max(bisect_right(starts, day) - 1, 0)


def cycle_containing(
    calendar: TenantCalendar,
    kind: CycleKind | str,
    instant: datetime,
    goal_start: date,
    goal_end: date,
) -> Cycle | None:
    """The goal's cycle with ``start <= instant < end``, or None outside the goal's range."""
    goal_cycles = _cycles_at(calendar, kind, instant, goal_start, goal_end)
    position = bisect_right([cycle.start for cycle in goal_cycles], instant) - 1
    if position < 0 or instant >= goal_cycles[position].end:
        return None
    return goal_cycles[position]


def whole_cycle(calendar: TenantCalendar, kind: CycleKind | str, first: date) -> Cycle | None:
    """The whole cycle of ``kind`` that begins on the local date ``first`` (index 0), as the
    calendar lays it out for a metric without a goal: weeks from the tenant's week start, two
    weeks from any week start, months, quarters and years from the fiscal calendar. None when
    no cycle of that kind begins that day (or, for a daily cycle, the time zone skipped the
    day: a longer cycle that begins on a skipped day begins at the next day's first instant,
    as ``cycles`` lays it out)."""
    kind = CycleKind(kind)
    if _natural_start(calendar, kind, first, _week_start(calendar, first)) != first:
        return None
    found = _cycles(calendar, kind, first, _next_start(kind, first) - timedelta(days=1))
    return found[0] if found else None


def cycle_ended(
    calendar: TenantCalendar,
    kind: CycleKind | str,
    instant: datetime,
    goal_start: date,
    goal_end: date,
) -> Cycle | None:
    """The goal's last cycle with ``end <= instant`` (the one that ended last), or None."""
    goal_cycles = _cycles_at(calendar, kind, instant, goal_start, goal_end)
    position = bisect_right([cycle.end for cycle in goal_cycles], instant) - 1
    return goal_cycles[position] if position >= 0 else None


def _cycles_at(
    calendar: TenantCalendar, kind: CycleKind | str, instant: datetime, start: date, end: date
) -> tuple[Cycle, ...]:
    _require_aware(instant, "instant")
    return _cycles(calendar, CycleKind(kind), start, end)


def elapsed_fraction(cycle: Cycle, now: datetime) -> float:
    """The share of the cycle's working time that has passed at ``now``, in [0, 1]: the one
    elapsed share of pace (pages, API, exports, statuses).

    0 until the first working minute, 1 from the last one on, and 1 once the cycle has ended.
    Real duration, not wall-clock: a working day that a DST change shortens counts its real
    hours. A cycle with no working time expects nothing before it ends: 0, then 1 at its end.
    """
    _require_aware(now, "now")
    if now >= cycle.end:
        return 1.0
    starts, ends, before = working_intervals(cycle)
    position = bisect_right(starts, now) - 1
    if position < 0:
        return 0.0
    total = before[-1] + (ends[-1] - starts[-1])
    done = before[position] + (min(now, ends[position]) - starts[position])
    return done / total


Instants = tuple[datetime, ...]


@lru_cache(maxsize=1024)
def working_intervals(cycle: Cycle) -> tuple[Instants, Instants, tuple[timedelta, ...]]:
    """The cycle's working time as UTC intervals ``[starts[i], ends[i])`` in order, with the
    working time ``before[i]`` each of them; cached, as every bar of a page asks."""
    working, zone = cycle.calendar.working_time, cycle.calendar.zone
    starts, ends, before, total = [], [], [], timedelta()
    day = cycle.local_start
    while day < cycle.local_end:
        if working.works_on(day):
            opening = _local_instant(zone, day, working.start)
            closing = _local_instant(zone, day, working.end)
            if closing > opening:  # not inside a gap of the clock
                starts.append(opening)
                ends.append(closing)
                before.append(total)
                total += closing - opening
        day += timedelta(days=1)
    return tuple(starts), tuple(ends), tuple(before)


def _natural_start(calendar: TenantCalendar, kind: CycleKind, day: date, anchor: date) -> date:
    """The first local date of the natural cycle of ``kind`` that contains ``day``."""
    if kind in _LENGTH_IN_DAYS:
        # Any date on the week start weekday anchors daily and weekly cycles; for biweekly
        # cycles the anchor's identity matters, which is why it is the goal's first week.
        length = _LENGTH_IN_DAYS[kind]
        return anchor + timedelta(days=length * ((day - anchor).days // length))
    length = _LENGTH_IN_MONTHS[kind]
    months = _month_number(day)
    fiscal_offset = calendar.fiscal_year_start_month - 1
    return _from_month_number(months - (months - fiscal_offset) % length)


def _next_start(kind: CycleKind, natural_start: date) -> date:
    if kind in _LENGTH_IN_DAYS:
        return natural_start + timedelta(days=_LENGTH_IN_DAYS[kind])
    return _from_month_number(_month_number(natural_start) + _LENGTH_IN_MONTHS[kind])


def _week_start(calendar: TenantCalendar, day: date) -> date:
    """The tenant's week start day on or before ``day``."""
    return day - timedelta(days=(day.weekday() - calendar.week_start) % 7)


def _month_number(day: date) -> int:
    return day.year * 12 + day.month - 1


def _from_month_number(number: int) -> date:
    return date(number // 12, number % 12 + 1, 1)


def _is_int_between(value: object, low: int, high: int) -> bool:
    # bool is an int subclass; True is not a week day.
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a time-zone-aware datetime, not naive {moment}.")
