"""The Customers page in Chromium: definitions on hover, the by-channel table at 375 px."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from crm.ingest import records_upsert

from .test_organization import log_in

LONG = "Very long channel name " * 3
CAC = (
    "Customer acquisition cost: spend in this cycle divided by the new customers won in it, "
    "per channel by the account's channel field."
)


def test_it_defines_each_number_and_fits_a_phone(live_server, page: Page, crm, screenshot_dir):
    records_upsert(
        tenant=crm.tenant,
        entity="account",
        records=[{"external_id": "A1", "name": "Acme", "channel": LONG}],
    )
    records_upsert(
        tenant=crm.tenant,
        entity="opportunity",
        records=[crm.opportunity(status="won", closed_at="2025-03-10T10:00",
                                 value="125000", account_external_id="A1")],
    )  # fmt: skip
    records_upsert(
        tenant=crm.tenant,
        entity="spend",
        records=[{"external_id": "S1", "date": "2025-03-02", "channel": LONG, "amount": "250000"}],
    )
    page.set_viewport_size({"width": 375, "height": 800})
    log_in(page, live_server.url, crm.personas.admin)
    page.goto(f"{live_server.url}/customers/?kind=monthly&day=2025-03-15")
    cac = page.locator(".kpis").get_by_text("CAC", exact=True)
    expect(cac).to_have_attribute("title", CAC)
    expect(cac).to_have_accessible_description(CAC)
    expect(page.locator(".kpis")).to_contain_text("USD 250,000.00")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # the table scrolls
    page.screenshot(path=str(Path(screenshot_dir) / "customers-375.png"), full_page=True)
