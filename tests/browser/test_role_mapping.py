"""Settings, Role mapping in Chromium: an admin adds a role, gives it a KPI from a ruleset's
rule and maps the KPI to activity types, at 1280 and at 375 px (no sideways page scroll)."""

from __future__ import annotations

from pathlib import Path

from django_scopes import scope
from playwright.sync_api import Page, expect

from goals.models import Goal
from hierarchy.models import SalesRole

from .test_organization import log_in


def test_an_admin_maps_a_roles_kpi_to_activity_types(
    live_server, page: Page, org, screenshot_dir
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server.url, org.admin)
    page.goto(f"{live_server.url}/settings/")
    page.get_by_role("link", name="Role mapping").click()
    expect(page.get_by_role("heading", name="Role mapping")).to_be_visible()

    page.get_by_label("Name").fill("Account executive")
    page.get_by_label("Description").fill("Runs demos and closes new business")
    page.get_by_role("button", name="Add the role").click()
    expect(page.get_by_role("list").filter(has_text="Added the sales role")).to_be_visible()
    row = (
        page.get_by_role("rowgroup").nth(1).get_by_role("row").filter(has_text="Account executive")
    )
    row.get_by_text("Add a KPI to Account executive").click()
    row.get_by_label("KPI (ruleset rule)").select_option(label="Sales basics: Dialled calls")
    row.get_by_label("Target per cycle").fill("1,500")
    row.get_by_label("Cycle", exact=True).select_option("monthly")
    row.get_by_label("Until").fill("2099-12-31")
    row.get_by_role("button", name="Add the KPI").click()
    expect(page.get_by_text("Dialled calls is a KPI of Account executive")).to_be_visible()

    kpi = page.get_by_role("row").filter(has_text="Account executive KPIs")
    expect(kpi).to_contain_text("1,500")
    expect(kpi).to_contain_text("Counts every activity type.")
    kpi.get_by_label("Demo").check()
    kpi.get_by_label("Call", exact=True).check()
    kpi.get_by_role("button", name="Save types").click()
    kpi = page.get_by_role("row").filter(has_text="Account executive KPIs")
    expect(kpi).to_contain_text("Counts Call, Demo.")
    expect(kpi.get_by_label("Demo")).to_be_checked()
    page.screenshot(path=str(Path(screenshot_dir) / "role-mapping-1280.png"), full_page=True)

    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(Path(screenshot_dir) / "role-mapping-375.png"), full_page=True)

    with scope(tenant=org.admin.tenant):
        goal = Goal.objects.get(sales_role__name="Account executive")
        rule = goal.targets.get().rule
        assert SalesRole.objects.filter(name="Account executive").exists()
    assert {"field": "type", "op": "in", "value": ["Call", "Demo"]} in rule.conditions
