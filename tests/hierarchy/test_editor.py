from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import reverse
from django_scopes import scopes_disabled

from hierarchy.models import Member
from tests.conftest import client_for
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
ACTIONS = ["member_add", "member_edit", "member_move", "member_deactivate", "member_reactivate"]


def fresh(member: Member) -> Member:
    with scopes_disabled():
        return Member._tree_manager.get(pk=member.pk)


def grow(manager: Member, width: int, depth: int) -> None:
    if depth == 0:
        return
    for _ in range(width):
        grow(MemberFactory(reports_to=fresh(manager)), width, depth - 1)


@pytest.mark.parametrize("width", [2, 5])
def test_it_opens_the_editor_in_a_fixed_number_of_queries(
    personas, width, django_assert_max_num_queries
):
    grow(personas.admin, width, 3)
    client = client_for(personas.admin)
    with django_assert_max_num_queries(7):
        response = client.get(reverse("organization"))
    body = response.content.decode()
    assert personas.manager.name in body
    assert personas.rep.name not in body  # two levels down: loaded on demand


def test_it_loads_a_level_on_demand(personas):
    response = client_for(personas.admin).get(
        reverse("member_children", args=[personas.manager.pk]), **HTMX
    )
    assert personas.rep.name in response.content.decode()
    assert "<html" not in response.content.decode()


def test_it_searches_by_name_or_email_within_what_the_viewer_sees(personas):
    admin = client_for(personas.admin)
    body = admin.get(reverse("member_search"), {"q": personas.rep.email.upper()}, **HTMX)
    assert personas.rep.name in body.content.decode()
    manager = client_for(personas.manager)
    body = manager.get(reverse("member_search"), {"q": personas.admin.name}, **HTMX)
    assert "Nobody matches" in body.content.decode()


def test_it_adds_a_member_in_place_and_shows_the_password_link(personas):
    url = reverse("member_add", args=[personas.manager.pk])
    client = client_for(personas.admin)
    form = client.get(url, **HTMX).content.decode()
    assert 'name="email"' in form and "Add a report to" in form
    response = client.post(
        url,
        {"name": "Nina New", "email": "Nina@Example.com", "role": "rep", "title": "SDR"},
        **HTMX,
    )
    assert response["HX-Retarget"] == "#tree"
    body = response.content.decode()
    assert "Nina New" in body and "/password/set/" in body
    assert mail.outbox[0].to == ["nina@example.com"]
    with scopes_disabled():
        nina = Member.objects.get(user__email="nina@example.com")
    assert nina.reports_to_id == personas.manager.pk


def test_it_shows_errors_next_to_the_field(personas):
    url = reverse("member_add", args=[personas.manager.pk])
    response = client_for(personas.admin).post(
        url, {"name": "", "email": personas.rep.email, "role": "rep"}, **HTMX
    )
    assert response.status_code == 200 and "HX-Retarget" not in response
    body = response.content.decode()
    assert "This field is required." in body
    assert f"{personas.rep.email} is already a member of this organization." in body
    assert body.count('class="field has-error"') == 2


def test_it_moves_a_team_and_refuses_a_move_into_it(personas):
    other = MemberFactory(role=Member.Role.MANAGER, reports_to=personas.admin)
    client = client_for(personas.admin)
    url = reverse("member_move", args=[personas.manager.pk])
    refused = client.post(url, {"reports_to": personas.rep.email}, **HTMX).content.decode()
    assert "cannot report to" in refused and "who is in their team" in refused
    unknown = client.post(url, {"reports_to": "ghost@example.com"}, **HTMX).content.decode()
    assert "Nobody in your organization has the email ghost@example.com" in unknown
    moved = client.post(url, {"reports_to": other.email}, **HTMX)
    assert moved["HX-Retarget"] == "#tree"
    assert "Moved" in moved.content.decode() and "team of 1" in moved.content.decode()
    assert fresh(personas.manager).reports_to_id == other.pk
    assert fresh(personas.rep).level == 3


def test_it_edits_deactivates_and_reactivates(personas):
    client = client_for(personas.admin)
    client.post(
        reverse("member_edit", args=[personas.rep.pk]),
        {"name": "Rita", "title": "AE", "role": "rep"},
        **HTMX,
    )
    assert fresh(personas.rep).name == "Rita"
    client.post(
        reverse("member_deactivate", args=[personas.manager.pk]), {"reports_to": ""}, **HTMX
    )
    assert not fresh(personas.manager).is_active
    assert fresh(personas.rep).reports_to_id == personas.admin.pk
    client.post(reverse("member_reactivate", args=[personas.manager.pk]), **HTMX)
    assert fresh(personas.manager).is_active


def test_it_redirects_without_htmx(personas):
    client = client_for(personas.admin)
    response = client.post(
        reverse("member_edit", args=[personas.rep.pk]), {"name": "Rita", "title": "", "role": "rep"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("organization")
    assert "Saved Rita." in client.get(reverse("organization")).content.decode()


def test_it_flags_a_rep_with_reports(personas):
    MemberFactory(reports_to=personas.rep)
    client = client_for(personas.admin)
    body = client.get(reverse("member_children", args=[personas.manager.pk]), **HTMX)
    assert "Rep with reports" in body.content.decode()


def test_it_lets_managers_read_but_not_edit(personas):
    manager = client_for(personas.manager)
    page = manager.get(reverse("organization")).content.decode()
    assert personas.rep.name in page and "Add report" not in page and "read-only" in page
    for action in ACTIONS:
        url = reverse(action, args=[personas.rep.pk])
        assert manager.get(url).status_code == 403, action
        assert manager.post(url, {"name": "x"}).status_code == 403, action
        assert manager.post(reverse(action, args=[personas.admin.pk])).status_code == 404
    assert manager.get(reverse("members_import")).status_code == 403
    assert manager.get(reverse("members_export")).status_code == 403
    assert fresh(personas.rep).name != "x"


def test_it_imports_an_upload_and_lists_problems_by_line(personas):
    client = client_for(personas.admin)
    bad = b"email,name,role,reports_to,title\nn@example.com,N,chief,nobody@example.com,\n"
    response = client.post(reverse("members_import"), {"file": SimpleUploadedFile("org.csv", bad)})
    body = response.content.decode()
    assert "Nothing was imported" in body
    assert "Line 2: role &#x27;chief&#x27; is not one of admin, manager, rep" in body
    assert "Line 2: unknown manager nobody@example.com" in body
    good = f"email,name,role,reports_to,title\nn@example.com,N,rep,{personas.rep.email},\n"
    response = client.post(
        reverse("members_import"), {"file": SimpleUploadedFile("org.csv", good.encode())}
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert Member.objects.get(user__email="n@example.com").reports_to_id == personas.rep.pk


def test_it_exports_the_organization(personas):
    response = client_for(personas.admin).get(reverse("members_export"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[0] == "email,name,role,reports_to,title,sales_role"
    assert f"{personas.rep.email},{personas.rep.name},rep,{personas.manager.email},," in lines
    assert personas.outsider.email not in response.content.decode()


def test_the_member_count_follows_an_add_and_groups_thousands(personas):
    url = reverse("member_add", args=[personas.manager.pk])
    new = {"name": "Nina New", "email": "nina@example.com", "role": "rep", "title": ""}
    body = client_for(personas.admin).post(url, new, **HTMX).content.decode()
    assert '<p id="member-count" class="muted" hx-swap-oob="true">4 active members.</p>' in body
    assert client_for(personas.outsider).post(url, new, **HTMX).status_code == 404
    page = render_to_string(
        "hierarchy/organization.html#member-count", {"member_count": 20000, "member": None}
    )
    assert "20,000 active members" in page
