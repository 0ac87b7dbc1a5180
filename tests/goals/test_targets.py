"""Targets of a cycle from a goal's definition: pure, no database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goals.calendar import TenantCalendar, cycles
from goals.distribution import OWN, DistributionError, LevelSplit
from goals.targets import RuleTarget, cycle_amounts, holder_targets, member_targets

BERLIN = TenantCalendar(time_zone="Europe/Berlin")
#        1
#      /   \
#     2     3
#    / \    |
#   4   5   6
TREE = {1: [2, 3], 2: [4, 5], 3: [6]}
LEAVES = {4, 5, 6}


def calls(amount: str, phasing: tuple[str, ...] = ()) -> RuleTarget:
    return RuleTarget("count", "number", Decimal(amount), tuple(Decimal(p) for p in phasing))


def test_a_partial_month_gets_its_share_of_days() -> None:
    goal = cycles(BERLIN, "monthly", date(2027, 3, 17), date(2027, 5, 10))
    assert [c.partial for c in goal] == [True, False, True]
    # March 17-31 is 15 of 31 days; May 1-10 is 10 of 31.
    assert cycle_amounts(calls("310"), goal) == [Decimal(150), Decimal(310), Decimal(100)]


def test_a_ratio_target_is_the_same_in_a_partial_cycle() -> None:
    goal = cycles(BERLIN, "monthly", date(2027, 3, 17), date(2027, 4, 30))
    rate = RuleTarget("ratio", "percent", Decimal("25.00"))
    assert cycle_amounts(rate, goal) == [Decimal("25.00")] * 2


def test_phasing_splits_the_total_by_percentages() -> None:
    goal = cycles(BERLIN, "quarterly", date(2027, 1, 1), date(2027, 12, 31))
    target = calls("1000", ("10", "20", "30", "40"))
    target.check(len(goal))
    assert cycle_amounts(target, goal) == [Decimal(n) for n in (100, 200, 300, 400)]


@pytest.mark.parametrize(
    ("target", "cycle_count", "message"),
    [
        (calls("100", ("50", "40")), 2, "short of 100%"),
        (calls("100", ("50", "50")), 3, "3 cycles but the phasing gives 2"),
        (RuleTarget("ratio", "percent", Decimal(25), (Decimal(100),)), 1, "Only targets"),
        (calls("10.5"), 1, "not a whole number"),
        (calls("-1"), 1, "negative"),
    ],
)
def test_targets_that_cannot_be_used_are_refused(
    target: RuleTarget, cycle_count: int, message: str
) -> None:
    with pytest.raises(DistributionError, match=message):
        target.check(cycle_count)


def test_reps_only_managers_hold_their_teams_target() -> None:
    shares = member_targets(
        calls("90"), Decimal(90), root=1, children=TREE, splits={}, holds_target=LEAVES
    )
    assert {m: t.team for m, t in shares.items()} == {1: 90, 2: 60, 4: 30, 5: 30, 3: 30, 6: 30}
    assert shares[1].own is None and shares[2].own is None
    assert sum(t.own for m, t in shares.items() if m in LEAVES) == 90


def test_a_level_by_level_split_is_equal_among_direct_reports() -> None:
    level = {1: LevelSplit("level"), 2: LevelSplit("level")}
    shares = member_targets(
        calls("100"), Decimal(100), root=1, children=TREE, splits=level, holds_target=LEAVES
    )
    assert {m: t.team for m, t in shares.items()} == {1: 100, 2: 50, 4: 25, 5: 25, 3: 50, 6: 50}
    assert shares[1].own is None and shares[2].own is None
    assert sum(t.own for m, t in shares.items() if m in LEAVES) == 100


def test_managers_too_take_a_personal_share() -> None:
    shares = member_targets(
        calls("90"), Decimal(90), root=1, children=TREE, splits={}, holds_target=set(TREE) | LEAVES
    )
    assert {t.own for t in shares.values()} == {15}  # six people, fifteen each
    assert sum(t.own for t in shares.values()) == 90


def test_custom_amounts_scale_in_a_partial_cycle() -> None:
    splits = {1: LevelSplit("custom", {2: Decimal(70), 3: Decimal(30)})}
    target = calls("100")
    full = member_targets(target, Decimal(100), root=1, children=TREE, splits=splits,
                          holds_target=LEAVES)  # fmt: skip
    assert (full[2].team, full[3].team) == (70, 30)
    partial = member_targets(target, Decimal(50), root=1, children=TREE, splits=splits,
                             holds_target=LEAVES)  # fmt: skip
    assert (partial[2].team, partial[3].team) == (35, 15)


def test_ratio_targets_are_everyones_not_split() -> None:
    rate = RuleTarget("ratio", "percent", Decimal("25"))
    shares = member_targets(rate, Decimal(25), root=1, children=TREE, splits={},
                            holds_target=LEAVES)  # fmt: skip
    assert {t.team for t in shares.values()} == {Decimal(25)}
    assert shares[4].own == 25 and shares[1].own is None


def test_kpi_template_holders_hold_the_amount_and_teams_add_up() -> None:
    shares = holder_targets(calls("60"), Decimal(60), root=1, children=TREE, holders={4, 6})
    assert shares[4].own == 60 and shares[5].own is None
    assert (shares[2].team, shares[3].team, shares[1].team) == (60, 60, 120)


@given(
    amount=st.integers(min_value=0, max_value=10**7),
    weights=st.lists(st.integers(min_value=0, max_value=1000), min_size=2, max_size=2),
    manager_holds=st.booleans(),
)
def test_leaf_targets_always_add_up_to_the_team(
    amount: int, weights: list[int], manager_holds: bool
) -> None:
    splits = {}
    if any(weights):
        total = sum(weights)
        splits[1] = LevelSplit("percentage", {2: Decimal(weights[0]) * 100 / total,
                                              3: Decimal(weights[1]) * 100 / total})  # fmt: skip
    holders = LEAVES | ({1} if manager_holds else set())
    if manager_holds and 1 in splits:
        splits[1] = LevelSplit("equal")
    shares = member_targets(calls(str(amount)), Decimal(amount), root=1, children=TREE,
                            splits=splits, holds_target=holders)  # fmt: skip
    assert sum(t.own for t in shares.values() if t.own is not None) == amount
    for parent, reports in TREE.items():
        own = shares[parent].own or 0
        assert sum(shares[r].team for r in reports) + own == shares[parent].team


def test_own_share_key_is_usable_in_a_percentage_split() -> None:
    split = LevelSplit("percentage", {2: Decimal(40), 3: Decimal(40), OWN: Decimal(20)})
    shares = member_targets(calls("100"), Decimal(100), root=1, children=TREE,
                            splits={1: split}, holds_target=LEAVES | {1})  # fmt: skip
    assert shares[1].own == 20
