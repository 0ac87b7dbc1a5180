"""The demo's three dashboards by audience in Chromium at 1280 and 375 px: every metric with a
number, nothing scrolls the page sideways (wide tables and charts scroll in their own box)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django_scopes import scope
from playwright.sync_api import Page, expect

from dashboards.models import Dashboard
from hierarchy.models import Tenant
from lab.demo_dashboards import demo_dashboards_build
from lab.demo_goals import demo_goals_build
from lab.demo_roles import demo_roles_build
from lab.demo_tenant import DEMO_PASSWORD, demo_domain, demo_tenant_build

METRICS = {
    "Management": [
        "Value of deals won",
        "Total sales value by channel",
        "Average deal size",
        "Meetings booked",
        "LTV:CAC",
    ],
    "Account executives": [
        "Deals won",
        "Open opportunities by stage",
        "Meetings booked",
        "Proposals sent",
    ],
    "SDRs": ["Meetings booked", "Calls made", "Emails sent", "LinkedIn connection requests sent"],
}


@pytest.mark.parametrize("width", [1280, 375])
def test_the_demo_dashboards_fit_the_screen(live_server, page: Page, width, screenshot_dir):
    demo_tenant_build(slug="demo", members=12, days=60, activities=3000)
    tenant = Tenant.objects.get(slug="demo")
    demo_goals_build(tenant)
    demo_roles_build(tenant)
    demo_dashboards_build(tenant)
    with scope(tenant=tenant):
        pages = {d.title: d.pk for d in Dashboard.objects.all()}
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(f"admin@{demo_domain('demo')}")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    for title, names in METRICS.items():
        page.goto(f"{live_server.url}/dashboards/{pages[title]}/")
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        for name in names:
            expect(page.locator("main")).to_contain_text(name)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, title
        slug = title.lower().replace(" ", "-")
        page.screenshot(path=str(Path(screenshot_dir) / f"audience-{slug}-{width}.png"),
                        full_page=True)  # fmt: skip


def test_an_admin_picks_a_rule_then_a_field_to_split_it_by(live_server, page: Page) -> None:
    """The "Split by" choice lists the fields of the rule just picked (swapped in by htmx),
    with the catalogue's labels, and the metric added shows split by that field."""
    demo_tenant_build(slug="demo", members=6, days=20, activities=300)
    tenant = Tenant.objects.get(slug="demo")
    demo_goals_build(tenant)
    demo_roles_build(tenant)
    (management, *_rest) = demo_dashboards_build(tenant)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(f"admin@{demo_domain('demo')}")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    page.goto(f"{live_server.url}/dashboards/{management.pk}/edit/")
    split = page.get_by_label("Split by (optional)")
    expect(split.locator("option")).to_have_text(["— choose a rule first"])
    page.get_by_label("Rule", exact=True).select_option(label="Meetings booked (Dashboard metrics)")
    expect(split.locator("option", has_text="Type")).to_have_count(1)
    split.select_option(label="Outcome")
    page.get_by_role("button", name="Add").click()
    row = page.locator("tbody tr").last
    expect(row.get_by_role("rowheader")).to_have_text("Meetings booked (Dashboard metrics)")
    expect(row.get_by_role("cell").first).to_have_text("Outcome")
    page.get_by_role("link", name="Open").click()
    expect(page.get_by_role("heading", name="Meetings booked by outcome")).to_be_visible()
