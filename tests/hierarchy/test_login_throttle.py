"""Login throttling: five failures lock that email out from that address for a while."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import Personas
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def attempt(client: Client, email: str, password: str) -> int:
    return client.post("/login/", {"username": email, "password": password}).status_code


def test_five_failures_lock_out_even_the_right_password(personas: Personas) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9")
    email = personas.rep.email
    assert [attempt(client, email, "wrong") for _ in range(5)][-1] in (200, 429)
    response = client.post("/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    other_member = Client(REMOTE_ADDR="203.0.113.9")
    assert attempt(other_member, personas.manager.email, PASSWORD) == 302  # others unaffected


def test_a_success_resets_the_count(personas: Personas) -> None:
    client = Client(REMOTE_ADDR="203.0.113.10")
    email = personas.rep.email
    for _ in range(4):
        assert attempt(client, email, "wrong") == 200
    assert attempt(client, email, PASSWORD) == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, email, "wrong") == 200
    assert attempt(client, email, PASSWORD) == 302


def test_it_locks_out_every_spelling_of_the_email(personas: Personas) -> None:
    client = Client(REMOTE_ADDR="203.0.113.11")
    email = personas.manager.email
    spellings = [email, email.upper(), email.capitalize(), f"  {email.title()} "]
    for spelling in spellings[:3]:
        attempt(client, spelling, "wrong")
        attempt(client, spelling, "wrong")
    assert attempt(client, spellings[3], PASSWORD) == 429
    assert attempt(client, email, PASSWORD) == 429
