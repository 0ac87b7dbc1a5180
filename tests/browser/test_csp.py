"""Pages that use htmx and the site's script work under the Content-Security-Policy, with no
violation reported in the console."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .test_organization import log_in
from .test_rule_builder import settled


def test_htmx_pages_work_under_the_policy_without_a_violation(live_server, page: Page, personas):
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    log_in(page, live_server.url, personas.admin)

    response = page.goto(f"{live_server.url}/organization/")
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    page.get_by_label("Find a member").fill(personas.rep.email[:8])  # htmx, as you type
    expect(page.locator("#search-results")).to_contain_text(personas.rep.name)
    toggle = page.locator(f"#node-{personas.admin.pk} > .node-row .toggle")
    manager = page.locator(f"#node-{personas.manager.pk}")
    expect(manager).to_be_visible()
    toggle.click()  # static/js/app.js, no inline handler
    expect(manager).to_be_hidden()
    toggle.click()
    expect(manager).to_be_visible()

    page.goto(f"{live_server.url}/rulesets/new/")
    page.get_by_role("button", name="Add rule").click()  # htmx post
    expect(page.locator("#rule-1")).to_be_visible()
    settled(page)
    page.locator("#rule-0").get_by_role("button", name="Remove rule").click()
    expect(page.locator("#rule-0")).to_have_count(0)
    needs_stage = page.locator("#preset option[data-stage]").first.get_attribute("value")
    page.locator("#preset").select_option(needs_stage)
    expect(page.locator("#preset-stage")).to_be_visible()

    page.goto(f"{live_server.url}/api/v1/docs")  # Swagger UI from static files
    expect(page.get_by_role("heading", name="Goals API")).to_be_visible()
    page.goto(f"{live_server.url}/me/")  # a panel that polls
    settled(page)
    csp = ("Content Security Policy", "evalDisallowed", "page error")
    assert [text for text in problems if any(word in text for word in csp)] == []
