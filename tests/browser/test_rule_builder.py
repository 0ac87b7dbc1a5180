from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import Page, expect

from crm.ingest import records_upsert
from crm.models import ActivityType
from rulesets.models import Ruleset

from .test_organization import log_in


def settled(page: Page) -> None:
    """Wait until htmx has swapped and wired up the new content (it does so after a settle
    delay, which a person never notices but Playwright's next click can beat)."""
    busy = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"
    # A locator, not wait_for_function: that evaluates a string, which the CSP refuses.
    expect(page.locator(busy)).to_have_count(0)


def test_it_builds_previews_and_saves_a_rule_without_a_reload(
    live_server, page: Page, personas, screenshot_dir
):
    tenant = personas.admin.tenant
    with scope(tenant=tenant):
        ActivityType.objects.create(tenant=tenant, name="Call", category="call")
    recent = (timezone.now() - timedelta(days=1)).isoformat()
    records_upsert(
        tenant=tenant,
        entity="activity",
        records=[
            {
                "external_id": f"A-{n}",
                "owner_email": personas.rep.email,
                "type": "Call",
                "occurred_at": recent,
                "duration_seconds": "600",
            }
            for n in range(3)
        ],
    )
    log_in(page, live_server.url, personas.admin)
    page.goto(f"{live_server.url}/rulesets/")
    page.get_by_role("link", name="New ruleset").click()
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Name", exact=True).first.fill("Calling")

    page.get_by_role("button", name="Add rule").click()
    rule = page.locator("#rule-1")
    expect(rule).to_be_visible()
    settled(page)
    page.locator("#rule-0").get_by_role("button", name="Remove rule").click()
    expect(page.locator("#rule-0")).to_have_count(0)
    rule.get_by_label("Key").fill("talk_time")
    rule.get_by_label("Name").fill("Talk time")

    # A new entity brings its own date fields, without a reload.
    dates = rule.get_by_label("Date field")
    expect(dates.locator("option")).to_have_text(["Occurred"])
    rule.get_by_label("Entity").select_option("opportunity")
    expect(dates.locator("option")).to_have_text(["Created", "Closed"])
    settled(page)
    rule.get_by_label("Entity").select_option("activity")
    expect(dates.locator("option")).to_have_text(["Occurred"])
    settled(page)
    rule.get_by_label("Aggregation").select_option("sum")
    settled(page)
    rule.get_by_label("Measured field").select_option("duration")

    rule.get_by_role("button", name="Add condition").click()
    row = rule.locator(".condition-row").first
    settled(page)
    row.get_by_label("Field").select_option("category")
    settled(page)
    expect(row.get_by_label("Operator").locator("option")).to_contain_text(["is", "is one of"])
    row.get_by_label("Operator").select_option("in")
    settled(page)
    row.get_by_label("Value").fill("call, demo")

    preview = rule.locator(".rule-preview")  # it follows the card: nothing to click
    expect(preview.locator("strong")).to_have_text("0:30")
    expect(preview).to_contain_text(personas.rep.name)
    page.screenshot(path=Path(screenshot_dir) / "rule-builder.png", full_page=True)
    assert page.evaluate("window.__sameDocument") is True  # no full page load so far

    # Leave the value first: its open list of suggestions may lie over the button.
    row.get_by_label("Value").press("Tab")
    settled(page)
    page.get_by_role("button", name="Save ruleset").click()
    expect(page.locator(".messages")).to_contain_text("Created the ruleset Calling.")
    with scope(tenant=tenant):
        saved = Ruleset.objects.get(name="Calling").rules.get()
    assert (saved.key, saved.aggregation, saved.field) == ("talk_time", "sum", "duration")
    assert saved.conditions == [{"field": "category", "op": "in", "value": ["call", "demo"]}]


def test_the_preview_follows_a_changed_condition_without_a_click(live_server, page: Page, personas):
    tenant = personas.admin.tenant
    with scope(tenant=tenant):
        ActivityType.objects.create(tenant=tenant, name="Call", category="call")
        ActivityType.objects.create(tenant=tenant, name="Email", category="email")
    recent = (timezone.now() - timedelta(days=1)).isoformat()
    records_upsert(
        tenant=tenant,
        entity="activity",
        records=[
            {
                "external_id": f"A-{n}",
                "owner_email": personas.rep.email,
                "type": "Call" if n < 3 else "Email",
                "occurred_at": recent,
            }
            for n in range(5)
        ],
    )
    log_in(page, live_server.url, personas.admin)
    page.goto(f"{live_server.url}/rulesets/new/")
    rule = page.locator("#rule-0")
    total = rule.locator(".rule-preview strong")
    expect(total).to_have_text("5")  # every activity, before anything is typed
    rule.get_by_label("Name").fill("Calls")
    rule.get_by_role("button", name="Add condition").click()
    settled(page)
    row = rule.locator(".condition-row").first
    expect(rule.locator(".rule-preview")).to_contain_text("Condition 1: choose a field.")
    row.get_by_label("Field").select_option(label="Activity type")
    settled(page)
    value = row.get_by_label("Value")
    value.fill("Call")
    expect(total).to_have_text("3")
    # Typed quickly, one state after another: only the last one's count may stay.
    value.fill("Ca")
    value.fill("Email")
    expect(total).to_have_text("2")
    page.wait_for_timeout(1200)  # any answer for an older state would have landed by now
    expect(total).to_have_text("2")
    row.get_by_label("Operator").select_option(label="is not")
    expect(total).to_have_text("3")
    row.get_by_role("button", name="Remove").click()
    expect(total).to_have_text("5")
