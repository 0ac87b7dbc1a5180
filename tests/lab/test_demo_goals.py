"""make demo's goals: a newcomer sees real progress at once, and a reset still works."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django_scopes import scope, scopes_disabled

from achievements.models import Achievement
from goals.models import Goal
from hierarchy.models import SalesRole, Tenant
from lab.demo_goals import GOALS, demo_goals_build
from lab.demo_tenant import demo_tenant_build

pytestmark = pytest.mark.django_db


def test_demo_goals_show_progress_at_once_and_are_made_once() -> None:
    demo_tenant_build(slug="demo", members=12, days=40, activities=3000)
    tenant = Tenant.objects.get(slug="demo")
    goals = demo_goals_build(tenant)
    assert [(goal.name, goal.cycle) for goal in goals] == [(n, c) for n, c, *_ in GOALS]
    with scope(tenant=tenant):
        for goal in goals:
            team = Achievement.objects.filter(goal=goal, member=goal.team)
            current = team.filter(final=False, rule__goal_targets__goal=goal)
            assert current.exists()
            # real numbers, not zeros (the current cycle may be an hour old: past ones too)
            assert any(row.team_value for row in team), goal.name
            assert all(row.team_target for row in current)
            # from the team's last four weeks, not the smallest target a rule can have
            assert max(row.team_target for row in current) > 1, goal.name
            assert Achievement.objects.filter(goal=goal, final=True).exists()  # past cycles
    assert [goal.pk for goal in demo_goals_build(tenant)] == [goal.pk for goal in goals]


def test_seed_demo_reset_clears_a_tenant_that_has_goals() -> None:
    out = io.StringIO()
    call_command("seed_demo", "--members", "12", "--activities", "500", stdout=out)
    call_command("seed_goals", stdout=out)
    assert "Daily activity: daily" in out.getvalue()
    assert "SDR KPIs: monthly" in out.getvalue()
    demo = Tenant.objects.get(slug="demo")
    with scope(tenant=demo):
        kept = set(Achievement.objects.values_list("pk", flat=True))
    assert kept
    call_command("seed_demo", "--members", "12", "--activities", "500", "--reset", stdout=out)
    with scope(tenant=demo):
        assert not Goal.objects.exists()
        assert not SalesRole.objects.exists()  # the next seed_goals makes them again
    # The database checks only an achievement's goal: its member and rule went with it.
    with scopes_disabled():
        assert not Achievement.objects.filter(pk__in=kept).exists()


def test_the_demo_pipeline_has_pies_on_the_stage_its_goals_track() -> None:
    from tests.conftest import client_for

    demo_tenant_build(slug="demo", members=12, days=40, activities=3000)
    tenant = Tenant.objects.get(slug="demo")
    goals = demo_goals_build(tenant)
    weekly = next(goal for goal in goals if goal.cycle == "weekly")
    with scope(tenant=tenant):
        keys = set(weekly.targets.values_list("rule__key", flat=True))
        root = weekly.team
    assert {"deals_advanced", "advanced_value"} <= keys
    html = client_for(root).get("/records/pipeline/").content.decode()
    proposal = html.split('data-stage="Proposal"')[1].split("</header>")[0]
    assert proposal.count('<svg class="pie') == 2
    assert "Weekly pipeline · Deals advanced" in proposal
    prospecting = html.split('data-stage="Prospecting"')[1].split("</header>")[0]
    assert '<svg class="pie' not in prospecting
