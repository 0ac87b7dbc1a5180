"""An email is one login per tenant: tenant B adding an address that is tenant A's member is
told exactly what it would be told of an address never seen, and gets a login of its own."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from hierarchy.importer import members_import
from hierarchy.models import Member
from hierarchy.services import api_token_create
from tests.conftest import Personas, client_for
from tests.factories import PASSWORD, MemberFactory

pytestmark = pytest.mark.django_db


def logins_of(email: str) -> list[str]:
    with scopes_disabled():
        users = get_user_model()._default_manager.filter(email=email).order_by("pk")
        return [user.member.tenant.name for user in users]


def add_in_form(personas: Personas, email: str) -> str:
    response = client_for(personas.outsider).post(
        reverse("member_add", args=[personas.outsider.pk]),
        {"name": "Ana", "email": email, "role": "rep"},
        follow=True,
    )
    return response.content.decode().replace(email, "EMAIL")


def test_it_answers_another_tenants_email_as_a_new_one_in_the_form(personas):
    new = add_in_form(personas, "never.seen@example.com")
    taken = add_in_form(personas, personas.rep.email)
    assert "Added Ana under" in taken
    assert taken.split("Added Ana")[1][:40] == new.split("Added Ana")[1][:40]
    assert logins_of(personas.rep.email) == ["Acme", "Globex"]


def test_it_imports_another_tenants_email_as_a_separate_login(personas):
    row = f"{personas.rep.email},Ana,rep,{personas.outsider.email},"
    text = f"email,name,role,reports_to,title\n{row}\n"
    result = members_import(tenant=personas.outsider.tenant, file=io.StringIO(text))
    assert result.created == 1
    assert logins_of(personas.rep.email) == ["Acme", "Globex"]


def test_it_upserts_another_tenants_email_by_the_api_as_a_separate_login(personas):
    _, key = api_token_create(tenant=personas.outsider.tenant, name="sync")
    record = {"email": personas.rep.email, "name": "Ana", "reports_to": personas.outsider.email}
    response = Client(headers={"Authorization": f"Bearer {key}"}).post(
        "/api/v1/members", {"records": [record]}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["created"] == 1
    assert logins_of(personas.rep.email) == ["Acme", "Globex"]


def test_each_login_of_one_email_opens_its_own_tenant(personas):
    email = personas.rep.email
    MemberFactory(reports_to=personas.outsider, email=email, password="other-secret-91")
    for password, tenant in ((PASSWORD, "Acme"), ("other-secret-91", "Globex")):
        client = Client()
        client.post(reverse("login"), {"username": email, "password": password})
        with scopes_disabled():
            assert Member.objects.get(user_id=client.session["_auth_user_id"]).tenant.name == tenant


def test_it_still_refuses_an_email_of_its_own_tenant(personas):
    body = add_in_form(personas, personas.outsider.email)
    assert "EMAIL is already a member of this organization." in body
