"""The data migration that turns KPI templates by title into sales roles keeps every goal's
numbers: the same members hold the same targets in every cycle, stored quotas included."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_scopes import scope, scopes_disabled

from achievements.models import Achievement
from achievements.services import goal_recompute
from goals.models import Goal, Quota
from goals.services import TargetInput, goal_plan
from hierarchy.models import Member, SalesRole
from tests.conftest import Org, refreshed
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("goals", "0002_quotas_and_equal_per_person"), ("hierarchy", "0007_sales_roles")]


def migrate(targets: list[tuple[str, str]]):  # noqa: ANN201
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def numbers(goal: Goal) -> dict:
    """Every member's own and team target per rule and cycle, the stored quotas and the
    computed achievements' targets."""
    plan = goal_plan(goal)
    with scope(tenant=goal.tenant_id):
        quotas = sorted(
            Quota.objects.filter(goal=goal).values_list("member_id", "rule_id", "cycle_index",
                                                        "own", "team")
        )  # fmt: skip
        achieved = sorted(
            Achievement.objects.filter(goal=goal).values_list("member_id", "rule_id",
                                                              "cycle_index", "target",
                                                              "team_target")
        )  # fmt: skip
    derived = {cycle.index: plan.member_targets(cycle) for cycle in plan.cycles}
    return {"holders": plan.holders, "derived": derived, "quotas": quotas, "achieved": achieved}


def test_each_title_template_becomes_a_role_and_keeps_its_numbers(org: Org) -> None:
    tenant = org.admin.tenant
    with scope(tenant=tenant):
        lower = SalesRole.objects.create(tenant=tenant, name="sdr (old)")
    # Members as the title templates saw them: "SDR" and "sdr" are two titles.
    late = MemberFactory(reports_to=org.east, title="SDR", name="Late SDR", sales_role=org.sdr_role)
    quiet = MemberFactory(reports_to=org.east, title="sdr", name="Quiet sdr", sales_role=lower)
    gone = MemberFactory(reports_to=org.west, title="SDR", name="Gone SDR", sales_role=org.sdr_role)
    with scopes_disabled():
        Member.objects.filter(pk=gone.pk).update(is_active=False)
    refreshed(org.admin, org.east, org.west, org.sdr)
    start = org.today.replace(day=1)
    weekly = org.goal(actor=org.admin, team=org.admin, name="SDR weekly", cycle="weekly",
                      sales_role=org.sdr_role, start=start, backfill=True,
                      targets={"dialled_calls": TargetInput(Decimal(60))})  # fmt: skip
    monthly = org.goal(actor=org.admin, team=org.admin, name="sdr monthly", sales_role=lower,
                       targets={"dialled_calls": TargetInput(Decimal(200))})  # fmt: skip
    team_goal = org.goal(name="East calls")
    goals = (weekly, monthly, team_goal)
    for goal in goals:
        goal_recompute(goal.pk)
    before = {goal.pk: numbers(goal) for goal in goals}
    assert before[weekly.pk]["holders"] == {org.sdr.pk, late.pk}
    assert before[monthly.pk]["holders"] == {quiet.pk}

    old = migrate(BEFORE)  # back to KPI templates by title
    OldGoal, OldMember = old.get_model("goals", "Goal"), old.get_model("hierarchy", "Member")
    OldRole = old.get_model("hierarchy", "SalesRole")
    with scope(tenant=tenant.pk):
        OldGoal.objects.filter(pk=weekly.pk).update(title="SDR")
        OldGoal.objects.filter(pk=monthly.pk).update(title="sdr")
        OldMember.objects.filter(tenant_id=tenant.pk).update(sales_role=None)
        OldRole.objects.filter(tenant_id=tenant.pk).delete()
        OldRole.objects.create(tenant_id=tenant.pk, name="SDR", description="made by hand")
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    with scope(tenant=tenant):
        goals = [Goal.objects.select_related("tenant", "team", "sales_role").get(pk=g.pk)
                 for g in goals]  # fmt: skip
        roles = {role.name: role for role in SalesRole.objects.all()}
        has = dict(Member.objects.values_list("name", "sales_role__name"))
    # A name taken in any case (the role made by hand, then "SDR (2)") is numbered.
    assert set(roles) == {"SDR", "SDR (2)", "sdr (3)"}
    assert goals[0].sales_role.name == "SDR (2)"
    assert goals[1].sales_role.name == "sdr (3)"
    assert goals[2].sales_role is None
    assert has["Sam SDR"] == has["Late SDR"] == has["Gone SDR"] == "SDR (2)"
    assert has["Quiet sdr"] == "sdr (3)"
    assert has[org.rep.name] is None
    for goal in goals:
        goal_recompute(goal.pk)
        assert numbers(goal) == before[goal.pk]
