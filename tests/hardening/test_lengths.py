"""Every length the database enforces is checked first, by the same validator on every path:
emails up to 254 characters are logins (form, CSV, API), longer ones and names over their
column are refused by field, never a 500."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from goals.models import Goal
from hierarchy.importer import MemberImportError, members_import
from hierarchy.models import Member
from hierarchy.services import api_token_create
from rulesets.models import Ruleset
from tests.conftest import Org, Personas, client_for

pytestmark = pytest.mark.django_db


def email_of(length: int, tag: str = "") -> str:
    domain = "@example.com"
    return f"{tag}{'a' * (length - len(domain) - len(tag))}{domain}"


def api_for(personas: Personas) -> Client:
    _, key = api_token_create(tenant=personas.admin.tenant, name="sync")
    return Client(headers={"Authorization": f"Bearer {key}"})


def stored(email: str) -> bool:
    with scopes_disabled():
        return Member.objects.filter(user__email=email).exists()


@pytest.mark.parametrize("length", [151, 200, 254])
def test_it_accepts_a_long_email_on_every_path_and_logs_it_in(personas, length) -> None:
    by_form, by_csv, by_api = (email_of(length, tag) for tag in ("f", "c", "p"))
    client_for(personas.admin).post(
        reverse("member_add", args=[personas.admin.pk]),
        {"name": "Form", "email": by_form, "role": "rep"},
    )
    text = f"email,name,role,reports_to,title\n{by_csv},Csv,rep,{personas.admin.email},\n"
    members_import(tenant=personas.admin.tenant, file=io.StringIO(text))
    record = {"email": by_api, "name": "Api", "reports_to": personas.admin.email}
    response = api_for(personas).post(
        "/api/v1/members", {"records": [record]}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert all(stored(email) for email in (by_form, by_csv, by_api))
    with scopes_disabled():
        user = get_user_model()._default_manager.get(email=by_form)
    user.set_password("a-long-secret-phrase")
    user.save()
    login = Client().post(
        reverse("login"), {"username": by_form, "password": "a-long-secret-phrase"}
    )
    assert login.status_code == 302


def test_it_refuses_an_email_over_254_characters_by_field_on_every_path(personas) -> None:
    email = email_of(255)
    page = client_for(personas.admin).post(
        reverse("member_add", args=[personas.admin.pk]),
        {"name": "Form", "email": email, "role": "rep"},
    )
    assert "is longer than 254 characters" in page.content.decode()
    text = f"email,name,role,reports_to,title\n{email},Csv,rep,{personas.admin.email},\n"
    with pytest.raises(MemberImportError) as refused:
        members_import(tenant=personas.admin.tenant, file=io.StringIO(text))
    assert [(p.line, p.field) for p in refused.value.problems] == [(2, "email")]
    record = {"email": email, "name": "Api", "reports_to": personas.admin.email}
    response = api_for(personas).post(
        "/api/v1/members", {"records": [record]}, content_type="application/json"
    )
    assert response.status_code == 422
    assert [(p["record"], p["field"]) for p in response.json()["detail"]] == [(0, "email")]
    assert not stored(email)


def test_the_goals_api_refuses_a_name_over_its_column(org: Org) -> None:
    body = {
        "name": "x" * 201,
        "ruleset": org.ruleset.pk,
        "team": org.east.email,
        "cycle": "monthly",
        "start": org.today.isoformat(),
        "end": (org.today + timedelta(days=40)).isoformat(),
        "targets": {"dialled_calls": 10},
    }
    response = api_for(org.personas).post("/api/v1/goals", body, content_type="application/json")
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == ["name"]
    with scopes_disabled():
        assert not Goal.objects.exists()


RULE = {"key": "calls", "entity": "activity", "aggregation": "count"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 201, "rules": [RULE]}, "name"),
        ({"name": "Calls", "rules": [RULE | {"name": "y" * 201}]}, "name"),
        ({"name": "Calls", "rules": []}, "rules"),
    ],
)
def test_the_rulesets_api_refuses_long_names_and_no_rules(personas, body, field) -> None:
    response = api_for(personas).post("/api/v1/rulesets", body, content_type="application/json")
    assert response.status_code == 422, response.content
    assert [p["field"] for p in response.json()["detail"]] == [field]
    with scopes_disabled():
        assert not Ruleset.objects.filter(name__in=["Calls", "x" * 201]).exists()
