"""Dashboards by audience: who sees which, what a metric with and without a goal shows, the
admins' page that composes them, isolation and a query count independent of the team."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from achievements.services import goal_recompute
from dashboards.audience import Viewpoint, dashboard_shown
from dashboards.models import Dashboard, DashboardMetric
from dashboards.services import dashboard_metric_save, dashboard_save
from hierarchy.models import AuditEntry
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save
from tests.conftest import Org, client_for
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def boards(at_noon: datetime, org: Org) -> dict[str, Dashboard]:
    """A managers' dashboard (calls with a goal, a trend and a breakdown; deals won without a
    goal, of another ruleset; the customers block), one for everyone and one for SDRs; five
    calls of the rep, minutes before noon (in today's cycle, whenever the suite runs)."""
    tenant = org.admin.tenant
    goal = org.goal(actor=org.admin)  # east's team, 100 calls a month
    org.calls(*[(timezone.now() - timezone.timedelta(minutes=n + 1)).isoformat() for n in range(5)])
    goal_recompute(goal.pk)
    with scope(tenant=tenant):
        managers = dashboard_save(tenant=tenant, title="Team", audience="managers", actor=org.admin)
        dashboard_metric_save(dashboard=managers, ruleset=org.ruleset, rule_key="dialled_calls",
                              breakdown="type", trend=3)  # fmt: skip
        unmeasured = ruleset_save(tenant=tenant, name="No goal", rules=preset_rules("deals_won"))
        dashboard_metric_save(dashboard=managers, ruleset=unmeasured, rule_key="deals_won",
                              trend=2)  # fmt: skip
        dashboard_metric_save(dashboard=managers, kind="customers")
        everyone = dashboard_save(tenant=tenant, title="All of us", audience="everyone")
        dashboard_metric_save(dashboard=everyone, ruleset=org.ruleset, rule_key="dialled_calls")
        sdrs = dashboard_save(tenant=tenant, title="SDRs", audience="role",
                              sales_role=org.sdr_role)  # fmt: skip
        dashboard_metric_save(dashboard=sdrs, ruleset=org.ruleset, rule_key="dialled_calls")
    return {"managers": managers, "everyone": everyone, "sdrs": sdrs}


def page(dashboard: Dashboard) -> str:
    return reverse("audience_dashboard", args=[dashboard.pk])


def test_each_member_sees_the_dashboards_of_their_audience(org: Org, boards) -> None:
    outsider = client_for(org.personas.outsider)
    for dashboard in boards.values():
        assert outsider.get(page(dashboard)).status_code == 404  # another tenant's
    rep = client_for(org.rep)
    assert rep.get(page(boards["managers"])).status_code == 404
    assert rep.get(page(boards["sdrs"])).status_code == 404
    assert rep.get(page(boards["everyone"])).status_code == 200
    sdr = client_for(org.sdr)
    assert sdr.get(page(boards["sdrs"])).status_code == 200
    east = client_for(org.east)
    html = east.get(page(boards["managers"])).content.decode()
    assert 'aria-current="page">Team</a>' in html
    assert "SDRs</a>" not in html  # not a tab of a manager
    assert rep.get(reverse("dashboard_first")).url == page(boards["everyone"])


def test_a_metric_with_a_goal_shows_its_target_and_status_one_without_its_value(
    org: Org, boards
) -> None:
    with scope(tenant=org.admin.tenant):
        east = org.east.__class__.objects.select_related("tenant").get(pk=org.east.pk)
        calls, won, customers = dashboard_shown(
            boards["managers"], Viewpoint.of(east), timezone.now()
        )
    (bar,) = calls.bars
    assert (bar.value, bar.team) == (5, True)  # east's team, the goal's row
    assert 0 < bar.target <= 100  # the month's target, prorated from today
    assert calls.goal is not None and len(calls.trend["points"]) == 3
    rows = calls.breakdown["rows"]
    assert rows[-1]["whole"] and rows[-1]["links"][0]["text"] == "5 records"
    assert "scope=team" in rows[-1]["links"][0]["url"]  # the records behind the number
    assert won.bars == [] and won.goal is None and won.value == 0  # no goal: no status
    assert len(won.trend["points"]) == 2
    assert customers.customers["total"].new_customers == "0"
    html = client_for(org.east).get(page(boards["managers"])).content.decode()
    assert f"<strong>5</strong> of {bar.target:,.0f}" in html
    assert "no goal: the value alone" in html


def test_a_rep_sees_their_own_numbers_and_their_teams_totals_where_allowed(
    org: Org, boards
) -> None:
    everyone = boards["everyone"]
    with scope(tenant=org.admin.tenant):
        rep = org.rep.__class__.objects.select_related("tenant").get(pk=org.rep.pk)
        (calls,) = dashboard_shown(everyone, Viewpoint.of(rep), timezone.now())
        assert [(bar.value, bar.team) for bar in calls.bars] == [(5, False)]
        html = client_for(org.rep).get(page(everyone)).content.decode()
        assert "Your own numbers" in html and "team's totals" not in html
        dashboard_save(tenant=everyone.tenant, title=everyone.title, audience="everyone",
                       reps_see_team=True, dashboard=everyone)  # fmt: skip
        rep2 = org.rep2.__class__.objects.select_related("tenant").get(pk=org.rep2.pk)
        (calls,) = dashboard_shown(everyone, Viewpoint.of(rep2, reps_see_team=True), timezone.now())
    # Rita made no call; her team (east's) made the rep's five
    assert [(bar.value, bar.team, bar.held_as) for bar in calls.bars] == [
        (0, False, ""), (5, True, "your team")
    ]  # fmt: skip
    html = client_for(org.rep2).get(page(everyone)).content.decode()
    assert f"Your own numbers and {org.east.name}'s team's totals" in html


@pytest.mark.parametrize("extra", [0, 60])
def test_the_query_count_does_not_grow_with_the_team(
    org: Org, boards, extra: int, django_assert_max_num_queries
) -> None:
    for n in range(extra):
        MemberFactory(reports_to=org.east if n % 2 else org.rep)
    east = client_for(org.east)
    with django_assert_max_num_queries(23):
        assert east.get(page(boards["managers"])).status_code == 200


def test_an_admin_composes_a_dashboard(org: Org) -> None:
    admin = client_for(org.admin)
    manage = reverse("dashboard_manage")
    assert client_for(org.rep).get(manage).status_code == 403
    missing = admin.post(manage, {"title": "", "audience": "role"})
    assert "A dashboard needs a title." in missing.content.decode()
    made = admin.post(manage, {"title": "SDR floor", "audience": "role",
                               "sales_role": org.sdr_role.pk})  # fmt: skip
    with scope(tenant=org.admin.tenant):
        dashboard = Dashboard.objects.get(title="SDR floor")
    edit = reverse("dashboard_edit", args=[dashboard.pk])
    assert made.url == edit
    assert client_for(org.personas.outsider).get(edit).status_code == 404
    rule = f"{org.ruleset.pk}:dialled_calls"
    bad = admin.post(edit, {"action": "add", "kind": "rule", "rule": rule, "breakdown": "nope",
                            "trend": "0", "cycle": "weekly"})  # fmt: skip
    assert "Dialled calls cannot be split by that field." in bad.content.decode()
    for key in ("dialled_calls", "won_value"):
        admin.post(edit, {"action": "add", "kind": "rule", "rule": f"{org.ruleset.pk}:{key}",
                          "breakdown": "", "trend": "4", "cycle": "weekly"})  # fmt: skip
    admin.post(edit, {"action": "add", "kind": "customers", "cycle": "monthly"})
    with scope(tenant=org.admin.tenant):
        metrics = list(dashboard.metrics.all())
    assert [m.rule_key or m.kind for m in metrics] == ["dialled_calls", "won_value", "customers"]
    admin.post(edit, {"action": "up", "metric": metrics[2].pk})
    with scope(tenant=org.admin.tenant):
        order = [m.rule_key or m.kind for m in dashboard.metrics.all()]
        assert order == ["dialled_calls", "customers", "won_value"]
        actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"dashboard.create", "dashboard.metric_add", "dashboard.metric_move"} <= actions
    assert client_for(org.sdr).get(page(dashboard)).status_code == 200
    admin.post(reverse("dashboard_remove", args=[dashboard.pk]))
    with scope(tenant=org.admin.tenant):
        assert not Dashboard.objects.exists()
        assert not DashboardMetric.objects.exists()


def test_a_deals_rule_can_be_split_by_its_accounts_segment(org: Org) -> None:
    admin = client_for(org.admin)
    rule = f"{org.ruleset.pk}:won_value"
    choice = admin.get(reverse("dashboard_split_fields"), {"rule": rule}).content.decode()
    assert re.search(r'<option value="account_segment"\s*>Account segment</option>', choice)
    made = admin.post(reverse("dashboard_manage"), {"title": "Board", "audience": "managers"})
    added = {"action": "add", "kind": "rule", "rule": rule, "breakdown": "account_segment",
             "trend": "0", "cycle": "monthly"}  # fmt: skip
    admin.post(made.url, added)
    with scope(tenant=org.admin.tenant):
        assert DashboardMetric.objects.get().breakdown == "account_segment"
    assert "Account segment" in admin.get(made.url).content.decode()
