"""Every page each role's navigation reaches, at 1280 and 375 px: it answers 2xx, the page
never scrolls sideways, no table hides a header, and axe-core (vendored from the npm registry
for the tests, never served) finds no serious or critical accessibility violation; and every
link those pages show the role answers it, never 4xx or 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from achievements.services import goal_recompute
from goals.services import TargetInput
from hierarchy.models import Member
from tests.conftest import Org

from .test_organization import log_in

pytestmark = pytest.mark.usefixtures("eager", "at_noon")

AXE = (Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js").read_text()
WIDTHS = (1280, 375)
LAYOUT = """() => ({
  scroll: document.documentElement.scrollWidth,
  width: document.documentElement.clientWidth,
  hidden: [...document.querySelectorAll('th')]
    .filter(th => th.getClientRects().length === 0 && !th.closest('[hidden]'))
    .map(th => th.textContent.trim()),
})"""
AUDIT = """async () => {
  const found = await axe.run(document, {resultTypes: ['violations']});
  return found.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.id} (${v.impact}): ` + v.nodes.slice(0, 3).map(n => n.target.join(' ')));
}"""


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    """axe-core is put in each page by the test: the page's Content-Security-Policy, which
    allows the site's own scripts only, is set aside for it."""
    return {**browser_context_args, "bypass_csp": True}


def pages_of(page: Page, base: str) -> list[str]:
    """The main navigation's links, as the role sees them."""
    links = page.locator("nav[aria-label=Main] a").evaluate_all("els => els.map(a => a.href)")
    return sorted({link.removeprefix(base) for link in links if link.startswith(base)})


@pytest.mark.parametrize("role", ["admin", "manager", "rep"])
def test_every_page_of_each_role_fits_answers_and_is_accessible(
    live_server, page: Page, org: Org, role: str
) -> None:
    goal = org.goal(actor=org.admin, team=org.admin, targets={"dialled_calls": TargetInput(30)})
    org.log(*(org.call(n) for n in range(3)))
    goal_recompute(goal.pk)
    member: Member = {"admin": org.admin, "manager": org.east, "rep": org.rep}[role]
    base = live_server.url
    log_in(page, base, member)
    paths = pages_of(page, base)
    if role != "rep":
        paths += [reverse("goal_progress", args=[goal.pk]), reverse("goal_new")]
    if role == "admin":
        paths += [reverse("goal_detail", args=[goal.pk]), reverse("audit_log")]
    problems = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            response = page.goto(base + path)
            assert response is not None
            found = []
            if response.status >= 400:
                found.append(f"answers {response.status}")
            layout = page.evaluate(LAYOUT)
            if layout["scroll"] > layout["width"]:
                found.append(f"scrolls sideways ({layout['scroll']} > {layout['width']})")
            if layout["hidden"]:
                found.append(f"hides {layout['hidden']}")
            page.add_script_tag(content=AXE)
            found += page.evaluate(AUDIT)
            if found:
                problems[f"{path} at {width}"] = found
    assert problems == {}
    # Every link any of these pages shows leads to a page this role may see.
    shown: set[str] = set()
    for path in paths:
        page.goto(base + path)
        hrefs = page.locator("main a[href]").evaluate_all("els => els.map(a => a.href)")
        shown |= {href.split("#")[0] for href in hrefs if href.startswith(base)}
    assert len(shown) >= 5  # the bars' records, the goals, the tabs...
    dead = {}
    for link in sorted(shown):
        status = page.request.get(link, max_redirects=0).status
        if status >= 400:
            dead[link.removeprefix(base)] = status
    assert dead == {}
