"""Every response carries the Content-Security-Policy and Permissions-Policy, and no template
needs more than the policy allows (no inline script, event handler or hx-on)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import Personas, client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/login/", 200),
        ("/", 302),
        ("/no-such-page/", 404),
        ("/healthz", None),
        ("/api/v1/members", 401),
        ("/api/v1/openapi.json", 200),
        ("/api/v1/docs", 200),
    ],
)
def test_it_sends_both_policies_on_every_response(path, status):
    response = Client().get(path)
    assert status is None or response.status_code == status
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert response["Permissions-Policy"] == settings.PERMISSIONS_POLICY


def test_it_sends_them_on_pages_of_a_logged_in_member_too(personas: Personas):
    response = client_for(personas.admin).get("/organization/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"].startswith("default-src 'self'")


def test_the_policy_allows_no_inline_script_and_no_eval():
    directives = {
        part.split()[0]: part.split()[1:] for part in settings.CONTENT_SECURITY_POLICY.split("; ")
    }
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert "camera=()" in settings.PERMISSIONS_POLICY


INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=|hx-on|<style", re.IGNORECASE)


def test_no_template_has_an_inline_script_handler_or_style_element():
    found = [
        f"{path.relative_to(settings.BASE_DIR)}: {match.group(0)}"
        for path in (settings.BASE_DIR / "templates").rglob("*.html")
        for match in INLINE.finditer(path.read_text())
    ]
    assert found == []
