"""A manager creates a monthly goal for their team through the wizard, in Chromium."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django_scopes import scope
from playwright.sync_api import Page, expect

from goals.models import Goal
from tests.conftest import Org

from .test_organization import log_in
from .test_rule_builder import settled


def test_a_manager_creates_a_monthly_goal_with_a_live_total_check(
    live_server, page: Page, org: Org, screenshot_dir
):
    first = (org.today.replace(day=1) + timedelta(days=32)).replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    log_in(page, live_server.url, org.east)
    page.goto(f"{live_server.url}/goals/")
    page.get_by_role("link", name="New goal").click()
    page.get_by_label("Name").fill("East calls, next month")
    page.get_by_label("Cycle").select_option("monthly")
    page.get_by_label("Start").fill(str(first))
    page.get_by_label("End").fill(str(last))
    page.get_by_role("button", name="Next: targets").click()
    page.get_by_role("textbox", name="Dialled calls (number)").fill("100")
    page.get_by_role("button", name="Next: distribution").click()

    page.evaluate("window.__sameDocument = true")
    page.get_by_label(f"How {org.east.name}'s share splits").select_option("percentage")
    settled(page)
    page.get_by_label(f"{org.rep.name}'s share (%)").fill("60")
    page.get_by_label(f"{org.rep2.name}'s share (%)").fill("30")
    alert = page.locator("#distribution [role=alert]")
    expect(alert).to_contain_text("10 short of 100%")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(Path(screenshot_dir) / "goal-wizard-distribution.png"), full_page=True)
    page.get_by_label(f"{org.rep2.name}'s share (%)").fill("40")
    expect(alert).to_have_count(0)
    expect(page.locator("#distribution")).to_contain_text("60 / 60")
    assert page.evaluate("window.__sameDocument") is True  # checked live, no reload

    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_text("East calls, next month")).to_be_visible()
    page.get_by_role("button", name="Create goal").click()
    expect(page.get_by_role("heading", name="East calls, next month")).to_be_visible()
    with scope(tenant=org.admin.tenant):
        goal = Goal.objects.get()
    assert (goal.cycle, goal.start, goal.end) == ("monthly", first, last)
