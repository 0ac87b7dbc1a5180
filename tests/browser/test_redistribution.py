"""A reorganization in Chromium: the notice on the goal and on My team, the preview of old and
new targets side by side, and the re-distribution applied."""

from __future__ import annotations

from pathlib import Path

import pytest
from django_scopes import scope
from playwright.sync_api import Page, expect

from achievements.services import goal_recompute
from goals.models import Quota
from goals.services import TargetInput
from hierarchy.services import member_move
from tests.conftest import Org

from .test_organization import log_in

pytestmark = pytest.mark.usefixtures("eager", "at_noon")


def test_a_manager_sees_a_moved_team_previews_and_re_distributes(
    live_server, page: Page, org: Org, screenshot_dir
):
    goal = org.goal(actor=org.admin, team=org.admin, name="Company calls", cycle="daily",
                    targets={"dialled_calls": TargetInput(30)})  # fmt: skip
    goal_recompute(goal.pk)
    member_move(member=org.east, reports_to=org.west, actor=org.admin)
    log_in(page, live_server.url, org.admin)

    page.goto(f"{live_server.url}/team/")
    notice = page.locator(".org-change")
    expect(notice).to_contain_text(f"{org.east.name} and a team of 2 moved under {org.west.name}")
    expect(notice).to_contain_text("targets for today were not changed. Re-distribute?")
    page.goto(f"{live_server.url}/goals/{goal.pk}/")
    expect(notice).to_be_visible()
    notice.get_by_role("link", name="Preview the re-distribution").click()

    table = page.get_by_role("table")
    west = table.locator("tr", has_text=org.west.name)
    # Side by side: west's team target as set (sdr's 10), and over the team now (all 30).
    expect(west.locator("td").nth(1)).to_have_text("– / 10")
    expect(west.locator("td").nth(2)).to_have_text("– / 30")
    expect(table.locator("tr", has_text=org.east.name)).to_contain_text("moved")
    page.screenshot(path=str(Path(screenshot_dir) / "redistribution-preview.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # the table scrolls
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("button", name="Apply the re-distribution").click()
    expect(page).to_have_url(f"{live_server.url}/goals/{goal.pk}/")
    expect(page.get_by_text("re-distributed over the team as it is now")).to_be_visible()
    expect(page.locator(".org-change")).to_have_count(0)
    with scope(tenant=goal.tenant_id):
        west_team = Quota.objects.get(goal=goal, member=org.west).team
    assert west_team == 30
