"""Roll-up through the team tree for every member at once. Pure, no Django.

Members are laid out in tree order (a manager before their reports), so each member's team
is one slice: from their place to the end of their subtree. Team counts and sums are then
differences of running totals; minimums, maximums and distinct values go up the tree once,
reports before managers. A team's value always comes from the team's parts, never from its
members' values: a ratio is sum over sum and an average is the team's total over its count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from itertools import accumulate

from rulesets.parts import Parts, aggregate
from rulesets.spec import Aggregation


@dataclass(frozen=True)
class TreeOrder:
    """A team in tree order. ``parents``: each member's manager's place (-1 for the team's
    head); ``ends``: the place just past each member's subtree."""

    members: list[int]
    parents: list[int]
    ends: list[int]

    @classmethod
    def of(cls, root: int, parent: Mapping[int, int]) -> TreeOrder:
        """The team under ``root`` from each member's manager (``parent``, member id -> id)."""
        below: dict[int, list[int]] = {}
        for child, manager in parent.items():
            below.setdefault(manager, []).append(child)
        members: list[int] = []
        parents: list[int] = []
        pending = [(root, -1)]
        while pending:
            member, manager_place = pending.pop()
            place = len(members)
            members.append(member)
            parents.append(manager_place)
            pending.extend((child, place) for child in reversed(below.get(member, ())))
        ends = list(range(1, len(members) + 1))
        for place in range(len(members) - 1, 0, -1):  # reports before managers
            manager_place = parents[place]
            ends[manager_place] = max(ends[manager_place], ends[place])
        return cls(members=members, parents=parents, ends=ends)


@dataclass(frozen=True)
class Column:
    """One counted rule's parts in one cycle for every member in tree order. Parts that the
    aggregation does not use hold what empty parts hold (0, or None for min and max)."""

    count: list[int]
    total: list[Decimal]
    minimum: list[Decimal | None]
    maximum: list[Decimal | None]
    distinct: list[int]  # how many different values

    def values(self, aggregation: Aggregation) -> list[Decimal | None]:
        """Each member's value, as ``Parts.value`` computes it."""
        parts = self.count, self.total, self.minimum, self.maximum, self.distinct
        return list(map(partial(aggregate, aggregation), *parts))


_USES = {
    Aggregation.SUM: "total",
    Aggregation.AVERAGE: "total",
    Aggregation.MIN: "minimum",
    Aggregation.MAX: "maximum",
    Aggregation.DISTINCT_COUNT: "distinct",
}


def rolled_up(
    parts: Mapping[int, Parts], tree: TreeOrder, aggregation: Aggregation
) -> tuple[Column, Column]:
    """(own, team) columns from the members' own parts (member id -> parts; absent: none).

    Counts always, and the one other part that ``aggregation`` reads."""
    size = len(tree.members)
    mine = [parts.get(member) for member in tree.members]
    count = [p.count if p else 0 for p in mine]
    own: dict[str, list] = {
        "count": count,
        "total": [Decimal(0)] * size,
        "minimum": [None] * size,
        "maximum": [None] * size,
        "distinct": [0] * size,
    }
    team = own | {"count": _subtree_sums(count, tree)}
    match _USES.get(aggregation):
        case "total":
            own["total"] = [p.total if p else Decimal(0) for p in mine]
            team["total"] = _subtree_sums(own["total"], tree)
        case "minimum" | "maximum" as extreme:
            own[extreme] = [getattr(p, extreme) if p else None for p in mine]
            pick = min if extreme == "minimum" else max
            team[extreme] = _subtree_extremes(own[extreme], tree, pick)
        case "distinct":
            sets = [p.distinct if p else set() for p in mine]
            own["distinct"] = [len(values) for values in sets]
            team["distinct"] = [len(values) for values in _subtree_unions(sets, tree)]
    return Column(**own), Column(**team)


def _subtree_sums(values: list, tree: TreeOrder) -> list:
    running = list(accumulate(values, initial=0))
    return [running[end] - running[place] for place, end in enumerate(tree.ends)]


def _subtree_extremes(
    values: list[Decimal | None], tree: TreeOrder, pick: Callable[[Decimal, Decimal], Decimal]
) -> list[Decimal | None]:
    team = list(values)
    for place in range(len(team) - 1, 0, -1):
        value, up = team[place], tree.parents[place]
        if value is not None:
            team[up] = value if team[up] is None else pick(team[up], value)
    return team


def _subtree_unions(values: list[set], tree: TreeOrder) -> list[set]:
    team = [set(members_values) for members_values in values]
    for place in range(len(team) - 1, 0, -1):
        team[tree.parents[place]] |= team[place]
    return team
