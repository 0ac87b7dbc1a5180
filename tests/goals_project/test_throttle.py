"""API rate limits: per token and per address, and failed authentications per address before
any token is looked up; 429 with Retry-After, documented in the schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from unittest import mock

import pytest
from django.test import Client

from hierarchy.services import api_token_create
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

NOW = 1_800_000_015.0  # 15 s into a minute: 45 s are left of it


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    """Every request of a test falls in the same minute."""
    with mock.patch("goals_project.throttle.time") as clock:
        clock.time.return_value = NOW
        yield


def an_address() -> str:
    """An address no other test (or run, with Redis) has used."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def get(client: Client, token: str) -> int:
    return client.get("/api/v1/members", headers={"Authorization": f"Bearer {token}"}).status_code


def test_it_answers_429_to_bad_tokens_past_the_limit_without_looking_them_up(settings):
    client = Client(REMOTE_ADDR=an_address())
    with mock.patch("goals_project.api.api_token_authenticate", return_value=None) as lookup:
        answers = [get(client, f"gk_bad{n}") for n in range(300)]
    limit = settings.API_FAILED_AUTH_LIMIT_PER_ADDRESS
    assert answers == [401] * limit + [429] * (300 - limit)
    assert lookup.call_count == limit
    response = client.get("/api/v1/members", headers={"Authorization": "Bearer gk_bad"})
    assert response.status_code == 429 and response["Retry-After"] == "45"
    assert response.json() == {
        "detail": f"Too many failed authentications from this address: at most {limit} a minute."
    }


def test_it_limits_requests_per_token(settings, personas: Personas):
    settings.API_RATE_LIMIT_PER_TOKEN = 5
    _, key = api_token_create(tenant=personas.admin.tenant, name="CRM")
    _, other = api_token_create(tenant=personas.admin.tenant, name="ERP")
    answers = [get(Client(REMOTE_ADDR=an_address()), key) for _ in range(7)]
    assert answers == [200] * 5 + [429] * 2
    assert get(Client(REMOTE_ADDR=an_address()), other) == 200


def test_it_limits_requests_per_address(settings, personas: Personas):
    settings.API_RATE_LIMIT_PER_ADDRESS = 3
    keys = [api_token_create(tenant=personas.admin.tenant, name=f"t{n}")[1] for n in range(5)]
    client = Client(REMOTE_ADDR=an_address())
    assert [get(client, key) for key in keys] == [200, 200, 200, 429, 429]
    assert get(Client(REMOTE_ADDR=an_address()), keys[0]) == 200


def test_it_leaves_pages_alone(settings, personas: Personas):
    settings.API_RATE_LIMIT_PER_ADDRESS = 1
    client = Client(REMOTE_ADDR=an_address())
    assert [client.get("/login/").status_code for _ in range(3)] == [200] * 3


def test_it_lets_requests_through_when_the_cache_is_down(personas: Personas, caplog):
    _, key = api_token_create(tenant=personas.admin.tenant, name="CRM")
    with mock.patch("goals_project.throttle.cache.get", side_effect=ConnectionError("down")):
        assert get(Client(REMOTE_ADDR=an_address()), key) == 200
    assert "API throttle unavailable" in caplog.text


def test_the_schema_documents_429_with_retry_after():
    schema = Client().get("/api/v1/openapi.json").json()
    for operations in schema["paths"].values():
        for operation in operations.values():
            answer = operation["responses"]["429"]
            assert "Retry-After" in answer["headers"]
