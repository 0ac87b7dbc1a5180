from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rulesets.catalogue import Condition, Op
from rulesets.reference import condition_holds, evaluate, team_achievements
from rulesets.spec import ruleset_parse

D = Decimal


@pytest.mark.parametrize(
    ("op", "wanted", "value", "holds"),
    [
        (Op.EQ, "won", "won", True),
        (Op.EQ, "won", None, False),
        (Op.NE, "won", None, True),
        (Op.NE, "won", "won", False),
        (Op.IN, ("a", "b"), "b", True),
        (Op.NOT_IN, ("a", "b"), None, True),
        (Op.GT, D(5), D(5), False),
        (Op.GTE, D(5), D(5), True),
        (Op.LT, D(5), None, False),
        (Op.BETWEEN, (D(1), D(3)), D(3), True),
        (Op.BETWEEN, (D(1), D(3)), D("3.01"), False),
        (Op.CONTAINS, "Web", "website form", True),
        (Op.IS_EMPTY, None, "", True),
        (Op.IS_EMPTY, None, None, True),
        (Op.IS_NOT_EMPTY, None, "x", True),
    ],
)
def test_it_applies_each_operator_like_sql(op, wanted, value, holds):
    assert condition_holds(Condition("f", op, wanted), {"f": value}) is holds


def at(day: int) -> datetime:
    return datetime(2027, 3, day, 12, tzinfo=UTC)


RECORDS = [
    {"owner": 1, "status": "won", "value": D(100), "currency": "USD", "closed_at": at(1)},
    {"owner": 1, "status": "won", "value": D(50), "currency": "USD", "closed_at": at(9)},
    {"owner": 1, "status": "lost", "value": D(70), "currency": "USD", "closed_at": at(2)},
    {"owner": 2, "status": "won", "value": D(30), "currency": "USD", "closed_at": at(3)},
    {"owner": 2, "status": "won", "value": D(40), "currency": "EUR", "closed_at": at(3)},  # not $
    {"owner": 3, "status": "won", "value": D(999), "currency": "USD", "closed_at": at(3)},  # team
    {"owner": 2, "status": "won", "value": D(5), "currency": "USD", "closed_at": at(31)},  # window
]


def test_it_groups_by_member_and_bucket_within_the_window_and_team():
    won_value, won = ruleset_parse(
        [
            {
                "key": "v",
                "entity": "opportunity",
                "aggregation": "sum",
                "field": "value",
                "conditions": [{"field": "status", "op": "eq", "value": "won"}],
            },
            {
                "key": "n",
                "entity": "opportunity",
                "conditions": [{"field": "status", "op": "eq", "value": "won"}],
            },
        ]
    )
    week = lambda when: when.isocalendar().week  # noqa: E731
    window = {"start": at(1), "end": at(30), "members": {1, 2}, "bucket": week}
    sums = evaluate(won_value, RECORDS, **window)
    assert sums == {
        (1, 9): D(100),
        (1, 10): D(50),
        (2, 9): D(30),
    }
    counts = evaluate(won, RECORDS, **window)
    assert sum(counts.values()) == 4  # counting deals: every currency


def test_a_team_value_walks_the_lines_at_each_records_moment():
    """A rep (3) moves from manager 1's team to manager 2's on the 15th: the month's first
    half stays with 1, the second goes to 2, and the head (0) has both; the rep's own value
    is the whole month."""
    [calls] = ruleset_parse([{"key": "n", "entity": "opportunity"}])
    moved = at(15)
    lines = [
        (0, None, datetime(1970, 1, 1, tzinfo=UTC), None),
        (1, 0, datetime(1970, 1, 1, tzinfo=UTC), None),
        (2, 0, datetime(1970, 1, 1, tzinfo=UTC), None),
        (3, 1, datetime(1970, 1, 1, tzinfo=UTC), moved),
        (3, 2, moved, None),
    ]
    records = [{"owner": 3, "closed_at": at(day)} for day in (2, 9, 15, 20)]
    got = team_achievements(
        calls, records, lines=lines, head=0, cycles=[(at(1), datetime(2027, 4, 1, tzinfo=UTC))]
    )
    assert got == {(0, 0): (0, 4), (1, 0): (0, 2), (2, 0): (0, 2), (3, 0): (4, 4)}
    team_of_1 = team_achievements(
        calls, records, lines=lines, head=1, cycles=[(at(1), datetime(2027, 4, 1, tzinfo=UTC))]
    )
    assert team_of_1 == {(1, 0): (0, 2), (3, 0): (2, 2)}  # listed: in the team part of the time


def test_a_breakdown_keys_each_value_and_puts_every_empty_one_under_none():
    [won] = ruleset_parse(
        [{"key": "v", "entity": "opportunity", "aggregation": "sum", "field": "value"}]
    )
    records = [
        {"owner": 1, "value": D(10), "currency": "USD", "closed_at": at(1), "lead": "L1"},
        {"owner": 1, "value": D(5), "currency": "USD", "closed_at": at(2), "lead": "L1"},
        {"owner": 1, "value": D(7), "currency": "USD", "closed_at": at(2), "lead": ""},
        {"owner": 1, "value": D(1), "currency": "USD", "closed_at": at(3), "lead": None},
        {"owner": 2, "value": D(3), "currency": "USD", "closed_at": at(3), "lead": "L2"},
    ]
    window = {"start": at(1), "end": at(30), "members": {1, 2}, "bucket": lambda when: 0}
    assert evaluate(won, records, by="lead", **window) == {
        (1, 0, "L1"): D(15),
        (1, 0, None): D(8),
        (2, 0, "L2"): D(3),
    }
