"""Dashboards group a goal's numbers as leading indicators (which predict results) and lagging
ones (which show them), leading first, each group under a small heading."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from achievements.services import goal_recompute
from goals.models import Goal
from goals.services import TargetInput
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save
from tests.conftest import Org, client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_noon")]

LEADING, LAGGING = "Leading indicators", "Lagging indicators"


@pytest.fixture
def goal(org: Org) -> Goal:
    """A daily company goal whose ruleset lists a lagging rule before a leading one."""
    rules = preset_rules("won_value", currency="USD") + preset_rules("dialled_calls")
    ruleset = ruleset_save(tenant=org.admin.tenant, name="Results first", rules=rules)
    goal = org.goal(
        actor=org.admin,
        team=org.admin,
        ruleset=ruleset,
        name="Company day",
        cycle="daily",
        targets={"won_value": TargetInput(Decimal(1000)), "dialled_calls": TargetInput(40)},
        default_split=Goal.Split.LEVEL,
    )
    org.log(*(org.call(n, owner=org.rep) for n in range(3)))
    goal_recompute(goal.pk)
    return goal


def in_order(page: str, *texts: str) -> bool:
    places = [page.find(text) for text in texts]
    return -1 not in places and places == sorted(places)


def test_assigned_to_me_shows_leading_indicators_first_under_headings(org: Org, goal: Goal):
    page = client_for(org.rep).get("/me/").content.decode()
    assert f'<h3 class="indicator-heading">{LEADING}</h3>' in page
    assert f'<h3 class="indicator-heading">{LAGGING}</h3>' in page
    assert in_order(page, LEADING, "Dialled calls", LAGGING, "Value of deals won")


def test_my_team_groups_the_teams_numbers_and_labels_the_leaderboard(org: Org, goal: Goal):
    response = client_for(org.admin).get(f"/team/?goal={goal.pk}")
    page = response.content.decode()
    assert in_order(page, LEADING, "Dialled calls", LAGGING, "Value of deals won")
    header = re.search(r"<thead>(.*?)</thead>", page, re.DOTALL)[1]
    assert in_order(header, "Dialled calls", "leading", "Value of deals won", "lagging")
    order = ["dialled_calls", "won_value"]  # each row's cells follow the columns
    assert [bar.rule.key for bar in response.context["team_bars"]] == order
    for entry in response.context["reports"]:
        assert [bar.rule.key for bar in entry["bars"]] == order


def test_goal_progress_shows_leading_charts_first(org: Org, goal: Goal):
    page = client_for(org.admin).get(f"/goals/{goal.pk}/progress/").content.decode()
    assert f'<h2 class="indicator-heading">{LEADING}</h2>' in page
    assert in_order(page, LEADING, "Dialled calls", LAGGING, "Value of deals won")
    header = re.search(r"<thead>(.*?)</thead>", page, re.DOTALL)[1]
    assert in_order(header, "Dialled calls", "leading", "Value of deals won", "lagging")


def test_the_overview_groups_each_goals_numbers(org: Org, goal: Goal):
    page = client_for(org.admin).get("/overview/").content.decode()
    assert in_order(page, LEADING, "Dialled calls", LAGGING, "Value of deals won")


def test_an_edited_indicator_moves_the_number_on_the_next_page(org: Org, goal: Goal):
    rules = preset_rules("won_value", currency="USD") + preset_rules("dialled_calls")
    rules[0]["indicator"] = "leading"  # the team decides deals won predict next quarter
    ruleset_save(tenant=org.admin.tenant, name="Results first", rules=rules, ruleset=goal.ruleset)
    page = client_for(org.rep).get("/me/").content.decode()
    assert LAGGING not in page
    assert in_order(page, LEADING, "Value of deals won", "Dialled calls")


def test_another_tenant_sees_none_of_it(org: Org, goal: Goal):
    outsider = client_for(org.personas.outsider)
    assert outsider.get(f"/goals/{goal.pk}/progress/").status_code == 404
    assert outsider.get(f"/team/?goal={goal.pk}").status_code == 404
    assert LEADING not in outsider.get("/me/").content.decode()
