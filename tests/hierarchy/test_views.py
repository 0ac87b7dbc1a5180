from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.conftest import client_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_shows_navigation_fitting_the_role(personas):
    body = client_for(personas.rep).get(reverse("assigned_to_me")).content.decode()
    assert "Assigned to me" in body
    assert personas.rep.name in body and personas.rep.tenant.name in body
    for hidden in ("My team", "Rulesets", "Organization"):
        assert f">{hidden}</a>" not in body
    body = client_for(personas.admin).get(reverse("assigned_to_me")).content.decode()
    for shown in ("Assigned to me", "My team", "Goals", "Rulesets", "Organization"):
        assert f">{shown}</a>" in body


def test_it_shows_an_honest_empty_state(personas):
    body = client_for(personas.rep).get(reverse("assigned_to_me")).content.decode()
    assert "No goals in progress" in body


def test_it_shows_managers_only_their_subtree(personas):
    manager = client_for(personas.manager)
    body = manager.get(reverse("organization")).content.decode()
    assert personas.rep.name in body and personas.admin.name not in body


def test_it_lists_direct_reports_on_my_team(personas):
    body = client_for(personas.manager).get(reverse("my_team")).content.decode()
    assert personas.rep.name in body


def test_it_logs_in_by_email_in_any_case(personas):
    client = Client()
    response = client.post(
        reverse("login"), {"username": personas.rep.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("assigned_to_me")).status_code == 200


def test_it_explains_a_failed_login(personas):
    response = Client().post(reverse("login"), {"username": personas.rep.email, "password": "no"})
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()


def test_it_logs_out(personas):
    client = client_for(personas.rep)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("assigned_to_me")).status_code == 302


def test_it_tells_a_user_without_a_member_so():
    user = get_user_model().objects.create_user("loner", "loner@example.com", PASSWORD)
    client = Client()
    client.force_login(user)
    response = client.get(reverse("assigned_to_me"))
    assert response.status_code == 403
    assert "not part of an organization" in response.content.decode()


def test_it_sends_platform_staff_to_the_admin(personas):
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", PASSWORD)
    client = Client()
    client.force_login(staff)
    response = client.get(reverse("assigned_to_me"))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    page = client.get(reverse("admin:hierarchy_member_changelist"))
    assert page.status_code == 200
    assert personas.rep.name in page.content.decode()
