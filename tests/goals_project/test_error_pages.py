"""Styled 403, 404 and 500 pages with the navigation, and a favicon that never answers 404."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django_scopes import scope

from goals_project.views import server_error
from rulesets.models import Ruleset
from tests.conftest import Personas, client_for

pytestmark = pytest.mark.django_db
NAV = 'aria-label="Main"'


@pytest.fixture(autouse=True)
def _production(settings) -> None:
    settings.DEBUG = False  # Django shows its technical pages, not ours, with DEBUG on


def test_it_answers_404_with_the_navigation(personas: Personas):
    response = client_for(personas.admin).get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body and NAV in body and "Rulesets" in body
    assert 'rel="icon"' in body


def test_it_answers_404_with_the_same_page_for_another_tenants_object(personas: Personas):
    tenant = personas.admin.tenant
    with scope(tenant=tenant):
        ruleset = Ruleset.objects.create(tenant=tenant, name="Calls")
    url = reverse("ruleset_edit", args=[ruleset.pk])
    response = client_for(personas.outsider).get(url)
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body and NAV in body and "Calls" not in body


def test_it_answers_404_to_a_visitor_without_a_login_without_navigation():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body and NAV not in body


def test_it_answers_403_with_the_navigation_and_the_role(personas: Personas):
    response = client_for(personas.rep).get(reverse("ruleset_list"))
    assert response.status_code == 403
    body = response.content.decode()
    assert "Not allowed" in body and NAV in body
    assert f"signed in as {personas.rep.name} (rep)" in body
    assert "Assigned to me" in body and "Rulesets" not in body


def test_it_answers_500_with_the_navigation(personas: Personas):
    request = RequestFactory().get("/broken/")
    request.user, request.member = personas.admin.user, personas.admin
    request.tenant = personas.admin.tenant
    response = server_error(request)
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body and NAV in body and personas.admin.name in body


def test_it_renders_the_500_page_without_any_context():
    body = render_to_string("500.html")
    assert "Something went wrong" in body and NAV not in body


def test_it_falls_back_to_the_bare_500_page_when_the_layout_fails(personas: Personas):
    class Broken:
        @property
        def name(self) -> str:
            raise RuntimeError("the member cannot be read")

    request = RequestFactory().get("/broken/")
    request.user, request.member = personas.admin.user, Broken()
    request.tenant = personas.admin.tenant
    response = server_error(request)
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_it_sends_the_favicon_instead_of_a_404():
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith(".svg")
    assert finders.find("favicon.svg") is not None  # collectstatic ships it
