from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.factories import PASSWORD


def test_it_logs_in_as_admin_and_shows_the_navigation(
    live_server, page: Page, personas, screenshot_dir
):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    page.get_by_label("Email").fill(personas.admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_server.url}/overview/")  # an admin lands on the company
    page.get_by_role("link", name="Assigned to me").click()
    nav = page.get_by_role("navigation", name="Main")
    for item in ("Assigned to me", "My team", "Goals", "Rulesets", "Organization"):
        expect(nav.get_by_role("link", name=item)).to_be_visible()
    expect(page.get_by_text(personas.admin.tenant.name)).to_be_visible()
    expect(page.get_by_role("heading", name="No goals in progress")).to_be_visible()

    nav.get_by_role("link", name="Organization").click()
    expect(page.get_by_role("link", name=personas.manager.name)).to_be_visible()
    path = Path(screenshot_dir) / "organization.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 5_000


def test_it_explains_a_wrong_password(live_server, page: Page, personas):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(personas.admin.email)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
