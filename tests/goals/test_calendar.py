"""The cycle calendar: boundaries in the tenant's zone, DST, fiscal quarters, partial cycles."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.working_time import WorkingTime
from goals.calendar import (
    Cycle,
    CycleKind,
    TenantCalendar,
    cycle_containing,
    cycle_ended,
    cycles,
    elapsed_fraction,
    fiscal_year,
    local_day_start,
    whole_cycle,
)

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
]
BERLIN = TenantCalendar("Europe/Berlin")

calendars = st.builds(
    TenantCalendar,
    time_zone=st.sampled_from(ZONES),
    week_start=st.integers(0, 6),
    fiscal_year_start_month=st.integers(1, 12),
)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))


def hours(cycle: Cycle) -> float:
    return (cycle.end - cycle.start) / timedelta(hours=1)


def months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month


def is_natural(calendar: TenantCalendar, cycle: Cycle) -> bool:
    """An independent statement of what an unclipped cycle of each kind looks like."""
    first, last = cycle.local_start, cycle.local_end
    on_week_start = first.weekday() == calendar.week_start
    month_start = first.day == 1 and last.day == 1
    fiscal_month = (first.month - calendar.fiscal_year_start_month) % 12
    return {
        CycleKind.DAILY: last - first == timedelta(days=1),
        CycleKind.WEEKLY: on_week_start and last - first == timedelta(days=7),
        CycleKind.BIWEEKLY: on_week_start and last - first == timedelta(days=14),
        CycleKind.MONTHLY: month_start and months_between(first, last) == 1,
        CycleKind.QUARTERLY: month_start
        and fiscal_month % 3 == 0
        and months_between(first, last) == 3,
        CycleKind.YEARLY: month_start and fiscal_month == 0 and months_between(first, last) == 12,
    }[cycle.kind]


@settings(max_examples=300, deadline=None)
@given(
    calendar=calendars,
    kind=st.sampled_from(CycleKind),
    start=days,
    length=st.integers(0, 3 * 366),
)
def test_it_tiles_the_goal_range_with_cycles(
    calendar: TenantCalendar, kind: CycleKind, start: date, length: int
) -> None:
    end = start + timedelta(days=length)
    found = cycles(calendar, kind, start, end)

    assert found[0].start == local_day_start(calendar, start)
    assert found[-1].end == local_day_start(calendar, end + timedelta(days=1))
    assert found[0].local_start == start
    assert found[-1].local_end == end + timedelta(days=1)
    for index, cycle in enumerate(found):
        assert cycle.index == index
        assert cycle.start < cycle.end
        assert cycle.start.tzinfo is UTC
        assert cycle.start == local_day_start(calendar, cycle.local_start)
        assert cycle.partial != is_natural(calendar, cycle)
        if 0 < index < len(found) - 1:
            assert not cycle.partial
    for before, after in pairwise(found):
        assert before.end == after.start
        assert before.local_end == after.local_start


@settings(max_examples=300, deadline=None)
@given(zone=st.sampled_from([*ZONES, "Asia/Beirut", "America/Havana"]), day=days)
def test_it_starts_each_day_at_the_first_instant_the_wall_clock_shows_that_day(
    zone: str, day: date
) -> None:
    calendar = TenantCalendar(zone)
    start = local_day_start(calendar, day)

    assert start.astimezone(ZoneInfo(zone)).date() == day
    assert (start - timedelta(seconds=1)).astimezone(ZoneInfo(zone)).date() < day
    assert start < local_day_start(calendar, day + timedelta(days=1))


def test_it_makes_a_23_hour_day_when_berlin_springs_forward() -> None:
    (day,) = cycles(BERLIN, CycleKind.DAILY, date(2027, 3, 28), date(2027, 3, 28))

    assert day.start == datetime(2027, 3, 27, 23, tzinfo=UTC)
    assert day.end == datetime(2027, 3, 28, 22, tzinfo=UTC)
    assert hours(day) == 23
    assert day.label == "2027-03-28"


def test_it_makes_a_25_hour_day_when_berlin_falls_back() -> None:
    before, day, after = cycles(BERLIN, CycleKind.DAILY, date(2027, 10, 30), date(2027, 11, 1))

    assert [hours(before), hours(day), hours(after)] == [24, 25, 24]
    assert day.start == datetime(2027, 10, 30, 22, tzinfo=UTC)


def test_it_starts_a_day_whose_midnight_does_not_exist_when_the_clock_jumps() -> None:
    santiago = TenantCalendar("America/Santiago")

    # Chile moved its clocks from 00:00 straight to 01:00 on 2022-09-11.
    start = local_day_start(santiago, date(2022, 9, 11))

    assert start == datetime(2022, 9, 11, 4, tzinfo=UTC)
    assert start.astimezone(santiago.zone).hour == 1
    day = cycles(santiago, CycleKind.DAILY, date(2022, 9, 11), date(2022, 9, 11))[0]
    assert hours(day) == 23


def test_it_starts_a_day_at_the_end_of_a_jump_that_swallows_midnight() -> None:
    toronto = TenantCalendar("America/Toronto")

    # On 1919-03-30 Toronto's clocks went from 23:30 straight to 00:30 the next day.
    start = local_day_start(toronto, date(1919, 3, 31))

    assert start == datetime(1919, 3, 31, 4, 30, tzinfo=UTC)
    assert start.astimezone(toronto.zone).time() == time(0, 30)


def test_it_starts_a_day_at_the_first_of_two_midnights() -> None:
    havana = TenantCalendar("America/Havana")

    # Cuba turned its clocks back from 01:00 to 00:00 on 2022-11-06: midnight came twice.
    before, day, after = cycles(havana, CycleKind.DAILY, date(2022, 11, 5), date(2022, 11, 7))

    assert day.start == datetime(2022, 11, 6, 4, tzinfo=UTC)
    assert [hours(before), hours(day), hours(after)] == [24, 25, 24]


def test_it_gives_no_cycle_to_a_day_the_zone_skipped() -> None:
    apia = TenantCalendar("Pacific/Apia")

    # Samoa jumped from 2011-12-29 straight to 2011-12-31.
    found = cycles(apia, CycleKind.DAILY, date(2011, 12, 29), date(2011, 12, 31))

    assert [cycle.local_start for cycle in found] == [date(2011, 12, 29), date(2011, 12, 31)]
    assert found[0].end == found[1].start
    assert [cycle.index for cycle in found] == [0, 1]


def test_it_starts_weeks_on_sunday_when_the_tenant_says_so() -> None:
    sunday = TenantCalendar("America/New_York", week_start=6)

    found = cycles(sunday, CycleKind.WEEKLY, date(2027, 3, 1), date(2027, 3, 31))

    assert [cycle.local_start for cycle in found] == [
        date(2027, 3, 1),
        date(2027, 3, 7),
        date(2027, 3, 14),
        date(2027, 3, 21),
        date(2027, 3, 28),
    ]
    assert [cycle.partial for cycle in found] == [True, False, False, False, True]
    assert found[0].label == "Week of 2027-02-28"
    assert found[1].label == "Week of 2027-03-07"
    assert found[-1].local_end == date(2027, 4, 1)
    # 2027-03-14 is the day New York springs forward.
    assert found[1].start == datetime(2027, 3, 7, 5, tzinfo=UTC)
    assert found[1].end == datetime(2027, 3, 14, 5, tzinfo=UTC)
    assert found[2].end == datetime(2027, 3, 21, 4, tzinfo=UTC)


def test_it_follows_fiscal_quarters_from_april() -> None:
    april = TenantCalendar("Asia/Kolkata", fiscal_year_start_month=4)

    found = cycles(april, CycleKind.QUARTERLY, date(2026, 4, 1), date(2027, 3, 31))

    assert [(c.local_start, c.local_end) for c in found] == [
        (date(2026, 4, 1), date(2026, 7, 1)),
        (date(2026, 7, 1), date(2026, 10, 1)),
        (date(2026, 10, 1), date(2027, 1, 1)),
        (date(2027, 1, 1), date(2027, 4, 1)),
    ]
    assert [c.label for c in found] == ["Q1 FY2027", "Q2 FY2027", "Q3 FY2027", "Q4 FY2027"]
    assert not any(c.partial for c in found)
    assert found[0].start == datetime(2026, 3, 31, 18, 30, tzinfo=UTC)


def test_it_names_a_fiscal_year_by_the_year_it_ends_in() -> None:
    april = TenantCalendar(fiscal_year_start_month=4)
    january = TenantCalendar()

    (april_year,) = cycles(april, CycleKind.YEARLY, date(2026, 4, 1), date(2027, 3, 31))
    (calendar_year,) = cycles(january, CycleKind.YEARLY, date(2027, 1, 1), date(2027, 12, 31))

    assert april_year.label == "FY2027"
    assert calendar_year.label == "FY2027"
    assert fiscal_year(april, date(2026, 3, 31)) == 2026
    assert fiscal_year(april, date(2026, 4, 1)) == 2027
    first_quarter = cycles(january, CycleKind.QUARTERLY, date(2027, 1, 1), date(2027, 3, 31))
    assert first_quarter[0].label == "Q1 FY2027"


def test_it_anchors_biweekly_cycles_on_the_goals_first_week() -> None:
    monday = TenantCalendar()

    from_wednesday = cycles(monday, CycleKind.BIWEEKLY, date(2027, 3, 3), date(2027, 3, 31))
    from_next_monday = cycles(monday, CycleKind.BIWEEKLY, date(2027, 3, 8), date(2027, 3, 31))

    assert [(c.local_start, c.local_end, c.partial) for c in from_wednesday] == [
        (date(2027, 3, 3), date(2027, 3, 15), True),
        (date(2027, 3, 15), date(2027, 3, 29), False),
        (date(2027, 3, 29), date(2027, 4, 1), True),
    ]
    assert from_wednesday[0].label == "Weeks of 2027-03-01 and 2027-03-08"
    assert [c.local_start for c in from_next_monday] == [date(2027, 3, 8), date(2027, 3, 22)]


def test_it_clips_partial_first_and_last_months() -> None:
    found = cycles(BERLIN, CycleKind.MONTHLY, date(2027, 1, 15), date(2027, 3, 10))

    assert [(c.local_start, c.local_end, c.partial) for c in found] == [
        (date(2027, 1, 15), date(2027, 2, 1), True),
        (date(2027, 2, 1), date(2027, 3, 1), False),
        (date(2027, 3, 1), date(2027, 3, 11), True),
    ]
    assert [c.label for c in found] == ["January 2027", "February 2027", "March 2027"]


def test_it_finds_the_cycle_containing_an_instant_start_inclusive_end_exclusive() -> None:
    goal = (date(2027, 1, 1), date(2027, 12, 31))
    february_start = datetime(2027, 1, 31, 23, tzinfo=UTC)  # midnight in Berlin

    def containing(instant: datetime) -> Cycle | None:
        return cycle_containing(BERLIN, "monthly", instant, *goal)

    assert containing(february_start).label == "February 2027"
    assert containing(february_start - timedelta(microseconds=1)).label == "January 2027"
    assert containing(datetime(2027, 12, 31, 22, 59, 59, tzinfo=UTC)).label == "December 2027"
    assert containing(datetime(2027, 12, 31, 23, tzinfo=UTC)) is None
    assert containing(datetime(2026, 12, 31, 22, 59, tzinfo=UTC)) is None
    assert containing(datetime(2026, 12, 31, 23, tzinfo=UTC)).index == 0


def test_it_refuses_naive_instants() -> None:
    with pytest.raises(ValueError, match="time-zone-aware"):
        cycle_containing(BERLIN, "daily", datetime(2027, 1, 1), date(2027, 1, 1), date(2027, 2, 1))


def test_it_measures_elapsed_share_of_the_real_duration() -> None:
    # Working round the clock, so that the share is of the whole day (pace by working time
    # is tested in test_working_time.py).
    always = WorkingTime.of(range(7), time(0), time.max)
    berlin = TenantCalendar("Europe/Berlin", working_time=always)
    (day,) = cycles(berlin, CycleKind.DAILY, date(2027, 3, 28), date(2027, 3, 28))
    noon = datetime(2027, 3, 28, 12, tzinfo=BERLIN.zone)

    assert elapsed_fraction(day, day.start) == 0.0
    assert elapsed_fraction(day, day.start + timedelta(hours=11.5)) == pytest.approx(0.5)
    assert elapsed_fraction(day, noon) == pytest.approx(11 / 23)
    assert elapsed_fraction(day, day.end) == 1.0
    assert elapsed_fraction(day, day.start - timedelta(days=3)) == 0.0
    assert elapsed_fraction(day, day.end + timedelta(days=3)) == 1.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "not a known IANA time zone"),
        ({"time_zone": ""}, "not a known IANA time zone"),
        ({"week_start": 7}, "week_start must be"),
        ({"week_start": True}, "week_start must be"),
        ({"fiscal_year_start_month": 0}, "fiscal_year_start_month must be"),
        ({"fiscal_year_start_month": 13}, "fiscal_year_start_month must be"),
    ],
)
def test_it_refuses_a_malformed_calendar(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TenantCalendar(**fields)  # type: ignore[arg-type]


def test_it_refuses_a_goal_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends"):
        cycles(BERLIN, CycleKind.DAILY, date(2027, 2, 1), date(2027, 1, 31))


def test_it_names_the_cycle_that_ended_last() -> None:
    goal = (date(2027, 1, 4), date(2027, 1, 17))  # two weeks from a Monday

    def ended(instant: datetime) -> Cycle | None:
        return cycle_ended(BERLIN, "weekly", instant, *goal)

    first, second = cycles(BERLIN, "weekly", *goal)
    assert ended(first.start) is None and ended(first.end - timedelta(microseconds=1)) is None
    assert ended(first.end) == first == ended(second.end - timedelta(microseconds=1))
    assert ended(second.end) == second == ended(second.end + timedelta(days=300))


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.builds(
        TenantCalendar,
        time_zone=st.sampled_from([*ZONES, "Pacific/Apia", "Pacific/Kiritimati"]),  # days skipped
        week_start=st.integers(0, 6),
        fiscal_year_start_month=st.integers(1, 12),
    ),
    kind=st.sampled_from(CycleKind),
    start=st.one_of(days, st.dates(date(2011, 12, 1), date(2012, 1, 31))),  # Apia's skip
    length=st.integers(0, 800),
)
def test_a_whole_cycle_is_found_again_from_its_kind_and_first_day(
    calendar: TenantCalendar, kind: CycleKind, start: date, length: int
) -> None:
    """A link to the records of a metric without a goal names its cycle by kind and first
    day: every whole cycle a layout gives comes back from them, and a day no cycle of the
    kind begins on names none."""
    for cycle in cycles(calendar, kind, start, start + timedelta(days=length)):
        again = whole_cycle(calendar, kind, cycle.local_start)
        if cycle.local_start != cycle.natural_start:  # a first cycle cut at its start
            assert again is None
            continue
        if cycle.partial:  # cut at its end only: the whole cycle begins the same day
            assert again is not None and again.start == cycle.start
            assert again.local_end > cycle.local_end
            continue
        assert again is not None
        assert (again.start, again.end) == (cycle.start, cycle.end)
        assert again.local_end == cycle.local_end
        assert again.label == cycle.label and not again.partial
    named = whole_cycle(calendar, kind, start)
    if named is not None:
        assert named.local_start == start and is_natural(calendar, named)
