from __future__ import annotations

from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client
from django_scopes import scopes_disabled

from crm.models import Activity, Lead, Opportunity, StageChange
from hierarchy.models import Tenant
from hierarchy.services import api_token_create, api_token_revoke
from tests.conftest import Crm

pytestmark = pytest.mark.django_db


def api_client(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def clients(crm: Crm) -> tuple[Client, Client]:
    _, key_a = api_token_create(tenant=crm.tenant, name="A")
    _, key_b = api_token_create(tenant=crm.personas.outsider.tenant, name="B")
    return api_client(key_a), api_client(key_b)


def post(client: Client, path: str, body: dict, **params: str):
    query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    return client.post(f"/api/v1/{path}{query}", body, content_type="application/json")


def test_it_upserts_and_lists_leads(crm: Crm, clients):
    client, _ = clients
    response = post(client, "leads", {"records": [crm.lead(status="contacted", source="Web")]})
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0, "rejected": []}
    again = post(client, "leads", {"records": [crm.lead(status="contacted", source="Web")]})
    assert again.json()["unchanged"] == 1
    listing = client.get("/api/v1/leads").json()
    assert listing["count"] == 1
    lead = listing["items"][0]
    assert (lead["external_id"], lead["owner_email"], lead["source"]) == (
        "L-1",
        crm.rep_email,
        "Web",
    )


def test_it_answers_422_with_every_bad_record_and_field(crm: Crm, clients):
    client, _ = clients
    records = [
        crm.activity(external_id="A-1"),
        crm.activity(external_id="A-2", type="Carrier pigeon", duration_seconds="long"),
    ]
    response = post(client, "activities", {"records": records})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {(e["record"], e["field"]) for e in detail} == {(1, "type"), (1, "duration_seconds")}
    assert all(e["message"] for e in detail)
    with scopes_disabled():
        assert not Activity.objects.exists()


def test_it_applies_the_valid_records_in_partial_mode(crm: Crm, clients):
    client, _ = clients
    records = [crm.activity(external_id="A-1"), crm.activity(external_id="A-2", type="Nope")]
    body = post(client, "activities", {"records": records}, partial="true").json()
    assert body["created"] == 1 and [e["record"] for e in body["rejected"]] == [1]


def test_it_records_stage_changes_through_the_api(crm: Crm, clients):
    client, _ = clients
    post(client, "opportunities", {"records": [crm.opportunity()]})
    post(client, "opportunities", {"records": [crm.opportunity(stage="Proposal")]})
    with scopes_disabled():
        moves = list(StageChange.objects.order_by("pk").values_list("to_stage__name", flat=True))
    assert moves == ["Prospect", "Proposal"]
    item = client.get("/api/v1/opportunities").json()["items"][0]
    assert (item["stage"], item["value"]) == ("Proposal", "1000.00")


def test_it_filters_by_owner_status_and_dates_in_the_tenant_time_zone(crm: Crm, clients):
    client, _ = clients
    records = [
        crm.activity(external_id="A-1", occurred_at="2025-03-03T23:30:00"),
        crm.activity(external_id="A-2", occurred_at="2025-03-04T00:30:00", status="planned"),
    ]
    post(client, "activities", {"records": records})
    day = client.get("/api/v1/activities", {"since": "2025-03-04", "until": "2025-03-05"}).json()
    assert [a["external_id"] for a in day["items"]] == ["A-2"]
    planned = client.get("/api/v1/activities", {"status": "planned"}).json()
    assert [a["external_id"] for a in planned["items"]] == ["A-2"]
    mine = client.get("/api/v1/activities", {"owner_email": crm.personas.admin.email}).json()
    assert mine["count"] == 0
    bad = client.get("/api/v1/activities", {"date_field": "closed_at"})
    assert bad.status_code == 422 and "occurred_at" in bad.json()["detail"]
    assert client.get("/api/v1/activities", {"since": "soon"}).status_code == 422


def test_it_deletes_by_external_id(crm: Crm, clients):
    client, outsider = clients
    post(client, "leads", {"records": [crm.lead(), crm.lead(external_id="L-2")]})
    assert outsider.delete("/api/v1/leads/L-1").status_code == 404
    assert client.delete("/api/v1/leads/L-1").status_code == 204
    assert client.delete("/api/v1/leads/L-1").status_code == 404
    many = post(client, "leads/delete", {"external_ids": ["L-2", "nope"]})
    assert many.json() == {"deleted": 1}


def test_a_token_of_another_tenant_neither_reads_nor_writes(crm: Crm, clients):
    client, outsider = clients
    post(client, "opportunities", {"records": [crm.opportunity()]})
    assert outsider.get("/api/v1/opportunities").json()["count"] == 0
    # Tenant A's owner, stage and id mean nothing to tenant B: refused, A's row untouched.
    response = post(outsider, "opportunities", {"records": [crm.opportunity(value="1")]})
    assert response.status_code == 422
    with scopes_disabled():
        assert Opportunity.objects.get().value == 1000


def test_revoked_and_missing_tokens_are_refused(crm: Crm, clients):
    assert Client().get("/api/v1/leads").status_code == 401
    with scopes_disabled():
        token = crm.tenant.api_tokens.get(name="A")
    api_token_revoke(token=token)
    assert clients[0].get("/api/v1/leads").status_code == 401
    assert post(clients[0], "leads", {"records": [crm.lead()]}).status_code == 401
    with scopes_disabled():
        assert not Lead.objects.exists()


def test_it_refuses_more_than_1000_records(crm: Crm, clients):
    records = [crm.lead(external_id=f"L-{i}") for i in range(1001)]
    assert post(clients[0], "leads", {"records": records}).status_code == 413


def test_the_schema_lists_every_entity():
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    for entity in ("leads", "activities", "opportunities", "tasks"):
        assert f"/api/v1/{entity}" in paths and f"/api/v1/{entity}/{{external_id}}" in paths


@pytest.mark.django_db(transaction=True)
def test_a_failure_after_commit_never_fails_the_request(crm: Crm, clients, caplog):
    with mock.patch("crm.ingest.entities_changed", side_effect=ConnectionError("broker down")):
        response = post(clients[0], "leads", {"records": [crm.lead()]})
    assert response.status_code == 200
    with scopes_disabled():
        assert Lead.objects.filter(external_id="L-1").exists()
    assert "broker down" in caplog.text


def test_the_ingestion_benchmark_runs_and_cleans_up():
    out = StringIO()
    call_command("bench_ingest", "--api-records=40", "--csv-rows=30", "--members=3", stdout=out)
    assert "API: 40 activities" in out.getvalue()
    assert "CSV: import_entities of 30 activities" in out.getvalue()
    with scopes_disabled():
        assert not Activity.objects.exists()
        assert not Tenant.objects.filter(slug__startswith="bench-ingest").exists()
