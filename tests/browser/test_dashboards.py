"""Dashboards in Chromium: bars, drill-down without a reload, live numbers, CSV, 375 px."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from achievements.services import goal_recompute
from goals.services import TargetInput
from hierarchy.services import api_token_create
from tests.conftest import Org

from .test_organization import log_in
from .test_rule_builder import settled

pytestmark = pytest.mark.usefixtures("eager", "at_noon")


def test_a_rep_sees_bars_that_follow_the_crm_without_a_reload(
    live_server, page: Page, org: Org, screenshot_dir
):
    goal = org.goal(
        actor=org.admin, team=org.admin, name="Daily calls", cycle="daily",
        targets={"dialled_calls": TargetInput(30)},  # 10 each for three reps
    )  # fmt: skip
    org.log(org.call(1))
    goal_recompute(goal.pk)
    log_in(page, live_server.url, org.rep)
    bar = page.get_by_role("progressbar", name="Dialled calls: 1 of 10")
    expect(bar).to_be_visible()
    page.screenshot(path=str(Path(screenshot_dir) / "assigned-to-me.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=str(Path(screenshot_dir) / "assigned-to-me-375.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing sideways

    page.evaluate("window.__sameDocument = true")
    _, key = api_token_create(tenant=org.admin.tenant, name="CRM")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    response = api.post("/api/v1/activities", {"records": [org.call(2), org.call(3)]},
                        content_type="application/json")  # fmt: skip
    assert response.status_code == 200
    # What the 30-second poll does, now rather than in 30 seconds.
    page.evaluate("htmx.ajax('GET', location.pathname, {target: '#panel', swap: 'outerHTML'})")
    expect(page.get_by_role("progressbar", name="Dialled calls: 3 of 10")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True


def test_a_manager_drills_into_a_team_and_back_and_exports(
    live_server, page: Page, org: Org, screenshot_dir
):
    goal = org.goal(actor=org.admin, team=org.admin, name="Company calls", cycle="daily",
                    targets={"dialled_calls": TargetInput(30)})  # fmt: skip
    org.log(org.call(1))
    goal_recompute(goal.pk)
    log_in(page, live_server.url, org.admin)
    page.goto(f"{live_server.url}/team/")
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("link", name=f"{org.east.name} ›").click()
    settled(page)
    panel = page.locator("#team-panel")
    expect(panel.get_by_role("heading", name=f"{org.east.name}'s team")).to_be_visible()
    expect(panel.get_by_role("link", name=org.rep.name)).to_be_visible()
    page.screenshot(path=str(Path(screenshot_dir) / "my-team-drilled.png"), full_page=True)
    panel.get_by_role("navigation").get_by_role("link", name=org.admin.name).click()
    settled(page)
    expect(panel.get_by_role("link", name=f"{org.west.name} ›")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True

    page.goto(f"{live_server.url}/goals/{goal.pk}/progress/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    mine = [r for r in rows if r["member"] == org.rep.email]
    assert mine and mine[0]["value"] == "1.0000" and mine[0]["target"] == "10.00"
