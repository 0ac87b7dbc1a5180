"""The goals API: create, read, change, archive; every problem named; tenants apart."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from goals.models import Goal
from hierarchy.services import api_token_create
from tests.conftest import Org
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def client(tenant) -> Client:  # noqa: ANN001
    _, key = api_token_create(tenant=tenant, name="sync")
    return Client(headers={"Authorization": f"Bearer {key}"})


def body(org: Org, **changes: Any) -> dict[str, Any]:
    draft = org.draft()
    return {
        "name": "East calls",
        "ruleset": org.ruleset.pk,
        "team": org.east.email,
        "cycle": "monthly",
        "start": str(draft.start),
        "end": str(draft.end),
        "targets": {"dialled_calls": 100, "won_value": "5000.00"},
        "distribution": [
            {"parent": org.east.email, "method": "percentage",
             "shares": {org.rep.email: 70, org.rep2.email: 30}}
        ],
    } | changes  # fmt: skip


def post(api: Client, data: dict[str, Any]) -> Any:
    return api.post("/api/v1/goals", data, content_type="application/json")


def test_create_shows_every_members_target_adding_up(org: Org) -> None:
    api = client(org.admin.tenant)
    response = post(api, body(org))
    assert response.status_code == 201, response.content
    goal = response.json()
    assert goal["status"] == "in_progress" and goal["team"] == org.east.email
    assert goal["targets"]["dialled_calls"] == {"amount": "100.00", "phasing": []}
    shares = goal["distribution"][0]["shares"]
    assert shares == {org.rep.email: "70", org.rep2.email: "30"}
    members = {m["member"]: m["targets"] for m in goal["members"]}
    full = goal["shown_cycle"]
    assert goal["cycles"][full]["start"] <= str(org.today) <= goal["cycles"][full]["end"]
    east_team = Decimal(members[org.east.email]["dialled_calls"]["team"])
    reps = [Decimal(members[m]["dialled_calls"]["own"]) for m in (org.rep.email, org.rep2.email)]
    assert sum(reps) == east_team  # the partial first month's target, split 70/30 exactly
    assert members[org.east.email]["dialled_calls"]["own"] is None
    assert api.get(f"/api/v1/goals/{goal['id']}").json() == goal


def test_a_phased_target_splits_the_total_across_cycles(org: Org) -> None:
    api = client(org.admin.tenant)
    start = org.today.replace(day=1) + timedelta(days=32)
    start = start.replace(day=1)
    end = (start + timedelta(days=95)).replace(day=1) - timedelta(days=1)
    phased = {"dialled_calls": {"total": 300, "phasing": [20, 30, 50]}}
    changes = {"start": str(start), "end": str(end), "distribution": [], "targets": phased}
    response = post(api, body(org, **changes))
    assert response.status_code == 201, response.content
    members = {m["member"]: m["targets"] for m in response.json()["members"]}
    assert members[org.east.email]["dialled_calls"]["team"] == "60"  # 20% of 300: first month


def test_every_problem_is_named_at_once(org: Org) -> None:
    api = client(org.admin.tenant)
    bad = body(
        org,
        team="nobody@example.com",
        ruleset=999999,
        distribution=[{"parent": org.east.email, "method": "percentage",
                       "shares": {"ghost@example.com": 100}}],
    )  # fmt: skip
    response = post(api, bad)
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["detail"]}
    assert fields == {"team", "ruleset", "distribution.0.shares.ghost@example.com"}
    uneven = {org.rep.email: 60, org.rep2.email: 30}
    level = {"parent": org.east.email, "method": "percentage", "shares": uneven}
    short = body(org, distribution=[level])
    detail = post(api, short).json()["detail"]
    assert detail[0]["field"] == "distribution.0" and "10 short of 100%" in detail[0]["message"]
    custom = body(org, distribution=[level | {"method": "custom", "rule": "dialled_calls"}])
    assert "10 short of the team target" in post(api, custom).json()["detail"][0]["message"]
    past = body(org, start=str(org.today - timedelta(days=3)), targets={"nope": 1})
    fields = {p["field"] for p in post(api, past).json()["detail"]}
    assert fields == {"start", "targets.nope"}
    assert not Goal.objects.with_scopes_disabled().exists()


def test_edit_then_archive(org: Org) -> None:
    api = client(org.admin.tenant)
    goal = post(api, body(org)).json()
    url = f"/api/v1/goals/{goal['id']}"
    changed = api.put(url, body(org, name="East calls 2", targets={"dialled_calls": 120}),
                      content_type="application/json")  # fmt: skip
    assert changed.status_code == 200 and changed.json()["name"] == "East calls 2"
    assert list(changed.json()["targets"]) == ["dialled_calls"]
    moved = api.put(url, body(org, team=org.west.email), content_type="application/json")
    assert moved.status_code == 422 and moved.json()["detail"][0]["field"] == "team"
    assert api.delete(url).status_code == 204
    assert api.get(url).json()["status"] == "archived"
    assert api.delete(url).status_code == 409
    listed = api.get("/api/v1/goals", {"status": "archived"}).json()
    assert [g["id"] for g in listed["items"]] == [goal["id"]]
    assert api.get("/api/v1/goals", {"status": "in_progress"}).json()["items"] == []


def test_another_tenant_sees_nothing_and_names_nothing(org: Org) -> None:
    goal = post(client(org.admin.tenant), body(org)).json()
    other = client(org.personas.outsider.tenant)
    url = f"/api/v1/goals/{goal['id']}"
    assert other.get(url).status_code == 404
    assert other.put(url, body(org), content_type="application/json").status_code == 404
    assert other.delete(url).status_code == 404
    response = post(other, body(org))
    assert response.status_code == 422
    assert {p["field"] for p in response.json()["detail"]} >= {"ruleset", "team"}
    assert other.get("/api/v1/goals").json()["items"] == []


def test_reading_a_goal_takes_the_same_queries_for_any_team_size(
    org: Org, django_assert_max_num_queries
) -> None:
    api = client(org.admin.tenant)
    goal = post(api, body(org, distribution=[])).json()
    for _ in range(50):
        MemberFactory(reports_to=org.east)
    with django_assert_max_num_queries(12):
        response = api.get(f"/api/v1/goals/{goal['id']}")
    assert len(response.json()["members"]) == 53


def test_the_schema_lists_the_goal_paths() -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/goals",
        "/api/v1/goals/{goal_id}",
        "/api/v1/goals/{goal_id}/achievements",
    } <= set(paths)


def test_a_bad_share_is_named_by_the_member_never_by_an_id(org: Org) -> None:
    shares = {org.rep.email: -10, org.rep2.email: 110}
    split = {"parent": org.east.email, "method": "percentage", "shares": shares}
    response = post(client(org.admin.tenant), body(org, distribution=[split]))
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert f"The percentage for {org.rep.name} is negative" in problem["message"]
