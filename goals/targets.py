"""From a goal's target definition to every member's target in one cycle.

Pure standard library, no Django. A goal defines, per rule, a team target per cycle (or a total
phased across its cycles by percentage) and how each level of the tree splits what it receives.
This module turns that into the team target of each cycle and into each member's personal
("own") and team target, using ``goals.distribution`` for every split so that shares always add
up exactly.

Additive metrics (counts, sums, distinct counts) trickle down. Ratios, averages, minimums and
maximums do not add up across people: a 25% conversion target for a team means 25% for each
member, so every member holds the team's target unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from .calendar import Cycle
from .distribution import (
    COUNT_QUANTUM,
    CURRENCY_QUANTUM,
    DistributionError,
    LevelSplit,
    check_percentages,
    distribute,
    personal_targets,
    phase,
)

K = TypeVar("K", bound=Hashable)

ADDITIVE = frozenset({"count", "sum", "distinct_count"})
# Targets that are counted in whole units; sums of numbers and money are kept to the cent.
_WHOLE_UNITS = frozenset({"count", "distinct_count"})


def is_additive(aggregation: str) -> bool:
    """Whether team values are sums of members' values, so that targets split among them."""
    return aggregation in ADDITIVE


def quantum_for(aggregation: str, unit: str) -> Decimal:
    """The smallest step of a target: one unit for counts and durations (seconds), else a cent."""
    if aggregation in _WHOLE_UNITS or unit == "duration":
        return COUNT_QUANTUM
    return CURRENCY_QUANTUM


@dataclass(frozen=True)
class RuleTarget:
    """One rule's target in a goal.

    ``amount`` is the team target of every full cycle; with ``phasing`` (one percentage per
    cycle, adding up to 100) it is instead the total over the whole goal, split across cycles.
    """

    aggregation: str
    unit: str
    amount: Decimal
    phasing: tuple[Decimal, ...] = ()

    @property
    def quantum(self) -> Decimal:
        return quantum_for(self.aggregation, self.unit)

    @property
    def additive(self) -> bool:
        return is_additive(self.aggregation)

    def check(self, cycle_count: int) -> None:
        """Raise DistributionError when the amount or the phasing cannot be used as given."""
        if self.amount < 0:
            raise DistributionError(f"The target is negative ({self.amount}).")
        if self.additive and self.amount % self.quantum:
            raise DistributionError(
                f"The target {self.amount} is not a whole number of {self.quantum}."
            )
        if not self.phasing:
            return
        if not self.additive:
            raise DistributionError(
                "Only targets that add up across cycles (counts and sums) can be phased."
            )
        if len(self.phasing) != cycle_count:
            raise DistributionError(
                f"The goal has {cycle_count} cycles but the phasing gives "
                f"{len(self.phasing)} percentages."
            )
        check_percentages(dict(enumerate(self.phasing, start=1)))


def cycle_amounts(target: RuleTarget, goal_cycles: Sequence[Cycle]) -> list[Decimal]:
    """The team target of each cycle, in order.

    Phased targets split the total by the percentages, exactly. Otherwise every full cycle gets
    ``amount``; a partial first or last cycle of an additive target gets its share in
    proportion to the local days it covers (half of March, half the monthly target), rounded
    to the quantum. Ratios and averages keep the same target whatever the cycle's length.
    """
    if target.phasing:
        return phase(target.amount, list(target.phasing), target.quantum)
    amounts = []
    for cycle in goal_cycles:
        if not (cycle.partial and target.additive):
            amounts.append(target.amount)
            continue
        covered = (cycle.local_end - cycle.local_start).days
        natural = (cycle.natural_end - cycle.natural_start).days
        prorated = target.amount * Decimal(covered) / Decimal(natural)
        amounts.append(prorated.quantize(target.quantum, rounding=ROUND_HALF_UP))
    return amounts


@dataclass(frozen=True)
class MemberTarget:
    """``own`` is None for a manager who holds no personal target (their team holds it)."""

    own: Decimal | None
    team: Decimal


def member_targets(
    target: RuleTarget,
    team_amount: Decimal,
    *,
    root: K,
    children: Mapping[K, Sequence[K]],
    splits: Mapping[K, LevelSplit],
    holds_target: Callable[[K], bool] | Collection[K],
) -> dict[K, MemberTarget]:
    """Each member's own and team target when the team's target for a cycle is ``team_amount``.

    Additive targets go down the tree level by level with ``splits`` (equal where a level has
    none). A custom split is a set of amounts for a full cycle; in a cycle whose amount differs
    (a partial cycle) they are used as proportions, so the shares still add up exactly.
    Non-additive targets are the team's target for everyone who holds one.
    """
    holds = holds_target if callable(holds_target) else holds_target.__contains__
    members = _tree_order(root, children)

    def holding(member: K) -> bool:
        return holds(member) or not children.get(member)

    if not target.additive:
        return {
            member: MemberTarget(own=team_amount if holding(member) else None, team=team_amount)
            for member in members
        }
    allocations = distribute(
        team_amount,
        root,
        children,
        splits,
        holds,
        target.quantum,
        scale_custom=team_amount != target.amount,
    )
    owns = personal_targets(allocations, children)
    return {
        member: MemberTarget(
            own=owns[member] if holding(member) else None, team=allocations[member]
        )
        for member in members
    }


def holder_targets(
    target: RuleTarget,
    amount: Decimal,
    *,
    root: K,
    children: Mapping[K, Sequence[K]],
    holders: Collection[K],
) -> dict[K, MemberTarget]:
    """Targets of a KPI template: every holder's own target is ``amount`` itself.

    A team target is the sum of the holders' targets in that subtree for additive metrics (so
    a manager of five SDRs with 60 calls each has a team target of 300), and ``amount`` for a
    ratio or an average. Members who hold none and lead no holder have a team target of zero.
    """
    members = _tree_order(root, children)
    team: dict[K, Decimal] = {}
    for member in reversed(members):  # children before parents
        below = [team[child] for child in children.get(member, ())]
        own = amount if member in holders else Decimal(0)
        if target.additive:
            team[member] = own + sum(below, Decimal(0))
        else:
            team[member] = amount if member in holders or any(below) else Decimal(0)
    return {
        member: MemberTarget(own=amount if member in holders else None, team=team[member])
        for member in members
    }


def _tree_order(root: K, children: Mapping[K, Sequence[K]]) -> list[K]:
    order, pending = [], [root]
    while pending:
        node = pending.pop()
        order.append(node)
        pending.extend(reversed(children.get(node, ())))
    return order
