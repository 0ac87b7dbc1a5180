"""Closed cycles computed before quotas existed keep the targets they were closed with."""

from __future__ import annotations

import importlib
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django_scopes import scope

from achievements.models import Achievement
from achievements.services import goal_recompute
from goals.models import Goal, Quota
from goals.services import TargetInput
from hierarchy.services import member_move
from tests.conftest import Org

pytestmark = pytest.mark.django_db
migration = importlib.import_module(
    "achievements.migrations.0008_closed_cycles_keep_their_targets_as_quotas"
)


def targets(goal: Goal, cycle: int) -> dict[int, tuple]:
    with scope(tenant=goal.tenant_id):
        rows = Achievement.objects.filter(goal=goal, cycle_index=cycle, rule__key="dialled_calls")
        return {row.member_id: (row.target, row.team_target) for row in rows}


def test_a_closed_cycles_targets_become_its_quotas(org: Org) -> None:
    first = (org.today.replace(day=1) - timedelta(days=1)).replace(day=1)
    goal = org.goal(actor=org.admin, team=org.admin, start=first, backfill=True,
                    targets={"dialled_calls": TargetInput(Decimal(40))})  # fmt: skip
    goal_recompute(goal.pk, close_before=goal.cycles()[1].start)
    closed = targets(goal, 0)
    with scope(tenant=goal.tenant_id):
        Quota.objects.filter(goal=goal).delete()  # as before quotas were stored
    member_move(member=org.east, reports_to=org.west, actor=org.admin)

    migration.closed_targets_to_quotas(apps, SimpleNamespace(connection=connection))
    goal_recompute(goal.pk, all_cycles=True)

    assert targets(goal, 0) == closed  # not derived again from the tree as it is now
    with scope(tenant=goal.tenant_id):
        stored = Quota.objects.filter(goal=goal, cycle_index=0)
        assert stored.count() == len([t for t in closed.values() if t[1] is not None])
        assert {q.set_by for q in stored} == {migration.SET_BY}
