"""The recompute service on the database: roll-up semantics, time zones, idempotence, deletes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django_scopes import scope

from achievements.models import Achievement, GoalComputation
from achievements.services import goal_recompute
from crm.ingest import records_delete, records_upsert
from goals.models import Goal
from goals.services import TargetInput
from tests.conftest import Org
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def previous_month(today: date) -> tuple[date, date]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


@pytest.fixture
def goal(org: Org) -> Goal:
    """A backfilled monthly goal over last month and this one, for the whole company."""
    first, _last = previous_month(org.today)
    return org.goal(
        actor=org.admin,
        team=org.admin,
        name="Company basics",
        start=first,
        backfill=True,
        targets={
            "dialled_calls": TargetInput(Decimal(40)),
            "won_value": TargetInput(Decimal("10000.00")),
            "conversion_rate": TargetInput(Decimal(30)),
        },
        default_split=Goal.Split.LEVEL,  # halves down the tree: east's reps 10 calls each
    )


def cells(goal: Goal, key: str, cycle: int = 0) -> dict[int, Achievement]:
    with scope(tenant=goal.tenant):
        rows = Achievement.objects.filter(goal=goal, rule__key=key, cycle_index=cycle)
        return {row.member_id: row for row in rows}


def test_a_call_at_2330_local_on_the_last_day_counts_in_that_month(org: Org, goal: Goal) -> None:
    _first, last = previous_month(org.today)
    day_after = last + timedelta(days=1)
    # Berlin: 23:30 local on the month's last day is 21:30 or 22:30 UTC, inside the month;
    # 00:30 local on the 1st is still the previous day in UTC, but belongs to the next month.
    org.calls(f"{last}T23:30:00", f"{day_after}T00:30:00")
    goal_recompute(goal.pk)
    assert cells(goal, "dialled_calls", 0)[org.rep.pk].value == 1
    assert cells(goal, "dialled_calls", 1)[org.rep.pk].value == 1


def test_every_member_has_a_row_and_counts_roll_up(org: Org, goal: Goal) -> None:
    first, _last = previous_month(org.today)
    org.calls(f"{first}T09:00", f"{first}T10:00")
    org.calls(f"{first}T11:00", owner=org.rep2)
    org.calls(f"{first}T12:00", owner=org.sdr)
    result = goal_recompute(goal.pk)
    assert result.cycles == 2
    row = cells(goal, "dialled_calls")
    assert len(row) == 6  # admin, east, rep, rep2, west, sdr: zeros too
    assert (row[org.rep.pk].value, row[org.rep.pk].team_value) == (2, 2)
    assert (row[org.east.pk].value, row[org.east.pk].team_value) == (0, 3)
    assert row[org.west.pk].team_value == 1
    assert row[org.admin.pk].team_value == 4
    assert row[org.admin.pk].team_target == 40 and row[org.admin.pk].target is None
    assert row[org.rep.pk].target is not None


def test_a_ratio_rolls_up_as_sum_over_sum_not_an_average_of_averages(org: Org, goal: Goal) -> None:
    first, _last = previous_month(org.today)
    when = f"{first}T09:00"
    leads = [
        {"external_id": "L1", "owner_email": org.rep.email, "name": "A", "created_at": when,
         "status": "converted", "converted_at": when},
    ] + [
        {"external_id": f"L{n}", "owner_email": org.rep2.email, "name": "B", "created_at": when}
        for n in (2, 3, 4)
    ]  # fmt: skip
    records_upsert(tenant=org.admin.tenant, entity="lead", records=leads)
    goal_recompute(goal.pk)
    row = cells(goal, "conversion_rate")
    assert row[org.rep.pk].value == 100
    assert row[org.rep2.pk].value == 0
    assert row[org.east.pk].value is None  # no leads of their own: no rate, not 0%
    assert row[org.east.pk].team_value == 25  # 1 of 4, where the average of averages says 50
    assert (row[org.east.pk].team_numerator, row[org.east.pk].team_denominator) == (1, 4)
    assert row[org.admin.pk].team_value == 25


def test_sums_count_only_their_currency(org: Org, goal: Goal) -> None:
    first, _last = previous_month(org.today)
    deals = [
        {"external_id": "O1", "owner_email": org.rep.email, "name": "1", "stage": "Prospect",
         "status": "won", "value": "1200.50", "currency": "USD", "closed_at": f"{first}T10:00"},
        {"external_id": "O2", "owner_email": org.sdr.email, "name": "2", "stage": "Prospect",
         "status": "won", "value": "99.50", "currency": "USD", "closed_at": f"{first}T10:00"},
        {"external_id": "O3", "owner_email": org.sdr.email, "name": "3", "stage": "Prospect",
         "status": "won", "value": "5000", "currency": "EUR", "closed_at": f"{first}T10:00"},
    ]  # fmt: skip
    records_upsert(tenant=org.admin.tenant, entity="opportunity", records=deals)
    goal_recompute(goal.pk)
    row = cells(goal, "won_value")
    assert row[org.admin.pk].team_value == Decimal("1300.00")


def test_recompute_twice_changes_nothing_and_a_deleted_record_disappears(
    org: Org, goal: Goal
) -> None:
    first, _last = previous_month(org.today)
    org.calls(f"{first}T09:00", f"{first}T10:00")
    assert goal_recompute(goal.pk).written > 0
    with scope(tenant=goal.tenant):
        before = list(Achievement.objects.order_by("pk").values())
    assert goal_recompute(goal.pk).written == 0
    with scope(tenant=goal.tenant):
        assert list(Achievement.objects.order_by("pk").values()) == before
    records_delete(
        tenant=org.admin.tenant, entity="activity", external_ids=[f"call-{org.rep.email}-0"]
    )
    result = goal_recompute(goal.pk)
    assert result.written == 3  # the rep, east and the admin: only rows whose numbers changed
    assert cells(goal, "dialled_calls")[org.admin.pk].team_value == 1


def test_closing_freezes_a_cycle_with_its_status(org: Org, goal: Goal) -> None:
    first, _last = previous_month(org.today)
    org.calls(*(f"{first}T{hour:02}:00" for hour in range(8, 18)))  # 10 calls
    result = goal_recompute(goal.pk, close_before=goal.cycles()[1].start)
    assert result.closed == 1
    row = cells(goal, "dialled_calls")
    assert row[org.rep.pk].final and row[org.rep.pk].status == "achieved"  # 10 >= 10 (40 / 4)
    assert row[org.rep2.pk].status == "missed"
    assert row[org.admin.pk].status == "missed"  # 10 of 40
    org.calls(f"{first}T19:00", owner=org.rep2)  # late: the cycle is frozen
    goal_recompute(goal.pk)
    assert cells(goal, "dialled_calls")[org.rep2.pk].value == 0
    goal_recompute(goal.pk, all_cycles=True)  # an operator's repair recomputes it
    assert cells(goal, "dialled_calls")[org.rep2.pk].value == 1


def test_a_closed_cycle_stores_no_target_for_a_zero_target_and_no_data_for_no_denominator(
    org: Org,
) -> None:
    first, _last = previous_month(org.today)
    goal = org.goal(
        actor=org.admin,
        team=org.admin,
        name="Thin targets",
        start=first,
        backfill=True,
        targets={
            "dialled_calls": TargetInput(Decimal(2)),  # 4 reps: someone's share is 0
            "conversion_rate": TargetInput(Decimal(30)),
        },
    )
    goal_recompute(goal.pk, close_before=goal.cycles()[1].start)
    calls = cells(goal, "dialled_calls")
    zero = [row for row in calls.values() if row.team_target == 0]
    assert zero and all(row.value == 0 and row.status == "no_target" for row in zero)
    assert all(row.status == "missed" for row in calls.values() if row.team_target)
    rates = cells(goal, "conversion_rate")  # no leads at all: nothing to divide by
    assert all(row.value is None and row.status == "no_data" for row in rates.values())
    tracked = cells(goal, "won_value")  # no target: a tracked metric
    assert all(row.status == "no_target" for row in tracked.values())


def test_members_who_leave_the_team_lose_their_rows_and_new_ones_get_them(
    org: Org, goal: Goal
) -> None:
    goal_recompute(goal.pk)
    newcomer = MemberFactory(reports_to=org.west, name="Newcomer")
    goal_recompute(goal.pk)
    assert newcomer.pk in cells(goal, "dialled_calls", 1)
    with scope(tenant=goal.tenant):
        computation = GoalComputation.objects.get(goal=goal)
    assert computation.computed_at is not None and not computation.pending


def stored(goal: Goal) -> dict[tuple, dict]:
    """The goal's rows by cell, without their ids and when they were computed."""
    with scope(tenant=goal.tenant):
        rows = Achievement.objects.filter(goal=goal).values()
        return {
            (row["rule_id"], row["member_id"], row["cycle_start"]): {
                name: value for name, value in row.items() if name not in ("id", "computed_at")
            }
            for row in rows
        }


def test_one_recompute_inserts_new_cells_and_updates_changed_ones_in_place(
    org: Org, goal: Goal
) -> None:
    first, _last = previous_month(org.today)
    goal_recompute(goal.pk)
    before = cells(goal, "dialled_calls")
    newcomer = MemberFactory(reports_to=org.west, name="Newcomer")
    org.calls(f"{first}T09:00")
    result = goal_recompute(goal.pk)
    after = cells(goal, "dialled_calls")
    assert after[org.admin.pk].pk == before[org.admin.pk].pk  # updated, not replaced
    assert after[org.admin.pk].team_value == 1 and after[newcomer.pk].value == 0
    written = stored(goal)
    newcomers = sum(1 for _rule, member, _start in written if member == newcomer.pk)
    assert newcomers < result.written < len(written)  # the new rows and the changed ones
    with scope(tenant=goal.tenant):
        Achievement.objects.filter(goal=goal).delete()
    goal_recompute(goal.pk)
    assert stored(goal) == written  # what a recompute from nothing stores


def test_an_archived_goal_is_left_as_it_was(org: Org, goal: Goal) -> None:
    goal_recompute(goal.pk)
    with scope(tenant=goal.tenant):
        Goal.objects.filter(pk=goal.pk).update(archived_at=goal.created_at)
    assert goal_recompute(goal.pk).cycles == 0


def test_query_count_does_not_grow_with_the_team(
    org: Org, goal: Goal, django_assert_max_num_queries
) -> None:
    """Reads are a fixed set of queries (each rule's in a savepoint of its own, so that one
    failing rule leaves the others computed; one reads the team's reporting lines, one the
    stored quotas); writes
    are batches of 1,000 rows on PostgreSQL (SQLite takes fewer rows a statement), so the pin
    is taken once the rows exist."""
    goal_recompute(goal.pk)
    with django_assert_max_num_queries(28):
        goal_recompute(goal.pk)
    for n in range(30):
        MemberFactory(reports_to=org.west if n % 2 else org.east)
    goal_recompute(goal.pk)
    with django_assert_max_num_queries(28):
        goal_recompute(goal.pk)
