"""GET /api/v1/goals/{id}/achievements."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from achievements.services import goal_recompute
from crm.ingest import records_upsert
from hierarchy.services import api_token_create
from tests.conftest import Org
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def client(tenant) -> Client:  # noqa: ANN001
    _, key = api_token_create(tenant=tenant, name="reader")
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_rows_with_filters_and_another_tenant_gets_404(
    org: Org, django_assert_max_num_queries
) -> None:
    start = (org.today.replace(day=1) - timedelta(days=1)).replace(day=1)
    goal = org.goal(actor=org.admin, start=start, backfill=True)
    records_upsert(
        tenant=org.admin.tenant,
        entity="activity",
        records=[{"external_id": "c1", "owner_email": org.rep.email, "type": "Call",
                  "occurred_at": f"{start}T10:00", "status": "completed"}],
    )  # fmt: skip
    goal_recompute(goal.pk)
    api = client(org.admin.tenant)
    url = f"/api/v1/goals/{goal.pk}/achievements"
    rows = api.get(url).json()
    assert (
        len(rows) == 2 * 3 * 3
    )  # two months, east's team of three, three rules (a ratio's parts: on its rows)
    mine = api.get(
        url, {"member": org.rep.email, "cycle_start": str(start), "rule": "dialled_calls"}
    ).json()
    assert len(mine) == 1
    (row,) = mine
    assert (row["member"], row["member_name"], row["rule"]) == (
        org.rep.email,
        org.rep.name,
        "dialled_calls",
    )
    assert (row["cycle_start"], row["unit"], row["final"]) == (str(start), "number", False)
    assert row["team_value"] == "1.0000" and row["team_target"] == "50.00"
    assert row["status"] in ("missed", "behind")  # 1 of 50, late in or after last month
    assert mine[0]["value"] == "1.0000" and mine[0]["target"] == "50.00"
    tracked = api.get(url, {"rule": "won_value"}).json()  # no target: a tracked metric
    assert len(tracked) == 2 * 3
    assert {(r["target"], r["team_target"], r["status"]) for r in tracked} == {
        (None, None, "no_target")
    }
    for _ in range(20):
        MemberFactory(reports_to=org.east)
    goal_recompute(goal.pk)
    with django_assert_max_num_queries(4):
        assert len(api.get(url).json()) == 2 * 23 * 3
    outsider = client(org.personas.outsider.tenant)
    assert outsider.get(url).status_code == 404
    assert api.get("/api/v1/goals/999999/achievements").status_code == 404
