"""Pace by working time: the share of a cycle's working time gone (goals.calendar), pure;
working time itself (core.working_time)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from achievements.pace import Pace, pace
from core.working_time import WorkingTime
from goals.calendar import (
    CycleKind,
    TenantCalendar,
    cycle_containing,
    cycles,
    elapsed_fraction,
    working_intervals,
)

NEW_YORK = TenantCalendar("America/New_York")
TOKYO = TenantCalendar("Asia/Tokyo")


def share(calendar: TenantCalendar, kind: str, local: datetime) -> float:
    """The elapsed share at the tenant's wall-clock ``local`` of the cycle containing it."""
    moment = local.replace(tzinfo=calendar.zone)
    cycle = cycle_containing(calendar, kind, moment, date(2026, 1, 1), date(2027, 12, 31))
    assert cycle is not None
    return elapsed_fraction(cycle, moment)


def test_at_half_past_two_nobody_is_behind_on_a_daily_goal() -> None:
    thursday = datetime(2026, 12, 3, 2, 30)
    for calendar in (NEW_YORK, TOKYO):
        elapsed = share(calendar, "daily", thursday)
        assert elapsed == 0.0
        assert pace(Decimal(0), Decimal(6), elapsed, additive=True) is Pace.ON_TRACK
    # At 13:30, half of 09:00-18:00 is gone: 3 calls of 6 are on track, 1 is behind.
    elapsed = share(NEW_YORK, "daily", datetime(2026, 12, 3, 13, 30))
    assert elapsed == 0.5
    assert pace(Decimal(3), Decimal(6), elapsed, additive=True) is Pace.ON_TRACK
    assert pace(Decimal(1), Decimal(6), elapsed, additive=True) is Pace.BEHIND


def test_the_same_instant_paces_each_tenant_by_its_own_working_day() -> None:
    instant = datetime(2026, 12, 3, 7, 30, tzinfo=UTC)  # 02:30 in New York, 16:30 in Tokyo
    goal = (date(2026, 12, 1), date(2026, 12, 31))
    new_york = cycle_containing(NEW_YORK, "daily", instant, *goal)
    tokyo = cycle_containing(TOKYO, "daily", instant, *goal)
    assert new_york is not None and tokyo is not None
    assert elapsed_fraction(new_york, instant) == 0.0
    assert elapsed_fraction(tokyo, instant) == pytest.approx(7.5 / 9)


def test_a_saturday_does_not_count_against_a_weekly_goal() -> None:
    # Weeks from Saturday: the weekend expects nothing, Monday's first hour is 1/45 of the week.
    calendar = TenantCalendar("America/New_York", week_start=5)
    assert share(calendar, "weekly", datetime(2026, 12, 5, 12)) == 0.0  # Saturday noon
    assert share(calendar, "weekly", datetime(2026, 12, 6, 20)) == 0.0  # Sunday evening
    assert share(calendar, "weekly", datetime(2026, 12, 7, 10)) == pytest.approx(1 / 45)
    # Weeks from Monday: by Friday 18:00 the whole week is expected, and Saturday adds nothing.
    friday_evening = share(NEW_YORK, "weekly", datetime(2026, 12, 4, 18))
    assert friday_evening == share(NEW_YORK, "weekly", datetime(2026, 12, 5, 12)) == 1.0
    assert share(NEW_YORK, "weekly", datetime(2026, 12, 4, 13, 30)) == pytest.approx(40.5 / 45)


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Sydney"])
def test_a_months_pace_follows_its_working_days_around_a_holiday(zone: str) -> None:
    christmas = date(2026, 12, 25)
    calendar = TenantCalendar(zone, working_time=WorkingTime(holidays=frozenset({christmas})))
    # December 2026 has 23 weekdays, 22 of them working days with Christmas off.
    (december,) = cycles(calendar, CycleKind.MONTHLY, date(2026, 12, 1), date(2026, 12, 31))
    assert len(working_intervals(december)[0]) == 22
    eve = share(calendar, "monthly", datetime(2026, 12, 24, 18))
    assert eve == pytest.approx(18 / 22)
    assert share(calendar, "monthly", datetime(2026, 12, 25, 15)) == eve  # the holiday
    assert share(calendar, "monthly", datetime(2026, 12, 27, 12)) == eve  # the weekend after
    assert share(calendar, "monthly", datetime(2026, 12, 28, 13, 30)) == pytest.approx(18.5 / 22)
    # Without the holiday the same evening is 18 of 23 working days.
    assert share(TenantCalendar(zone), "monthly", datetime(2026, 12, 24, 18)) == pytest.approx(
        18 / 23
    )


def test_a_cycle_without_working_time_expects_nothing_until_it_ends() -> None:
    (sunday,) = cycles(NEW_YORK, CycleKind.DAILY, date(2026, 12, 6), date(2026, 12, 6))
    assert working_intervals(sunday) == ((), (), ())
    assert elapsed_fraction(sunday, sunday.start + timedelta(hours=23)) == 0.0
    assert elapsed_fraction(sunday, sunday.end) == 1.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"days": frozenset()}, "days: Choose at least one working day"),
        ({"days": frozenset({7})}, "days: Working days are numbers from 0"),
        ({"start": time(18), "end": time(9)}, "end: The working day must end after it starts"),
        ({"start": time(9), "end": time(9)}, "end: The working day must end after it starts"),
        ({"holidays": frozenset({"2026-12-25"})}, "holidays must be dates"),
        ({"holidays": frozenset({date(2101, 1, 1)})}, "holidays: 2101-01-01 is outside"),
    ],
)
def test_it_refuses_malformed_working_time(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingTime(**fields)  # type: ignore[arg-type]


ZONES = ["UTC", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "America/Santiago",
         "Europe/Berlin", "Australia/Lord_Howe"]  # fmt: skip
hours = st.times().filter(lambda moment: moment.fold == 0)
working_times = st.builds(
    lambda days, hours, holidays: WorkingTime.of(days, *sorted(hours), holidays),
    st.frozensets(st.integers(0, 6), min_size=1),
    st.lists(hours, min_size=2, max_size=2, unique=True),
    st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=40),
)
calendars = st.builds(
    TenantCalendar,
    time_zone=st.sampled_from(ZONES),
    week_start=st.integers(0, 6),
    working_time=working_times,
)


@settings(max_examples=300, deadline=None)
@given(
    calendar=calendars,
    kind=st.sampled_from(list(CycleKind)),
    day=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    offsets=st.lists(st.floats(-0.2, 1.2), min_size=2, max_size=6),
)
def test_the_share_is_a_monotone_clock_from_0_to_1(
    calendar: TenantCalendar, kind: CycleKind, day: date, offsets: list[float]
) -> None:
    instant = datetime.combine(day, time(12), tzinfo=ZoneInfo(calendar.time_zone))
    cycle = cycle_containing(calendar, kind, instant, date(2026, 1, 1), date(2027, 12, 31))
    assert cycle is not None
    moments = sorted(cycle.start + (cycle.end - cycle.start) * offset for offset in offsets)
    shares = [elapsed_fraction(cycle, moment) for moment in moments]
    assert all(0.0 <= value <= 1.0 for value in shares)
    assert shares == sorted(shares)  # never goes back as time goes on
    starts, ends, _ = working_intervals(cycle)
    following = (*starts[1:], cycle.end)
    assert all(cycle.start <= a < b <= c for a, b, c in zip(starts, ends, following, strict=False))
    first = starts[0] if starts else cycle.end
    for moment in (cycle.start - timedelta(days=1), cycle.start, first - timedelta(microseconds=1)):
        assert elapsed_fraction(cycle, moment) == 0.0
    last = ends[-1] if ends else cycle.end
    for moment in (last, cycle.end, cycle.end + timedelta(days=1)):
        assert elapsed_fraction(cycle, moment) == 1.0
    for opening, closing in zip(starts, ends, strict=True):
        local = opening.astimezone(calendar.zone)
        assert calendar.working_time.works_on(local.date())
        assert local.time() >= calendar.working_time.start
        assert closing.astimezone(calendar.zone).date() == local.date()
