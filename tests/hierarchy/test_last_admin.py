"""A tenant always keeps an active admin: no path demotes or deactivates the last one."""

from __future__ import annotations

import html
import io

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from hierarchy.importer import MemberImportError, members_import
from hierarchy.models import Member
from hierarchy.services import api_token_create, member_update
from tests.conftest import Personas, client_for

pytestmark = pytest.mark.django_db

LAST = "is the organization's last active admin"


def role_of(member: Member) -> str:
    with scopes_disabled():
        return Member._tree_manager.get(pk=member.pk).role


def make_manager_the_only_admin(personas: Personas) -> Member:
    """The manager (who can be deactivated, unlike the top) becomes the tenant's one admin."""
    with scopes_disabled():
        Member._tree_manager.filter(pk=personas.manager.pk).update(role=Member.Role.ADMIN)
        Member._tree_manager.filter(pk=personas.admin.pk).update(role=Member.Role.MANAGER)
        return Member._tree_manager.get(pk=personas.manager.pk)


def test_it_refuses_to_demote_the_last_admin_in_the_edit_form(personas):
    client = client_for(personas.admin)
    response = client.post(
        reverse("member_edit", args=[personas.admin.pk]),
        {"name": personas.admin.name, "title": "", "role": "manager"},
    )
    assert response.status_code == 200
    assert LAST in html.unescape(response.content.decode())
    assert role_of(personas.admin) == "admin"


def test_it_lets_an_admin_step_down_once_another_admin_exists(personas):
    member_update(member=personas.manager, name="M", title="", role="admin")
    member_update(member=personas.admin, name="A", title="", role="manager")
    assert role_of(personas.admin) == "manager"


def test_it_refuses_to_deactivate_the_last_admin(personas):
    only_admin = make_manager_the_only_admin(personas)
    response = client_for(only_admin).post(
        reverse("member_deactivate", args=[only_admin.pk]), {"reports_to": ""}
    )
    assert LAST in html.unescape(response.content.decode())
    with scopes_disabled():
        assert Member._tree_manager.get(pk=only_admin.pk).is_active


def test_it_refuses_to_demote_the_last_admin_by_members_csv(personas):
    email = personas.admin.email
    text = f"email,name,role,reports_to,title\n{email},{personas.admin.name},rep,,\n"
    with pytest.raises(MemberImportError) as exc:
        members_import(tenant=personas.admin.tenant, file=io.StringIO(text))
    assert [str(p) for p in exc.value.problems] == [
        f"line 2: {personas.admin.name} ({email}) {LAST}: make another member an admin first"
    ]
    assert role_of(personas.admin) == "admin"


def test_it_accepts_a_csv_that_hands_the_admin_role_over(personas):
    admin, manager = personas.admin, personas.manager
    text = (
        "email,name,role,reports_to,title\n"
        f"{admin.email},{admin.name},manager,,\n"
        f"{manager.email},{manager.name},admin,{admin.email},\n"
    )
    members_import(tenant=admin.tenant, file=io.StringIO(text))
    assert (role_of(admin), role_of(manager)) == ("manager", "admin")


def test_it_refuses_to_demote_the_last_admin_by_the_api(personas):
    _, key = api_token_create(tenant=personas.admin.tenant, name="sync")
    record = {"email": personas.admin.email.upper(), "name": "Boss", "role": "manager"}
    response = Client(headers={"Authorization": f"Bearer {key}"}).post(
        "/api/v1/members", {"records": [record]}, content_type="application/json"
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["record"] == 0 and error["field"] == "role" and LAST in error["message"]
    assert role_of(personas.admin) == "admin"
