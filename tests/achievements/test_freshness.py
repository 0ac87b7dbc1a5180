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


def test_editing_or_deleting_an_account_updates_the_rules_that_read_it(
    org: Org, django_capture_on_commit_callbacks
) -> None:
    """A rule on SMB deals counts a deal until its account moves to another segment, and a
    rule on deals without an account counts it once its account is deleted."""
    from crm.ingest import records_delete
    from rulesets.services import ruleset_save

    won = [{"field": "status", "op": "eq", "value": "won"}]
    rules = [{"key": "smb", "name": "SMB deals won", "entity": "opportunity",
              "conditions": [*won, {"field": "account_segment", "op": "eq", "value": "SMB"}]},
             {"key": "direct", "name": "Deals won without an account", "entity": "opportunity",
              "conditions": [*won, {"field": "account", "op": "is_empty"}]}]  # fmt: skip
    ruleset = ruleset_save(tenant=org.admin.tenant, name="Segments", rules=rules)
    tenant = org.admin.tenant
    with django_capture_on_commit_callbacks(execute=True):
        goal = org.goal(ruleset=ruleset, targets={"smb": TargetInput(1)})
        acme = {"external_id": "a1", "name": "Acme", "segment": "SMB"}
        records_upsert(tenant=tenant, entity="account", records=[acme])
        deal = {"external_id": "d1", "owner_email": org.rep.email, "name": "Deal",
                "stage": "Negotiation", "status": "won", "value": "10", "account_external_id": "a1",
                "closed_at": datetime.now(UTC).isoformat()}  # fmt: skip
        records_upsert(tenant=tenant, entity="opportunity", records=[deal])

    def counted() -> tuple[Decimal, Decimal]:
        with scope(tenant=tenant):
            rows = Achievement.objects.filter(goal=goal, member=org.east, cycle_index=0)
            values = {row.rule.key: row.team_value for row in rows.select_related("rule")}
        return values["smb"], values["direct"]

    assert counted() == (1, 0)
    with django_capture_on_commit_callbacks(execute=True):
        records_upsert(tenant=tenant, entity="account", records=[acme | {"segment": "Ent"}])
    assert counted() == (0, 0)
    with django_capture_on_commit_callbacks(execute=True):
        records_delete(tenant=tenant, entity="account", external_ids=["a1"])
    assert counted() == (0, 1)


@pytest.mark.usefixtures("at_noon")  # the deal's move, two hours ago, in today's cycle
def test_repointing_revaluing_or_deleting_a_deal_updates_the_stage_change_rules_that_read_it(
    org: Org, django_capture_on_commit_callbacks
) -> None:
    """A rule on stage changes reads the account and value of their deal: its moves stop
    counting for one once the deal is moved to another account, start counting for another
    once the deal is worth more, and go with a deleted deal."""
    from crm.ingest import records_delete
    from rulesets.services import ruleset_save

    rules = [{"key": "smb", "name": "SMB moves", "entity": "stage_change",
              "conditions": [{"field": "account_segment", "op": "eq", "value": "SMB"}]},
             {"key": "big", "name": "Big moves", "entity": "stage_change",
              "conditions": [{"field": "value", "op": "gte", "value": "100"}]}]  # fmt: skip
    ruleset = ruleset_save(tenant=org.admin.tenant, name="Moves", rules=rules)
    tenant = org.admin.tenant
    accounts = [{"external_id": "a1", "name": "Acme", "segment": "SMB"},
                {"external_id": "a2", "name": "Bolt", "segment": "Ent"}]  # fmt: skip
    deal = {"external_id": "d1", "owner_email": org.rep.email, "name": "Deal",
            "stage": "Proposal", "status": "open", "value": "10", "account_external_id": "a1",
            "created_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat()}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        goal = org.goal(ruleset=ruleset, targets={"smb": TargetInput(1)})
        records_upsert(tenant=tenant, entity="account", records=accounts)
        records_upsert(tenant=tenant, entity="opportunity", records=[deal])

    def counted() -> tuple[Decimal, Decimal]:
        with scope(tenant=tenant):
            rows = Achievement.objects.filter(goal=goal, member=org.east, cycle_index=0)
            values = {row.rule.key: row.team_value for row in rows.select_related("rule")}
        return values["smb"], values["big"]

    assert counted() == (1, 0)
    with django_capture_on_commit_callbacks(execute=True):
        moved = deal | {"account_external_id": "a2", "value": "100"}
        records_upsert(tenant=tenant, entity="opportunity", records=[moved])
    assert counted() == (0, 1)
    with django_capture_on_commit_callbacks(execute=True):
        records_delete(tenant=tenant, entity="opportunity", external_ids=["d1"])
    assert counted() == (0, 0)


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
