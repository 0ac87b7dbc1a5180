from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from hierarchy.models import AuditEntry
from hierarchy.services import api_token_create, member_move, member_update
from tests.conftest import client_for
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def entries(action: str) -> list[AuditEntry]:
    with scopes_disabled():
        return list(AuditEntry.objects.filter(action=action).select_related("actor"))


def test_it_records_a_move_with_before_and_after(personas):
    other = MemberFactory(reports_to=personas.admin)
    member_move(member=personas.rep, reports_to=other, actor=personas.admin)
    (entry,) = entries("member.move")
    assert entry.actor == personas.admin and entry.target_id == personas.rep.pk
    assert entry.changes() == [("reports_to", personas.manager.email, other.email)]


def test_it_records_edits_made_in_the_editor_by_the_admin(personas):
    client_for(personas.admin).post(
        reverse("member_edit", args=[personas.rep.pk]),
        {"name": "Rita", "title": "AE", "role": "manager"},
        **HTMX,
    )
    (entry,) = entries("member.edit")
    assert entry.actor_label == f"{personas.admin.name} <{personas.admin.email}>"
    assert {f: (b, a) for f, b, a in entry.changes()} == {
        "name": (personas.rep.name, "Rita"),
        "title": ("", "AE"),
        "role": ("rep", "manager"),
    }


def test_it_records_changes_without_a_member_by_label(personas):
    api_token_create(tenant=personas.admin.tenant, name="ETL", actor="command line")
    (entry,) = entries("api_token.create")
    assert entry.actor is None and entry.actor_label == "command line"


def test_admins_read_their_own_tenants_log_only(personas):
    member_update(member=personas.rep, name="Rita", title="", role="rep", actor=personas.admin)
    member_update(
        member=personas.outsider, name="Secret", title="", role="admin", actor=personas.outsider
    )
    page = client_for(personas.admin).get(reverse("audit_log")).content.decode()
    assert "Rita" in page and "Secret" not in page
    assert f"{personas.admin.name} edited the profile of Rita." in page
    assert "member.edit" not in page
    assert client_for(personas.manager).get(reverse("audit_log")).status_code == 403
    assert "Rita" not in client_for(personas.outsider).get(reverse("audit_log")).content.decode()


def test_it_shows_times_in_the_tenants_time_zone(personas):
    member_update(member=personas.rep, name="Rita", title="", role="rep", actor=personas.admin)
    (entry,) = entries("member.edit")
    local = entry.created_at.astimezone(ZoneInfo("Europe/Berlin"))
    page = client_for(personas.admin).get(reverse("audit_log")).content.decode()
    assert local.strftime("%-d %b %Y, %H:%M") in page
