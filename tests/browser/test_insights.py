"""Breakdowns and trends in Chromium: goal progress swaps a rule's breakdown and its trend in
without a reload, at 375 px with nothing scrolling sideways, and axe-core finds nothing
serious in them."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from goals.models import Goal
from tests.conftest import Org
from tests.dashboards.test_breakdowns import campaign_goal

from .test_organization import log_in
from .test_rule_builder import settled
from .test_walk import AUDIT, AXE, LAYOUT

pytestmark = pytest.mark.usefixtures("eager", "at_noon")


@pytest.fixture
def goal(org: Org) -> Goal:
    return campaign_goal(org)


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    """axe-core is put in the page by the test (the page's CSP allows the site's scripts only)."""
    return {**browser_context_args, "bypass_csp": True}


def fits(page: Page) -> None:
    # As expect() does: the layout may settle a moment after a swap or a full-page screenshot
    # (which resizes the view and puts it back); a page that still overflows fails here.
    page.wait_for_function(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth",
        timeout=2000,
    )
    layout = page.evaluate(LAYOUT)
    assert layout["scroll"] <= layout["width"] == page.viewport_size["width"]
    assert layout["hidden"] == []
    page.add_script_tag(content=AXE)
    assert page.evaluate(AUDIT) == []


@pytest.mark.parametrize("width", [375, 1280])
def test_an_admin_breaks_a_number_down_and_sees_its_trend_without_a_reload(
    live_server,
    page: Page,
    org: Org,
    goal: Goal,
    width: int,
    screenshot_dir,
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server.url, org.admin)
    page.goto(f"{live_server.url}/goals/{goal.pk}/progress/?cycle=0")
    page.evaluate("window.__sameDocument = true")
    calls = page.locator("figure.card", has_text="Dialled calls")
    calls.get_by_label("Break down").select_option(label="Campaign")
    settled(page)
    table = calls.locator(".breakdown table")
    expect(table.get_by_role("row", name="Spring 5 5 records")).to_be_visible()
    expect(table.get_by_role("row", name="(none) 4 4 records")).to_be_visible()
    expect(table.get_by_role("row", name="All 15 15 records")).to_be_visible()
    expect(calls.locator(".hbars li")).to_have_count(5)  # Spring, Fall, Winter, Summer, (none)
    calls.get_by_role("link", name="Last 12 cycles").click()
    settled(page)
    expect(calls.locator(".trend svg.chart")).to_be_visible()
    expect(calls.locator(".trend tbody tr")).to_have_count(12)
    assert page.evaluate("window.__sameDocument") is True
    fits(page)
    calls.screenshot(path=str(Path(screenshot_dir) / f"breakdown-trend-{width}.png"))
    page.screenshot(path=str(Path(screenshot_dir) / f"goal-progress-{width}.png"), full_page=True)

    calls.locator(".breakdown").get_by_role("link", name="4 records").click()  # the "(none)" bar
    expect(page.get_by_test_id("counted")).to_have_text("4")
    expect(page.get_by_text("4 records in")).to_be_visible()
    fits(page)
