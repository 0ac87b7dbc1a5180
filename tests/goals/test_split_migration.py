"""Goals made before "equal" meant per person keep their numbers."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django_scopes import scope

from goals.models import GoalSplit
from goals.services import goal_plan
from tests.conftest import Org

pytestmark = pytest.mark.django_db
migration = importlib.import_module("goals.migrations.0002_quotas_and_equal_per_person")


def test_existing_equal_levels_become_level_by_level(org: Org) -> None:
    goal = org.goal(actor=org.admin, team=org.admin, default_split="level")
    with scope(tenant=goal.tenant_id):
        rule = org.ruleset.rules.get(key="dialled_calls")
        GoalSplit.objects.create(
            tenant=goal.tenant, goal=goal, rule=rule, parent=org.east, method="equal"
        )

    migration.equal_splits_stay_level_by_level(apps, None)

    with scope(tenant=goal.tenant_id):
        assert GoalSplit.objects.get(goal=goal).method == "level"
    plan = goal_plan(goal)
    targets = plan.cycle_targets(rule, plan.cycles[1])  # a full month: 100 calls
    # Halved at each level, as before: east's two reps 25 each, west's one rep 50.
    assert {targets[m.pk].own for m in (org.rep, org.rep2)} == {Decimal(25)}
    assert targets[org.sdr.pk].own == 50
