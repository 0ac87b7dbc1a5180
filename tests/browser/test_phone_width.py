"""At 375 px every page an admin's navigation reaches fits the screen: the page never scrolls
sideways, and no table hides a column (a wide table scrolls inside its own box)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from achievements.services import goal_recompute
from goals.services import TargetInput
from tests.conftest import Org

from .test_organization import log_in

pytestmark = pytest.mark.usefixtures("eager", "at_noon")

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const hidden = [...document.querySelectorAll('th')]
    .filter(th => getComputedStyle(th).display === 'none' || th.getClientRects().length === 0)
    .map(th => th.textContent.trim());
  return {scroll: document.documentElement.scrollWidth, width, hidden};
}"""


def test_every_page_fits_a_phone_and_keeps_every_column(live_server, page: Page, org: Org):
    goal = org.goal(actor=org.admin, team=org.admin, targets={"dialled_calls": TargetInput(40)})
    org.log(*(org.call(n) for n in range(3)))
    goal_recompute(goal.pk)
    page.set_viewport_size({"width": 375, "height": 800})
    log_in(page, live_server.url, org.admin)
    names = ["assigned_to_me", "my_team", "company_overview", "goal_list", "ruleset_list"]
    names += ["organization", "audit_log", "settings"]
    paths = [reverse(name) for name in names] + [
        reverse("goal_detail", args=[goal.pk]),
        reverse("goal_progress", args=[goal.pk]),
        reverse("record_list", args=["activities"]),
        reverse("goal_new"),
    ]
    seen = {}
    for path in paths:
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, path
        seen[path] = page.evaluate(OVERFLOW)
    assert {p: s for p, s in seen.items() if s["scroll"] > s["width"] or s["hidden"]} == {}
