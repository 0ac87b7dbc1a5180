"""Roll-up through the team tree for every member at once. Pure, no Django.

Members are laid out in tree order (a manager before their reports), so each member's team
is one slice: from their place to the end of their subtree. Team counts and sums are then
differences of running totals; minimums, maximums and distinct values go up the tree once,
reports before managers. A team's value always comes from the team's parts, never from its
members' values: a ratio is sum over sum and an average is the team's total over its count.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from itertools import accumulate
from operator import add, or_
from typing import Any, TypeVar

from hierarchy.history import Path
from rulesets.parts import Parts, aggregate
from rulesets.spec import Aggregation

Node = TypeVar("Node", bound=Hashable)


@dataclass(frozen=True)
class TreeOrder:
    """A team in tree order: ``nodes`` are the places in it (a manager's before their
    reports'), keyed by what the parts are keyed by. ``parents``: each node's manager's place
    (-1 for the team's head); ``ends``: the place just past each node's subtree.

    A member holds one node in a tree as it stands (``of``: nodes are member ids), or one for
    each place they had in the team over time (``of_paths``: nodes are paths from the head):
    ``members`` lists each member once, ``owners`` each node's member's place in it."""

    nodes: list[Hashable]
    parents: list[int]
    ends: list[int]
    members: list[int]
    owners: list[int]

    @classmethod
    def of(cls, root: int, parent: Mapping[int, int]) -> TreeOrder:
        """The team under ``root`` from each member's manager (``parent``, member id -> id)."""
        nodes, parents, ends = _laid_out(root, parent)
        return cls(nodes, parents, ends, members=nodes, owners=list(range(len(nodes))))

    @classmethod
    def of_paths(cls, paths: Iterable[Path]) -> TreeOrder:
        """The team of every path (head first, down to a member; one head for all), each
        path's member at its end."""
        parent: dict[Path, Path] = {}
        root: Path | None = None
        for path in paths:
            root = path[:1]
            for depth in range(len(path), 1, -1):
                parent[path[:depth]] = path[: depth - 1]
        if root is None:
            raise ValueError("a team has at least its head")
        nodes, parents, ends = _laid_out(root, parent)
        place: dict[int, int] = {}
        for node in nodes:
            place.setdefault(node[-1], len(place))
        return cls(nodes, parents, ends, members=list(place), owners=[place[n[-1]] for n in nodes])


def _laid_out(root: Node, parent: Mapping[Node, Node]) -> tuple[list[Node], list[int], list[int]]:
    """(nodes, parents, ends) of the tree under ``root`` (see TreeOrder)."""
    below: dict[Node, list[Node]] = {}
    for child, manager in parent.items():
        below.setdefault(manager, []).append(child)
    nodes: list[Node] = []
    parents: list[int] = []
    pending = [(root, -1)]
    while pending:
        node, manager_place = pending.pop()
        place = len(nodes)
        nodes.append(node)
        parents.append(manager_place)
        pending.extend((child, place) for child in reversed(below.get(node, ())))
    ends = list(range(1, len(nodes) + 1))
    for place in range(len(nodes) - 1, 0, -1):  # reports before managers
        manager_place = parents[place]
        ends[manager_place] = max(ends[manager_place], ends[place])
    return nodes, parents, ends


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
    parts: Mapping[Hashable, Parts], tree: TreeOrder, aggregation: Aggregation
) -> tuple[Column, Column]:
    """(own, team) columns, one place per member of ``tree.members``, from the parts of each
    node (keyed as ``tree.nodes``; absent: none). A member with several nodes gets them all
    merged: a team's parts come once from each node of the team's member, whose subtrees never
    share a node, so no record counts twice.

    Counts always, and the one other part that ``aggregation`` reads."""
    size = len(tree.nodes)
    mine = [parts.get(node) for node in tree.nodes]
    count = [p.count if p else 0 for p in mine]
    own: dict[str, list] = {
        "count": count,
        "total": [Decimal(0)] * size,
        "minimum": [None] * size,
        "maximum": [None] * size,
        "distinct": [set()] * size,
    }
    team = own | {"count": _subtree_sums(count, tree)}
    merge: dict[str, Callable[[Any, Any], Any]] = {"count": add, "total": add}
    match _USES.get(aggregation):
        case "total":
            own["total"] = [p.total if p else Decimal(0) for p in mine]
            team["total"] = _subtree_sums(own["total"], tree)
        case "minimum" | "maximum" as extreme:
            own[extreme] = [getattr(p, extreme) if p else None for p in mine]
            pick = min if extreme == "minimum" else max
            team[extreme] = _subtree_extremes(own[extreme], tree, pick)
            merge[extreme] = partial(_either, pick)
        case "distinct":
            own["distinct"] = [p.distinct if p else set() for p in mine]
            team["distinct"] = _subtree_unions(own["distinct"], tree)
            merge["distinct"] = or_
    own, team = _by_member(own, tree, merge), _by_member(team, tree, merge)
    for column in own, team:
        column["distinct"] = [len(values) for values in column["distinct"]]
    return Column(**own), Column(**team)


def _by_member(
    parts: dict[str, list], tree: TreeOrder, merge: Mapping[str, Callable[[Any, Any], Any]]
) -> dict[str, list]:
    """Node parts as member parts: each member's nodes merged (``merge``, by part), in
    ``tree.members`` order; a part that the aggregation does not read keeps its first node's
    (empty) value."""
    if len(tree.members) == len(tree.nodes):  # one node each, in the members' order
        return parts
    merged = {}
    for name, values in parts.items():
        combine = merge.get(name)
        column = [None] * len(tree.members)
        seen = [False] * len(tree.members)
        for value, owner in zip(values, tree.owners, strict=True):
            if not seen[owner]:
                column[owner], seen[owner] = value, True
            elif combine is not None:
                column[owner] = combine(column[owner], value)
        merged[name] = column
    return merged


def _either(
    pick: Callable[[Decimal, Decimal], Decimal], first: Decimal | None, second: Decimal | None
) -> Decimal | None:
    return first if second is None else second if first is None else pick(first, second)


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
