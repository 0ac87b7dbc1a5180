"""One range of dates, 1970-01-01 to 2100-12-31 (core.dates), on every path: what is
outside it is refused by field (422, a form error, a numbered line), never a 500."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from crm.ingest import RecordsInvalid, records_import
from crm.models import Activity, Lead
from goals.models import Goal
from hierarchy.models import Tenant
from hierarchy.services import api_token_create
from tests.conftest import Crm, Org, client_for

pytestmark = pytest.mark.django_db

OUTSIDE = "is outside the dates Goals accepts (from 1970-01-01 to 2100-12-31)"
EXTREMES = ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59", "1969-12-31", "2101-01-01"]


@pytest.fixture
def api(crm: Crm) -> Client:
    Tenant.objects.filter(pk=crm.tenant.pk).update(time_zone="America/New_York")
    _, key = api_token_create(tenant=crm.tenant, name="sync")
    return Client(headers={"Authorization": f"Bearer {key}"})


def count(model: type) -> int:
    with scopes_disabled():
        return model.objects.count()


@pytest.mark.parametrize("moment", EXTREMES)
def test_it_refuses_a_record_time_outside_the_range(crm: Crm, api: Client, moment: str) -> None:
    body = {"records": [crm.activity(occurred_at=moment)]}
    response = api.post("/api/v1/activities", body, content_type="application/json")
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == "occurred_at" and OUTSIDE in problem["message"]
    assert count(Activity) == 0
    assert api.get("/api/v1/activities").status_code == 200


def test_it_refuses_a_custom_date_outside_the_range(crm: Crm, api: Client) -> None:
    body = {"records": [crm.lead(attributes={"renewal": "0001-01-01"})]}
    response = api.post("/api/v1/leads", body, content_type="application/json")
    assert response.status_code == 422 and OUTSIDE in response.json()["detail"][0]["message"]
    assert count(Lead) == 0


@pytest.mark.parametrize("bound", ["since", "until"])
def test_it_refuses_a_query_bound_outside_the_range(api: Client, bound: str) -> None:
    response = api.get(f"/api/v1/leads?{bound}=9999-12-31")
    assert response.status_code == 422 and OUTSIDE in response.content.decode()


def test_the_csv_import_names_the_line_of_a_date_outside_the_range(crm: Crm) -> None:
    text = "external_id,owner_email,type,occurred_at\n"
    text += f"A-1,{crm.rep_email},Call,2025-03-03T10:00\nA-2,{crm.rep_email},Call,0001-01-01\n"
    with pytest.raises(RecordsInvalid) as refused:
        records_import(tenant=crm.tenant, entity="activity", file=io.StringIO(text))
    [problem] = refused.value.problems
    assert problem.line == 3 and OUTSIDE in problem.message
    assert count(Activity) == 0


def test_the_records_page_refuses_a_filter_date_outside_the_range(crm: Crm) -> None:
    page = client_for(crm.personas.manager).get(
        reverse("record_list", args=["activities"]), {"until": "9999-12-31"}
    )
    assert page.status_code == 200 and OUTSIDE in page.content.decode()


def goal_body(org: Org, **changes: str) -> dict:
    return {
        "name": "Far",
        "ruleset": org.ruleset.pk,
        "team": org.east.email,
        "cycle": "monthly",
        "start": org.today.isoformat(),
        "end": (org.today + timedelta(days=40)).isoformat(),
        "targets": {"dialled_calls": 10},
    } | changes


@pytest.mark.parametrize("end", ["9999-12-31", "2101-01-01"])
def test_the_goals_api_refuses_an_end_outside_the_range(org: Org, api: Client, end: str) -> None:
    response = api.post("/api/v1/goals", goal_body(org, end=end), content_type="application/json")
    assert response.status_code == 422
    assert [(p["field"], OUTSIDE in p["message"]) for p in response.json()["detail"]] == [
        ("end", True)
    ]
    assert count(Goal) == 0


def wizard(org: Org, **changes: str) -> str:
    form = goal_body(org, team=org.east.pk, holders="reps", go="review", **changes)
    form["target-dialled_calls"] = form.pop("targets")["dialled_calls"]
    return client_for(org.east).post(reverse("goal_new"), form).content.decode()


def test_the_wizard_refuses_an_end_outside_the_range(org: Org) -> None:
    assert OUTSIDE in wizard(org, end="9999-12-31")
    assert count(Goal) == 0


def test_a_goal_of_too_many_cycles_is_refused_by_the_api_and_the_wizard(
    org: Org, api: Client
) -> None:
    long = {"cycle": "daily", "end": (org.today + timedelta(days=3 * 366)).isoformat()}
    response = api.post("/api/v1/goals", goal_body(org, **long), content_type="application/json")
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == "end" and "a goal has at most 1,000" in problem["message"]
    assert "a goal has at most 1,000" in wizard(org, **long)
    assert count(Goal) == 0


def test_a_rule_condition_on_a_date_outside_the_range_is_refused(api: Client) -> None:
    rule = {
        "key": "old",
        "entity": "lead",
        "aggregation": "count",
        "conditions": [{"field": "created_at", "op": "gte", "value": "0001-01-01"}],
    }
    response = api.post(
        "/api/v1/rulesets", {"name": "Old", "rules": [rule]}, content_type="application/json"
    )
    assert response.status_code == 422 and OUTSIDE in response.content.decode()
