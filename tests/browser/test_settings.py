from __future__ import annotations

from pathlib import Path

from django_scopes import scope
from playwright.sync_api import Page, expect

from crm.models import PipelineStage

from .test_organization import log_in


def test_it_edits_and_reorders_stages_in_place_on_a_phone(
    live_server, page: Page, crm, screenshot_dir
):
    page.set_viewport_size({"width": 375, "height": 800})
    log_in(page, live_server.url, crm.personas.admin)
    page.goto(f"{live_server.url}/settings/")
    page.evaluate("window.__sameDocument = true")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    stages = page.locator("#stages")
    stages.get_by_role("link", name="Edit Negotiation").click()
    editing = stages.locator(".editing")
    expect(editing).to_contain_text("Edit Negotiation")
    editing.get_by_label("Stage name").fill("prospect")
    editing.get_by_role("button", name="Save").click()
    expect(editing.locator(".field-error")).to_contain_text(
        "Stage name: This organization already has a stage with this name."
    )
    editing.get_by_label("Stage name").fill("Talks")
    editing.get_by_role("button", name="Save").click()
    expect(stages.get_by_role("status")).to_contain_text("Saved Talks.")
    stages.get_by_role("button", name="Move Talks up").click()
    expect(stages.get_by_role("status")).to_contain_text("Moved Talks.")
    expect(stages.locator(".setting-name")).to_have_text(["Prospect", "Talks", "Proposal"])
    assert page.evaluate("window.__sameDocument") is True  # HTMX swapped, never reloaded
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(Path(screenshot_dir) / "settings-375.png"), full_page=True)
    with scope(tenant=crm.tenant):
        names = PipelineStage.objects.order_by("position").values_list("name", flat=True)
        assert list(names) == ["Prospect", "Talks", "Proposal"]
