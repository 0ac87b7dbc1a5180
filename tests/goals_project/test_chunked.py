"""Chunked request bodies under a real gunicorn: refused with 411, so no body is ever read as
empty and none escapes the size limit."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from hierarchy.services import api_token_create
from tests.conftest import Personas
from tests.processes import gunicorn  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def post_chunked(url: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("POST", path, body=iter([body[:10], body[10:]]), headers=headers,
                     encode_chunked=True)  # fmt: skip
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_it_refuses_a_chunked_api_body_with_411(
    personas: Personas,
    gunicorn,  # noqa: F811
) -> None:
    _, key = api_token_create(tenant=personas.admin.tenant, name="CRM")
    url = gunicorn()
    record = {"external_id": "c1", "owner_email": personas.rep.email, "type": "Call",
              "occurred_at": "2027-01-04T10:00"}  # fmt: skip
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
               "Transfer-Encoding": "chunked"}  # fmt: skip
    body = json.dumps({"records": [record]}).encode()
    status, content = post_chunked(url, "/api/v1/activities", body, headers)
    assert status == 411, content
    assert json.loads(content) == {
        "detail": "Send the body with a Content-Length header: chunked bodies are not accepted."
    }


def test_it_refuses_a_chunked_form_with_411(gunicorn) -> None:  # noqa: F811
    url = gunicorn()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Transfer-Encoding": "chunked"}
    status, content = post_chunked(url, "/login/", b"username=a%40b.c&password=x", headers)
    assert status == 411
    assert b"Content-Length" in content
