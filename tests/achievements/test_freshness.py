"""Changes reach the numbers: which goals a change affects, requests, the sweep, the schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django_scopes import scope

from achievements.cadence import DAILY, LONGER
from achievements.freshness import recompute_request
from achievements.models import Achievement, GoalComputation
from achievements.selectors import (
    goals_affected,
    goals_behind,
    goals_due,
    goals_to_close,
)
from crm.ingest import records_upsert
from goals.services import TargetInput, goal_archive
from tests.conftest import Org

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager")]


def at(day) -> datetime:  # noqa: ANN001
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_a_change_affects_goals_on_its_entity_dates_and_team(org: Org) -> None:
    east = org.goal()
    west = org.goal(actor=org.admin, team=org.west, name="West calls")
    deals = org.goal(name="Deals", targets={"won_value": TargetInput(Decimal(1000))})
    today = org.today
    rep = [org.rep.pk]
    tenant = org.admin.tenant.pk
    found = goals_affected(tenant, "activity", owner_ids=rep, start=at(today), end=at(today))
    # The ruleset has a rule on activities, so "Deals" (same ruleset) is asked too: cheap.
    assert set(found) == {east.pk, deals.pk}
    assert goals_affected(tenant, "activity", owner_ids=[org.sdr.pk], start=at(today),
                          end=at(today)) == [west.pk]  # fmt: skip
    long_ago = at(today - timedelta(days=400))
    assert goals_affected(tenant, "activity", owner_ids=rep, start=long_ago, end=long_ago) == []
    assert goals_affected(tenant, "stage_change", owner_ids=rep, start=at(today),
                          end=at(today)) == []  # fmt: skip
    goal_archive(goal=east, actor=org.admin)
    assert east.pk not in goals_affected(
        tenant, "activity", owner_ids=rep, start=at(today), end=at(today)
    )


def test_a_record_saved_through_ingestion_updates_the_achievement(
    org: Org, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        goal = org.goal()
    record = {
        "external_id": "call-1",
        "owner_email": org.rep.email,
        "type": "Call",
        "occurred_at": datetime.now(UTC).isoformat(),
        "status": "completed",
    }
    with django_capture_on_commit_callbacks(execute=True):
        records_upsert(tenant=org.admin.tenant, entity="activity", records=[record])
    with scope(tenant=goal.tenant):
        row = Achievement.objects.get(
            goal=goal, member=org.east, cycle_index=0, rule__key="dialled_calls"
        )
        computation = GoalComputation.objects.get(goal=goal)
    assert row.team_value == 1
    assert not computation.pending


def test_editing_a_rule_recomputes_the_goals_that_use_it(
    org: Org, django_capture_on_commit_callbacks
) -> None:
    from rulesets.services import ruleset_save

    goal = org.goal()
    with scope(tenant=goal.tenant):
        rules = [rule.definition() for rule in org.ruleset.rules.all()]
    with django_capture_on_commit_callbacks(execute=True):
        ruleset_save(tenant=org.admin.tenant, name=org.ruleset.name, ruleset=org.ruleset,
                     rules=rules)  # fmt: skip
    with scope(tenant=goal.tenant):
        assert GoalComputation.objects.get(goal=goal).computed_at is not None


def test_the_sweep_finds_requests_left_behind_and_goals_never_computed(org: Org) -> None:
    goal = org.goal()
    assert goals_behind() == [goal.pk]  # never computed
    recompute_request([goal.pk], tenant_id=goal.tenant_id)  # eager: computed at once
    assert goals_behind() == []
    with scope(tenant=goal.tenant):
        GoalComputation.objects.filter(goal=goal).update(
            requested_at=datetime.now(UTC) - timedelta(minutes=5),
            computed_at=datetime.now(UTC) - timedelta(minutes=10),
        )
    assert goals_behind() == [goal.pk]  # asked for, lost on the way
    later = datetime.now(UTC) + timedelta(hours=4)
    with scope(tenant=goal.tenant):
        GoalComputation.objects.filter(goal=goal).update(requested_at=None)
    assert goals_behind(now=later) == [goal.pk]  # monthly goals are due every 3 hours


def test_the_schedule_picks_goals_by_cycle_kind_and_closes_ended_cycles(org: Org) -> None:
    monthly = org.goal()
    daily = org.goal(name="Daily calls", cycle="daily")
    assert goals_due(DAILY) == [daily.pk]
    assert goals_due(LONGER) == [monthly.pk]
    tomorrow = datetime.now(UTC) + timedelta(days=2)
    assert daily.pk in goals_to_close(tomorrow)
    assert monthly.pk not in goals_to_close(datetime.now(UTC))
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert {entry["task"] for entry in schedule.values()} == {
        "goals.heartbeat",
        "achievements.recompute_due",
        "achievements.close_due",
        "achievements.sweep",
    }
    assert all(entry["options"]["expires"] > 0 for entry in schedule.values())


def test_a_member_moving_between_teams_takes_their_numbers_from_then_on(
    org: Org, at_noon: datetime, django_capture_on_commit_callbacks
) -> None:
    """The move recomputes the goal: the call made before it stays with the old team, the
    one after it counts for the new team (the rep's own value has both)."""
    from hierarchy.services import member_move

    def call(name: str, when: datetime) -> None:
        records_upsert(
            tenant=org.admin.tenant,
            entity="activity",
            records=[{"external_id": name, "owner_email": org.rep.email, "type": "Call",
                      "occurred_at": when.isoformat(), "status": "completed"}],
        )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        goal = org.goal(actor=org.admin, team=org.admin)
        call("c1", at_noon - timedelta(minutes=5))

    def values(member) -> tuple[Decimal, Decimal]:  # noqa: ANN001
        with scope(tenant=goal.tenant):
            row = Achievement.objects.get(
                goal=goal, member=member, cycle_index=0, rule__key="dialled_calls"
            )
        return row.value, row.team_value

    assert (values(org.east)[1], values(org.west)[1]) == (1, 0)
    with django_capture_on_commit_callbacks(execute=True):
        member_move(member=org.rep, reports_to=org.west, actor=org.admin)
        call("c2", datetime.now(UTC) + timedelta(minutes=1))
    assert (values(org.east)[1], values(org.west)[1], values(org.rep)) == (1, 1, (2, 2))
