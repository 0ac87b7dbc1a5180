"""Requests over the size limits answer 413 with the limit named, and write nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django_scopes import scope

from crm.models import Activity
from hierarchy.services import api_token_create
from tests.conftest import Personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(personas: Personas) -> Client:
    _, key = api_token_create(tenant=personas.admin.tenant, name="limits")
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_more_than_1000_records_is_413_with_the_limit(api: Client, personas: Personas) -> None:
    records = [{"external_id": f"a{n}", "owner_email": personas.rep.email, "type": "Call",
                "occurred_at": "2027-01-04T10:00"} for n in range(1001)]  # fmt: skip
    response = api.post("/api/v1/activities", {"records": records}, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {
        "detail": "A request takes at most 1,000 records; this one has 1,001."
    }
    members = [{"email": f"p{n}@example.com", "name": "P"} for n in range(1001)]
    assert api.post("/api/v1/members", {"records": members},
                    content_type="application/json").status_code == 413  # fmt: skip
    with scope(tenant=personas.admin.tenant):
        assert not Activity.objects.exists()


def test_other_validation_errors_stay_422(api: Client) -> None:
    response = api.post("/api/v1/activities", {"records": "nope"}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "records"


def test_a_body_over_5_mb_is_413_before_it_is_read(api: Client) -> None:
    body = json.dumps({"records": [], "padding": "x" * (5 * 1024 * 1024)})
    response = api.post("/api/v1/activities", body, content_type="application/json")
    assert response.status_code == 413
    assert "larger than 5 MB" in response.json()["detail"]
    page = Client().post("/login/", {"email": "x" * (5 * 1024 * 1024)})
    assert page.status_code == 413 and b"larger than 5 MB" in page.content


def test_nul_characters_are_refused_with_422_and_written_nowhere(
    api: Client, personas: Personas
) -> None:
    record = {"external_id": "a\u0000b", "owner_email": personas.rep.email, "type": "Call",
              "occurred_at": "2027-01-04T10:00"}  # fmt: skip
    response = api.post(
        "/api/v1/activities", {"records": [record]}, content_type="application/json"
    )
    assert response.status_code == 422
    assert "NUL" in response.json()["detail"]
    assert api.get("/api/v1/activities", {"owner_email": "a\x00"}).status_code == 422
    name = "Backslash \\u0000 Text"  # a backslash and "u0000", not a NUL
    body = json.dumps({"records": [{"email": "ok@example.com", "name": name,
                                    "reports_to": personas.admin.email}]})  # fmt: skip
    assert "\\\\u0000" in body
    assert api.post("/api/v1/members", body, content_type="application/json").status_code == 200


@pytest.mark.parametrize(
    "text",
    [
        '"\\ud800"',  # a lone high surrogate
        '"x\\udc00"',  # a lone low one
        '"\\ud800\\u0041"',  # a high one followed by something else
        '"\\\\\\ud800"',  # after an escaped backslash, still an escape
    ],
)
def test_a_lone_surrogate_in_json_is_refused_with_422(
    api: Client, personas: Personas, text: str
) -> None:
    body = '{"records": [{"email": "ok@example.com", "name": NAME}]}'.replace("NAME", text)
    response = api.post("/api/v1/members", body, content_type="application/json")
    assert response.status_code == 422
    assert "surrogate" in response.json()["detail"]
    raw = b'{"records": [{"email": "ok@example.com", "name": "x"}]}'
    raw = raw.replace(b'"x"', b'"\xed\xa0\x80"')  # the same as raw (invalid) UTF-8
    assert api.post("/api/v1/members", raw, content_type="application/json").status_code == 422


def test_a_surrogate_pair_and_a_text_backslash_are_accepted(
    api: Client, personas: Personas
) -> None:
    for name in ('"\\ud83d\\ude00 Smile"', '"Backslash \\\\ud800 text"'):
        record = '{"email": "ok@example.com", "name": NAME, "reports_to": "BOSS"}'
        record = record.replace("NAME", name).replace("BOSS", personas.admin.email)
        body = '{"records": [%s]}'.replace("%s", record)
        response = api.post("/api/v1/members", body, content_type="application/json")
        assert response.status_code == 200, response.content


def test_a_nul_in_a_pages_query_string_is_refused_with_422(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.admin.user)
    response = client.get("/organization/search/?q=%00")
    assert response.status_code == 422 and b"NUL" in response.content
