"""Roll-up semantics of every aggregation, checked against sums computed here by hand.

East's team: the rep makes calls of 60 s and 180 s to leads L1 and L2; rep2 one of 600 s to
L2. A team's average is all durations over all calls (280 s), never the average of the two
reps' averages (360 s); its minimum and maximum are over the whole team; its distinct count is
the number of different leads, not the sum of each rep's (L2 counts once). Then the same on
the pure roll-up (``achievements.rollup``), over a small tree and every kind of part.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django_scopes import scope

from achievements.models import Achievement
from achievements.rollup import TreeOrder, rolled_up
from achievements.services import goal_recompute
from crm.ingest import records_upsert
from goals.services import GoalDraft, TargetInput, goal_save
from rulesets.parts import Parts
from rulesets.services import ruleset_save
from rulesets.spec import Aggregation
from tests.conftest import Org

D = Decimal

CALLS = [{"field": "category", "op": "eq", "value": "call"}]
RULES = [
    {"key": key, "name": key, "entity": "activity", "aggregation": aggregation, "conditions": CALLS}
    | ({"field": field} if field else {})
    for key, aggregation, field in (
        ("calls", "count", None),
        ("talk_time", "sum", "duration"),
        ("average_call", "average", "duration"),
        ("shortest_call", "min", "duration"),
        ("longest_call", "max", "duration"),
        ("leads_called", "distinct_count", "lead"),
    )
]


@pytest.mark.django_db
def test_each_aggregation_rolls_up_from_parts(org: Org) -> None:
    tenant = org.admin.tenant
    day = org.today.replace(day=1) - timedelta(days=1)
    records_upsert(
        tenant=tenant,
        entity="lead",
        records=[{"external_id": f"L{n}", "owner_email": org.rep.email, "name": f"L{n}"}
                 for n in (1, 2)],
    )  # fmt: skip
    records_upsert(
        tenant=tenant,
        entity="activity",
        records=[
            {"external_id": f"a{n}", "owner_email": owner.email, "type": "Call",
             "occurred_at": f"{day}T1{n}:00", "duration_seconds": seconds,
             "lead_external_id": lead}
            for n, (owner, seconds, lead) in enumerate(
                [(org.rep, 60, "L1"), (org.rep, 180, "L2"), (org.rep2, 600, "L2")]
            )
        ],
    )  # fmt: skip
    ruleset = ruleset_save(tenant=tenant, name="Call quality", rules=RULES)
    goal = goal_save(
        draft=GoalDraft(
            name="Call quality",
            ruleset=ruleset,
            team=org.east,
            cycle="monthly",
            start=day.replace(day=1),
            end=day,
            backfill=True,
            targets={rule["key"]: TargetInput(Decimal(1)) for rule in RULES},
        ),
        actor=org.admin,
    )
    goal_recompute(goal.pk)
    with scope(tenant=tenant):
        rows = Achievement.objects.filter(goal=goal).select_related("rule")
        got = {(row.rule.key, row.member_id): (row.value, row.team_value) for row in rows}

    def at(key: str, member) -> tuple:  # noqa: ANN001
        return got[(key, member.pk)]

    assert at("calls", org.east) == (0, 3)
    assert at("talk_time", org.east) == (0, 840)
    assert at("average_call", org.rep) == (120, 120)
    assert at("average_call", org.rep2) == (600, 600)
    assert at("average_call", org.east) == (None, 280)  # 840 / 3, not (120 + 600) / 2
    assert at("shortest_call", org.east) == (None, 60)
    assert at("longest_call", org.east) == (None, 600)
    assert at("leads_called", org.rep) == (2, 2)
    assert at("leads_called", org.rep2) == (1, 1)
    assert at("leads_called", org.east) == (0, 2)  # L2 once, not 2 + 1


# The roll-up itself, without a database: 1 leads 2 and 5; 2 leads 3 and 4.
MANAGERS = {2: 1, 5: 1, 3: 2, 4: 2}


def test_a_tree_in_order_keeps_each_subtree_in_one_slice() -> None:
    tree = TreeOrder.of(1, MANAGERS)
    assert tree.members == [1, 2, 3, 4, 5]
    assert [tree.members[p] if p >= 0 else None for p in tree.parents] == [None, 1, 2, 2, 1]
    assert [tree.members[place:end] for place, end in enumerate(tree.ends)] == [
        [1, 2, 3, 4, 5],
        [2, 3, 4],
        [3],
        [4],
        [5],
    ]


def test_each_part_rolls_up_its_own_way() -> None:
    tree = TreeOrder.of(1, MANAGERS)
    parts = {
        3: Parts(count=2, total=D(30), minimum=D(10), maximum=D(20), distinct={"a", "b"}),
        4: Parts(count=1, total=D(60), minimum=D(60), maximum=D(60), distinct={"b"}),
        5: Parts(count=1, total=D(5), minimum=D(5), maximum=D(5), distinct={"c"}),
    }
    expected = {
        Aggregation.COUNT: ([0, 0, 2, 1, 1], [4, 3, 2, 1, 1]),
        Aggregation.SUM: ([0, 0, 30, 60, 5], [95, 90, 30, 60, 5]),
        # 90 / 3 for 2's team, not the average of 15 and 60
        Aggregation.AVERAGE: ([None, None, 15, 60, 5], [D(95) / 4, 30, 15, 60, 5]),
        Aggregation.MIN: ([None, None, 10, 60, 5], [5, 10, 10, 60, 5]),
        Aggregation.MAX: ([None, None, 20, 60, 5], [60, 60, 20, 60, 5]),
        Aggregation.DISTINCT_COUNT: ([0, 0, 2, 1, 1], [3, 2, 2, 1, 1]),  # "b" once
    }
    for aggregation, (own_values, team_values) in expected.items():
        own, team = rolled_up(parts, tree, aggregation)
        assert own.values(aggregation) == own_values, aggregation
        assert team.values(aggregation) == team_values, aggregation
        assert team.count == [4, 3, 2, 1, 1]


def test_a_column_agrees_with_parts_merged_by_hand() -> None:
    tree = TreeOrder.of(1, MANAGERS)
    parts = {1: Parts(count=1, total=D("2.5")), 4: Parts(count=3, total=D("7.25"))}
    _own, team = rolled_up(parts, tree, Aggregation.AVERAGE)
    merged = Parts()
    for member_parts in parts.values():
        merged.merge(member_parts)
    assert team.values(Aggregation.AVERAGE)[0] == merged.value(Aggregation.AVERAGE)
