"""The demo's sales roles: three roles with KPIs mapped to activity types, members given them,
and a rep given the SDR role sees the SDR KPIs on Assigned to me from the next cycle."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django_scopes import scope

from achievements.services import goal_recompute
from goals.models import tenant_today
from goals.roles import role_mapping
from hierarchy.models import Member, Tenant
from hierarchy.services import member_update
from lab.demo_roles import CALLS, MEETINGS, demo_roles_build, typed_rule
from lab.demo_tenant import demo_domain, demo_tenant_build
from rulesets.catalogue import Vocabulary
from rulesets.presets import preset_rules
from rulesets.reference import matches
from rulesets.spec import ruleset_parse
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_a_typed_rule_is_the_of_chosen_types_preset_under_its_own_name() -> None:
    vocab = {Vocabulary.ACTIVITY_TYPES: set(CALLS)}
    done = typed_rule("calls_made", "Calls made", CALLS, completed=True)
    logged = typed_rule("calls_logged", "Calls logged", CALLS)
    for rule, slug in ((done, "activities_completed"), (logged, "activities_added")):
        (preset,) = preset_rules(slug, types=CALLS)
        assert rule == preset | {"key": rule["key"], "name": rule["name"]}
    (done, logged) = ruleset_parse([done, logged], vocab=vocab)
    assert (done.key, done.name) == ("calls_made", "Calls made")
    planned = {"type": CALLS[0], "status": "planned"}
    assert matches(logged, planned) and not matches(done, planned)
    assert matches(done, planned | {"status": "completed"})
    assert not matches(logged, planned | {"type": "Product demo"})


def test_the_demo_has_three_roles_and_a_rep_given_one_sees_its_kpis_next_cycle() -> None:
    demo_tenant_build(slug="demo", members=12, days=40, activities=3000)
    tenant = Tenant.objects.get(slug="demo")
    goals = demo_roles_build(tenant)
    rows = {row.role.name: row for row in role_mapping(tenant)}
    assert list(rows) == ["Account executive", "Account manager", "SDR"]
    sdr = {kpi.rule.name: kpi.activity_types for kpi in rows["SDR"].kpis}
    assert sdr == {"Calls made": CALLS, "Meetings booked": MEETINGS}
    ae = {kpi.rule.name: kpi.activity_types for kpi in rows["Account executive"].kpis}
    assert ae == {"Demos completed": ["Product demo", "Technical deep dive"], "Deals won": None}
    assert all(kpi.target.amount > 0 for row in rows.values() for kpi in row.kpis)
    assert sum(row.holders for row in rows.values()) > 0
    assert [g.pk for g in demo_roles_build(tenant)] == [g.pk for g in goals]  # made once

    with scope(tenant=tenant):
        rep = Member.objects.select_related("user", "tenant", "sales_role").get(
            user__email=f"rep@{demo_domain('demo')}"
        )
    assert rep.sales_role.name == "Account executive"  # "Account Executive" by title
    member_update(member=rep, name=rep.name, title=rep.title, role=rep.role,
                  sales_role=rows["SDR"].role, actor="test")  # fmt: skip
    sdr_goal = next(goal for goal in goals if goal.sales_role.name == "SDR")
    goal_recompute(sdr_goal.pk)
    page = client_for(rep).get("/me/").content.decode()
    assert "SDR KPIs" not in page and "Account executive KPIs" in page
    today = tenant_today(tenant)
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    zone = sdr_goal.cycles()[0].calendar.zone
    with time_machine.travel(datetime.combine(next_month, time(10), zone), tick=False):
        goal_recompute(sdr_goal.pk)
        page = client_for(rep).get("/me/").content.decode()
    assert "SDR KPIs" in page
    assert "Calls made" in page and "Meetings booked" in page
