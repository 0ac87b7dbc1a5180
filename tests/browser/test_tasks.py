"""Tasks in Chromium: the Tasks tab and a task's own page fit 375 px, and one leads to the
other."""

from __future__ import annotations

from pathlib import Path

import pytest
from django_scopes import scope
from playwright.sync_api import Page, expect

from crm.ingest import records_upsert
from crm.models import ActivityType
from tests.conftest import Crm

from .test_organization import log_in

pytestmark = pytest.mark.usefixtures("at_noon")


def test_a_manager_opens_a_task_from_the_tasks_tab_on_a_phone(
    live_server, page: Page, crm: Crm, screenshot_dir
):
    with scope(tenant=crm.tenant):
        ActivityType.objects.create(tenant=crm.tenant, name="To-do", category="task")
    long = "Send the quote for the whole-company rollout including every regional office " * 2
    records_upsert(tenant=crm.tenant, entity="lead", records=[crm.lead()])
    records = [
        crm.task(subject=long.strip(), lead_external_id="L-1"),
        crm.task(external_id="T-2", subject="Call back", status="completed"),
    ]
    records_upsert(tenant=crm.tenant, entity="task", records=records)
    page.set_viewport_size({"width": 375, "height": 800})
    log_in(page, live_server.url, crm.personas.manager)
    page.goto(f"{live_server.url}/records/tasks/")
    expect(page.get_by_role("heading", name="Tasks")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # the table scrolls
    page.get_by_role("link", name="Call back").click()
    expect(page.get_by_role("heading", name="Call back")).to_be_visible()
    page.go_back()
    page.get_by_role("link", name=long.strip()).click()
    expect(page.locator(".record-fields")).to_contain_text("Ada Lovelace")
    page.screenshot(path=str(Path(screenshot_dir) / "task-375.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing sideways
