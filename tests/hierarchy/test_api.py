from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from hierarchy.models import ApiToken, Member
from hierarchy.services import api_token_create, api_token_revoke
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/members"


def api_client(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def keys(personas):
    _, key_a = api_token_create(tenant=personas.admin.tenant, name="CRM sync")
    _, key_b = api_token_create(tenant=personas.outsider.tenant, name="Other")
    return key_a, key_b


def post(client: Client, records: list[dict], **params: str):
    query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    return client.post(URL + query, {"records": records}, content_type="application/json")


def test_it_refuses_requests_without_a_valid_token(keys):
    assert Client().get(URL).status_code == 401
    assert api_client("gk_not-a-token").get(URL).status_code == 401


def test_it_lists_only_the_tokens_tenant(personas, keys):
    key_a, key_b = keys
    body = api_client(key_a).get(URL).json()
    assert body["count"] == 3
    assert [m["email"] for m in body["items"]] == [
        personas.admin.email,
        personas.manager.email,
        personas.rep.email,
    ]
    assert body["items"][2]["reports_to"] == personas.manager.email
    outsider = api_client(key_b).get(URL).json()
    assert [m["email"] for m in outsider["items"]] == [personas.outsider.email]


def test_it_upserts_members_and_is_idempotent(personas, keys):
    client = api_client(keys[0])
    records = [
        {
            "email": "new@example.com",
            "name": "New",
            "role": "rep",
            "reports_to": personas.rep.email,
        },
        {"email": personas.rep.email, "name": "Renamed", "reports_to": personas.manager.email},
    ]
    first = post(client, records)
    assert first.status_code == 200, first.content
    assert first.json() | {"rejected": []} == {
        "created": 1,
        "updated": 1,
        "moved": 0,
        "unchanged": 0,
        "rejected": [],
    }
    again = post(client, records).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    with scopes_disabled():
        new = Member.objects.get(user__email="new@example.com")
    assert new.reports_to_id == personas.rep.pk and new.tenant_id == personas.rep.tenant_id


def test_it_answers_422_naming_every_bad_record_and_field(personas, keys):
    records = [
        {"email": "ok@example.com", "name": "Ok", "reports_to": personas.admin.email},
        {"email": "bad", "name": "", "role": "boss", "reports_to": personas.admin.email},
        {"email": "x@example.com", "name": "X", "reports_to": personas.outsider.email},
    ]
    response = post(api_client(keys[0]), records)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"record": 1, "field": "email", "message": "email 'bad' is not a valid email address"},
        {"record": 1, "field": "name", "message": "name is empty"},
        {"record": 1, "field": "role", "message": "role 'boss' is not one of admin, manager, rep"},
        {
            "record": 2,
            "field": "reports_to",
            "message": f"unknown manager {personas.outsider.email}",
        },
    ]
    with scopes_disabled():
        assert not Member.objects.filter(user__email="ok@example.com").exists()


def test_it_applies_the_valid_records_in_partial_mode(personas, keys):
    records = [
        {"email": "boss@example.com", "name": "", "reports_to": personas.admin.email},
        {"email": "ok@example.com", "name": "Ok", "reports_to": personas.admin.email},
        {"email": "under@example.com", "name": "Under", "reports_to": "boss@example.com"},
    ]
    response = post(api_client(keys[0]), records, partial="true")
    assert response.status_code == 200
    body = response.json()
    assert body["created"] == 1
    assert [(r["record"], r["field"]) for r in body["rejected"]] == [
        (0, "name"),
        (2, "reports_to"),
    ]
    with scopes_disabled():
        assert Member.objects.filter(user__email="ok@example.com").exists()


def test_it_refuses_more_than_1000_records(keys):
    records = [{"email": f"p{i}@example.com", "name": "P"} for i in range(1001)]
    assert post(api_client(keys[0]), records).status_code == 413


def _token(**lookup: object) -> ApiToken:
    with scopes_disabled():
        return ApiToken.objects.select_related("tenant").get(**lookup)


def test_a_revoked_token_is_refused(personas, keys):
    token = _token(name="CRM sync")
    api_token_revoke(token=token)
    assert api_client(keys[0]).get(URL).status_code == 401


def test_it_records_when_a_token_was_last_used(keys):
    api_client(keys[0]).get(URL)
    token = _token(name="CRM sync")
    assert token.last_used_at is not None


def test_it_stores_only_a_hash_of_the_key(keys):
    token = _token(name="CRM sync")
    assert keys[0] not in (token.key_hash, token.key_hint)
    assert keys[0].startswith(token.key_hint)


def test_admins_create_and_revoke_tokens_in_the_browser(personas):
    admin = client_for(personas.admin)
    page = admin.post(reverse("api_tokens"), {"name": "Zapier"}).content.decode()
    assert "Copy this token now" in page
    key = page.split('<code class="secret">')[1].split("<")[0]
    assert api_client(key).get(URL).status_code == 200
    token = _token(name="Zapier")
    response = admin.post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert api_client(key).get(URL).status_code == 401
    assert "Copy this token now" not in admin.get(reverse("api_tokens")).content.decode()


def test_token_pages_are_for_admins_of_the_tenant_only(personas, keys):
    token = _token(name="CRM sync")
    assert client_for(personas.manager).get(reverse("api_tokens")).status_code == 403
    outsider = client_for(personas.outsider)
    assert "CRM sync" not in outsider.get(reverse("api_tokens")).content.decode()
    assert outsider.post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    assert _token(pk=token.pk).is_active


def test_the_command_prints_a_working_key(personas):
    out = StringIO()
    call_command(
        "create_api_token",
        f"--tenant={personas.admin.tenant.slug}",
        "--name=ETL",
        stdout=out,
        stderr=StringIO(),
    )
    key = out.getvalue().strip()
    assert api_client(key).get(URL).json()["count"] == 3


def test_the_schema_and_docs_are_served():
    schema = Client().get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/members" in schema.json()["paths"]
    assert Client().get("/api/v1/docs").status_code == 200
