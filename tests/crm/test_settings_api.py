from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from crm.ingest import records_upsert
from hierarchy.services import api_token_create
from tests.conftest import Crm

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(crm: Crm) -> Client:
    _, key = api_token_create(tenant=crm.tenant, name="setup")
    return Client(headers={"Authorization": f"Bearer {key}"})


def send(client: Client, method: str, path: str, body: dict):
    return getattr(client, method)(
        f"/api/v1/settings/{path}", body, content_type="application/json"
    )


def test_it_adds_activity_types_and_refuses_duplicates_and_bad_categories(client):
    assert (
        send(
            client, "post", "activity-types", {"name": "Site visit", "category": "meeting"}
        ).status_code
        == 201
    )
    names = {t["name"] for t in client.get("/api/v1/settings/activity-types").json()}
    assert {"Call", "Site visit"} <= names
    duplicate = send(client, "post", "activity-types", {"name": "call", "category": "call"})
    assert duplicate.status_code == 422
    bad = send(client, "post", "activity-types", {"name": "Fax", "category": "fax"}).json()
    assert bad["detail"][0]["field"] == "category" and "fax" in bad["detail"][0]["message"]


def test_it_sets_the_pipeline_in_order_and_keeps_used_stages(crm: Crm, client):
    records_upsert(tenant=crm.tenant, entity="opportunity", records=[crm.opportunity()])
    response = send(client, "put", "stages", {"stages": ["Lead in", "prospect", "Closed"]})
    assert response.status_code == 200
    assert client.get("/api/v1/settings/stages").json() == {
        "stages": ["Lead in", "prospect", "Closed"],
        "won": [],
        "lost": [],
    }
    refused = send(client, "put", "stages", {"stages": ["Closed"]})
    assert (
        refused.status_code == 422
        and "keep them in the list" in refused.json()["detail"][0]["message"]
    )
    assert client.get("/api/v1/settings/stages").json()["stages"] == [
        "Lead in",
        "prospect",
        "Closed",
    ]
    assert send(client, "put", "stages", {"stages": ["A", "a"]}).status_code == 422


def test_it_marks_stages_won_or_lost_and_keeps_the_marks_when_they_are_left_out(client):
    pipeline = ["Prospect", "Proposal", "Closed won", "Closed lost"]
    body = {"stages": pipeline, "won": ["closed won"], "lost": ["Closed lost"]}
    marked = {"stages": pipeline, "won": ["Closed won"], "lost": ["Closed lost"]}
    assert send(client, "put", "stages", body).json() == marked
    assert send(client, "put", "stages", {"stages": pipeline}).json() == marked
    both = send(client, "put", "stages", body | {"lost": ["Closed won"]})
    assert both.status_code == 422
    assert both.json()["detail"] == [
        {"field": "lost", "message": "Won and lost both name closed won."}
    ]
    stray = send(client, "put", "stages", body | {"won": ["Signed"]})
    assert stray.status_code == 422
    assert "Won or lost is said of signed, which the list does not name." in stray.content.decode()
    assert send(client, "put", "stages", {"stages": pipeline, "won": []}).json()["lost"] == []
    assert client.get("/api/v1/settings/stages").json()["won"] == []


def test_it_declares_custom_fields_that_ingestion_then_accepts(crm: Crm, client):
    created = send(
        client,
        "post",
        "custom-fields",
        {"entity": "activity", "name": "region", "type": "choice", "choices": ["EMEA", "AMER"]},
    )
    assert created.status_code == 201
    records_upsert(
        tenant=crm.tenant, entity="activity", records=[crm.activity(attributes={"region": "emea"})]
    )
    clash = send(client, "post", "custom-fields", {"entity": "lead", "name": "status"}).json()
    assert clash["detail"][0] == {
        "field": "name",
        "message": "Every lead already has a field status.",
    }
    bad = send(client, "post", "custom-fields", {"entity": "lead", "name": "Bad Name"}).json()
    assert bad["detail"][0]["field"] == "name"


def test_settings_belong_to_the_tokens_tenant(crm: Crm):
    _, key = api_token_create(tenant=crm.personas.outsider.tenant, name="other")
    other = Client(headers={"Authorization": f"Bearer {key}"})
    names = {t["name"] for t in other.get("/api/v1/settings/activity-types").json()}
    assert names == {"Call", "Carrier pigeon"}
    assert other.get("/api/v1/settings/stages").json() == {
        "stages": ["Closing"],
        "won": [],
        "lost": [],
    }


def test_it_tells_an_importer_how_to_declare_an_unknown_stage_or_type(crm: Crm, client, tmp_path):
    answer = client.post(
        "/api/v1/opportunities",
        {"records": [crm.opportunity(stage="Won")]},
        content_type="application/json",
    ).json()
    assert answer["detail"][0]["field"] == "stage"
    assert answer["detail"][0]["message"].endswith(
        "an admin declares it first: Settings → Pipeline stages, manage.py declare_settings or "
        "PUT /api/v1/settings/stages"
    )
    path = tmp_path / "activities.csv"
    path.write_text(
        f"external_id,owner_email,type,occurred_at\nA-1,{crm.rep_email},Visit,2025-03-03\n"
    )
    with pytest.raises(CommandError) as failure:
        call_command("import_entities", "--tenant", crm.tenant.slug, "--entity", "activity", path)
    assert "line 2: type 'Visit' is not an activity type of this organization" in str(failure.value)
    assert "Settings → Activity types, manage.py declare_settings or POST" in str(failure.value)
