from __future__ import annotations

import re
from pathlib import Path

from django_scopes import scopes_disabled
from playwright.sync_api import Page, expect

from hierarchy.models import Member
from tests.factories import PASSWORD, MemberFactory


def log_in(page: Page, base_url: str, member: Member) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))  # on the landing page of their role


def test_it_adds_a_member_and_moves_a_team_without_a_reload(
    live_server, page: Page, personas, screenshot_dir
):
    other = MemberFactory(role=Member.Role.MANAGER, reports_to=personas.admin, name="Olga Other")
    log_in(page, live_server.url, personas.admin)
    page.goto(f"{live_server.url}/organization/")
    page.evaluate("window.__sameDocument = true")

    manager_row = page.locator(f"#node-{personas.manager.pk} > .node-row")
    manager_row.get_by_role("button", name="Add report").click()
    form = page.locator(f"#panel-{personas.manager.pk} form")
    form.get_by_label("Name").fill("Nina New")
    form.get_by_label("Email").fill("nina@example.com")
    form.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_contain_text("Added Nina New under")
    expect(page.locator(f"#kids-{personas.manager.pk}")).to_contain_text("Nina New")

    # The same form refuses a bad move and says why, next to the field.
    page.locator(f"#node-{personas.manager.pk} > .node-row").get_by_role(
        "button", name="Move"
    ).click()
    move = page.locator(f"#panel-{personas.manager.pk} form")
    move.get_by_label("New manager's email").fill(personas.rep.email)
    move.get_by_role("button", name="Move").click()
    expect(move.locator(".field-error")).to_contain_text("who is in their team")
    move.get_by_label("New manager's email").fill(other.email)
    move.get_by_role("button", name="Move").click()

    expect(page.get_by_role("status")).to_contain_text(
        f"Moved {personas.manager.name} and their team of 2 under Olga Other"
    )
    # The tree opens down to the moved team, whose new place is under Olga.
    moved_team = page.locator(f"#kids-{other.pk} #kids-{personas.manager.pk}")
    expect(moved_team.get_by_role("link", name="Nina New")).to_be_visible()
    expect(moved_team.get_by_role("link", name=personas.rep.name)).to_be_visible()
    path = Path(screenshot_dir) / "organization-editor.png"
    page.screenshot(path=path, full_page=True)
    assert page.evaluate("window.__sameDocument") is True  # no full page load happened

    toggle = page.locator(f"#node-{personas.manager.pk} > .node-row .toggle")
    toggle.click()
    expect(moved_team).to_be_hidden()
    toggle.click()
    expect(moved_team.get_by_role("link", name="Nina New")).to_be_visible()
    with scopes_disabled():
        assert Member.objects.get(pk=personas.manager.pk).reports_to_id == other.pk


def test_it_finds_members_as_you_type(live_server, page: Page, personas):
    log_in(page, live_server.url, personas.admin)
    page.goto(f"{live_server.url}/organization/")
    page.get_by_label("Find a member").fill(personas.rep.email[:8])
    expect(page.locator("#search-results")).to_contain_text(personas.rep.name)
