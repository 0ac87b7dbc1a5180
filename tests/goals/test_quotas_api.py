"""The quotas API: read per member, rule and cycle; set a cycle's quotas all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_scopes import scope

from goals.models import Goal, Quota
from goals.services import TargetInput, goal_save
from hierarchy.models import AuditEntry
from hierarchy.services import member_move
from tests.conftest import Org
from tests.factories import MemberFactory, TenantFactory
from tests.goals.test_api import client

pytestmark = pytest.mark.django_db
MONDAY = datetime(2027, 3, 1, 9, 0, tzinfo=ZoneInfo(TenantFactory.time_zone))


@pytest.fixture
def weekly(org: Org) -> Iterator[Goal]:
    with time_machine.travel(MONDAY, tick=False):
        yield goal_save(
            draft=org.draft(
                name="Company week",
                team=org.admin,
                cycle="weekly",
                start=MONDAY.date(),
                end=date(2027, 3, 28),
                targets={
                    "dialled_calls": TargetInput(Decimal(30)),
                    "conversion_rate": TargetInput(Decimal(25)),
                },
            ),
            actor=org.admin,
        )


def put(api: Any, goal: Goal, data: dict[str, Any]) -> Any:
    return api.put(f"/api/v1/goals/{goal.pk}/quotas", data, content_type="application/json")


def test_it_reads_quotas_per_member_rule_and_cycle(
    org: Org, weekly: Goal, django_assert_max_num_queries
) -> None:
    api = client(org.admin.tenant)
    with time_machine.travel(MONDAY, tick=False), django_assert_max_num_queries(6):
        rows = api.get(f"/api/v1/goals/{weekly.pk}/quotas?cycle=0").json()
    calls = {r["member"]: r for r in rows if r["rule"] == "dialled_calls"}
    assert calls[org.rep.email]["own"] == "10.00" and calls[org.admin.email]["team"] == "30.00"
    assert calls[org.rep.email]["source"] == "distribution"
    assert calls[org.rep.email]["cycle_start"] == "2027-03-01"
    assert api.get(f"/api/v1/goals/{weekly.pk}/quotas?cycle=1").json() == []  # not started
    mine = api.get(f"/api/v1/goals/{weekly.pk}/quotas?member={org.sdr.email}").json()
    assert {r["member"] for r in mine} == {org.sdr.email}


def test_it_sets_a_cycles_quotas_with_team_totals_summed(org: Org, weekly: Goal) -> None:
    api = client(org.admin.tenant)
    data = {"cycle": 0, "quotas": [
        {"member": org.rep.email, "rule": "dialled_calls", "own": 20},
        {"member": org.sdr.email.upper(), "rule": "dialled_calls", "own": 5},
    ]}  # fmt: skip
    with time_machine.travel(MONDAY, tick=False):
        response = put(api, weekly, data)
    assert response.status_code == 200, response.content
    calls = {r["member"]: r for r in response.json() if r["rule"] == "dialled_calls"}
    assert calls[org.rep2.email]["own"] is None  # not listed: no own target
    assert (calls[org.east.email]["team"], calls[org.admin.email]["team"]) == ("20.00", "25.00")
    assert calls[org.rep.email]["source"] == "manual"
    assert calls[org.rep.email]["set_by"] == "API token 'sync'"
    rates = {r["member"] for r in response.json() if r["rule"] == "conversion_rate"}
    assert org.rep2.email in rates  # a rule not named keeps its quotas
    with scope(tenant=weekly.tenant_id):
        assert AuditEntry.objects.filter(action="goal.quotas_set", target_id=weekly.pk).exists()


def test_it_refuses_the_whole_set_naming_each_member_and_rule(org: Org, weekly: Goal) -> None:
    api = client(org.admin.tenant)
    with time_machine.travel(MONDAY, tick=False):
        before = api.get(f"/api/v1/goals/{weekly.pk}/quotas").json()
        response = put(api, weekly, {"cycle": 0, "quotas": [
            {"member": org.rep.email, "rule": "dialled_calls", "own": 20},
            {"member": org.rep2.email, "rule": "dialled_calls", "own": "2.5"},
            {"member": org.east.email, "rule": "dialled_calls", "team": 99},
            {"member": "nobody@example.com", "rule": "dialled_calls", "own": 1},
            {"member": org.sdr.email, "rule": "won_value", "own": 1},
            {"member": org.personas.outsider.email, "rule": "dialled_calls", "own": 1},
        ]})  # fmt: skip
        after = api.get(f"/api/v1/goals/{weekly.pk}/quotas").json()
    assert response.status_code == 422
    problems = {p["field"]: p["message"] for p in response.json()["detail"]}
    assert "2.5 is not a whole number of 1" in problems["quotas.1.own"]
    assert (
        org.rep2.email in problems["quotas.1.own"] and "dialled_calls" in problems["quotas.1.own"]
    )
    assert "nobody@example.com" in problems["quotas.3.member"]
    assert "no target for a rule 'won_value'" in problems["quotas.4.rule"]
    assert "quotas.5.member" in problems  # another tenant's member is nobody here
    assert after == before  # nothing written


def test_it_refuses_a_team_total_that_is_not_the_sum(org: Org, weekly: Goal) -> None:
    api = client(org.admin.tenant)
    with time_machine.travel(MONDAY, tick=False):
        response = put(api, weekly, {"cycle": 0, "quotas": [
            {"member": org.rep.email, "rule": "dialled_calls", "own": 20},
            {"member": org.east.email, "rule": "dialled_calls", "team": 99},
        ]})  # fmt: skip
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == "quotas.1.team"
    assert "the sum of the team's own targets, 20, not 99" in problem["message"]


def test_ended_cycles_never_change(org: Org, weekly: Goal) -> None:
    api = client(org.admin.tenant)
    with time_machine.travel(datetime(2027, 3, 9, 9, tzinfo=MONDAY.tzinfo), tick=False):
        response = put(api, weekly, {"cycle": 0, "quotas": [
            {"member": org.rep.email, "rule": "dialled_calls", "own": 20},
        ]})  # fmt: skip
    assert response.status_code == 422
    assert "has ended" in response.json()["detail"][0]["message"]


def test_another_tenants_goal_is_not_found(org: Org, weekly: Goal) -> None:
    api = client(org.personas.outsider.tenant)
    assert api.get(f"/api/v1/goals/{weekly.pk}/quotas").status_code == 404
    response = put(api, weekly, {"cycle": 0, "quotas": []})
    assert response.status_code == 404
    with scope(tenant=weekly.tenant_id):
        assert not Quota.objects.filter(goal=weekly, source="manual").exists()


def test_a_split_giving_someone_zero_is_saved_with_a_warning(org: Org) -> None:
    api = client(org.admin.tenant)
    draft = org.draft()
    response = api.post("/api/v1/goals", {
        "name": "Demos", "ruleset": org.ruleset.pk, "team": org.admin.email, "cycle": "daily",
        "start": str(draft.start), "end": str(draft.end), "targets": {"dialled_calls": 2},
    }, content_type="application/json")  # fmt: skip
    assert response.status_code == 201
    assert response.json()["warnings"] == [
        "1 of 3 reps would get 0 Dialled calls a day: use a weekly cycle, a team-only target, "
        "or custom amounts."
    ]


def test_the_goal_shows_its_stored_targets_after_a_move(org: Org, weekly: Goal) -> None:
    api = client(org.admin.tenant)
    with time_machine.travel(MONDAY + timedelta(hours=3), tick=False):
        member_move(member=org.east, reports_to=org.west, actor=org.admin)
        joiner = MemberFactory(reports_to=org.west, name="Nia New")
        goal = api.get(f"/api/v1/goals/{weekly.pk}").json()
    members = {m["member"]: m["targets"] for m in goal["members"]}
    assert members[org.west.email]["dialled_calls"]["team"] == "10.00"  # as stored: sdr's
    assert members[joiner.email] == {}  # no quota in the running cycle
