"""The pipeline page in Chromium: the pies beside the stage a goal tracks (their figure on
hover, a link to the goal), a column that brings more deals as it scrolls, a deal's record
page, and 375 px without a sideways page scroll."""

from __future__ import annotations

from pathlib import Path

import pytest
from django_scopes import scope
from playwright.sync_api import Page, expect

from achievements.models import Achievement
from dashboards.pipeline import CARDS
from tests.dashboards.test_pipeline import Pipeline, deal, pipeline  # noqa: F401  (a fixture)

from .test_organization import log_in

pytestmark = pytest.mark.usefixtures("mid_month")


def test_the_pies_beside_a_tracked_stage_show_the_goal_rows(
    live_server,
    page: Page,
    pipeline: Pipeline,  # noqa: F811  (the fixture imported above)
    screenshot_dir,
):
    org, goal = pipeline.org, pipeline.goal
    org.log(*(deal(org, f"M-{n}", org.rep, value=str(100 + n)) for n in range(CARDS + 4)),
            entity="opportunity")  # fmt: skip
    with scope(tenant=org.admin.tenant):
        rows = {
            row.rule.key: row
            for row in Achievement.objects.filter(
                goal=goal, member=org.rep, cycle_index=0
            ).select_related("rule")
        }
    log_in(page, live_server.url, org.rep)
    page.goto(f"{live_server.url}/records/pipeline/")
    proposal = page.locator('[data-stage="Proposal"]')
    pies = proposal.locator("svg.pie")
    expect(pies).to_have_count(2)
    for pie, key in zip(pies.all(), ("deals_advanced", "advanced_value"), strict=True):
        row = rows[key]
        percent = int((row.value * 100 / row.target).to_integral_value())
        assert pie.get_attribute("data-percent") == str(percent)
        assert pie.locator("title").text_content().endswith(f"({percent}%)")
        box, name = pie.bounding_box(), proposal.locator("h2").bounding_box()
        # Beside the stage's name, on its line, and drawn: a slice of the pie is filled.
        assert box["width"] >= 16 and abs(box["y"] - name["y"]) < name["height"]
        assert pie.locator(".slice").count() == 1
    expect(page.locator('[data-stage="Prospect"] svg.pie')).to_have_count(0)
    page.screenshot(path=str(Path(screenshot_dir) / "pipeline.png"), full_page=True)

    # The Prospect column brings its next deals as its list scrolls to the end.
    cards = page.locator('[data-stage="Prospect"] .deal-card')
    expect(cards).to_have_count(CARDS)
    page.locator('[data-stage="Prospect"] .load-more').scroll_into_view_if_needed()
    expect(cards).to_have_count(CARDS + 5)  # the 14 deals made here and O-3

    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    expect(pies.first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing sideways
    page.screenshot(path=str(Path(screenshot_dir) / "pipeline-375.png"), full_page=True)

    # A pie links to the goal (for a rep: their own numbers); a card to the deal's page.
    pies.first.click()
    expect(page).to_have_url(f"{live_server.url}/me/")
    page.goto(f"{live_server.url}/records/pipeline/")
    page.locator('[data-stage="Proposal"] .deal-card a', has_text="Deal O-2").click()
    expect(page.get_by_role("heading", name="Stage history")).to_be_visible()
    expect(page.locator(".stage-history tbody tr")).to_have_count(2)
