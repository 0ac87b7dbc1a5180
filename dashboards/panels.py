"""What the dashboards' panels show, read from the database once per version of their numbers.

A panel's achievement rows change only when its goal is recomputed, and every recompute stamps
the goal's ``GoalComputation.computed_at``. Each page reads that stamp with the one query it
needs anyway (the goals it shows) and finds everything else under a key made of the tenant, the
panel (goal, cycle, member) and the stamp: a poll between two recomputes is one query instead of
four, and a recompute is a new key at once.

Anything that depends on the clock (which cycle is running, pace, time left, "updated N ago") is
worked out from these plain values on every request, never kept. Names of members and rules
and the reporting lines are not stamped by a recompute: a rename or a move shows within
``TIMEOUT`` seconds (or at the next recompute, whichever comes first).

Panels are kept in each web process's memory (``Memo``), as immutable tuples: no round trip and
no unpickling on a hit, which is the point. Keys carry the tenant (its id and creation time, so
that a re-created id never finds another tenant's panel), and a panel is only read after the
view has checked that the viewer may see it.
"""

from __future__ import annotations

import hashlib
import operator
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from functools import reduce
from typing import Any, NamedTuple, TypeVar

from django.db.models import Exists, OuterRef, Q

from achievements.models import Achievement
from goals.calendar import Cycle
from goals.models import GoalTarget
from hierarchy.models import MANAGING_ROLES, Member, Tenant

TIMEOUT = 60  # seconds: how long a rename or a move can take to show
T = TypeVar("T")


class Rule(NamedTuple):
    pk: int
    key: str
    name: str
    unit: str
    currency: str
    direction: str
    aggregation: str
    indicator: str
    mode: str


class Cell(NamedTuple):
    """One achievement row as the dashboards read it: what ``progress()`` reads of an
    ``Achievement``, with the rule as a ``Rule``."""

    goal_id: int
    rule: Rule
    member_id: int
    cycle_index: int
    value: Decimal | None
    team_value: Decimal | None
    target: Decimal | None
    team_target: Decimal | None
    final: bool
    computed_at: datetime

    @property
    def rule_id(self) -> int:
        return self.rule.pk


class Person(NamedTuple):
    pk: int
    name: str
    role: str
    lft: int

    @property
    def manages_people(self) -> bool:
        return self.role in MANAGING_ROLES


class TeamPanel(NamedTuple):
    people: dict[int, Person]  # the node and its direct reports
    cells: list[Cell]  # by rule position, then member id
    managers: list[Person]  # above the node, from the root down


_CELL_FIELDS = ("goal_id", "rule_id", "member_id", "cycle_index", "value", "team_value", "target",
         "team_target", "final", "computed_at")  # fmt: skip
_CELL_RULE = tuple(f"rule__{name}" for name in Rule._fields[1:])  # the rule's, after its id
_PERSON = ("pk", "name", "role", "lft")


class Memo:
    """A bounded least-recently-used map whose entries expire ``seconds`` after they were kept
    (never, for None), shared by the threads of a process."""

    def __init__(self, size: int, seconds: float | None) -> None:
        self.size, self.seconds = size, seconds
        self._items: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if self.seconds is not None and time.monotonic() - item[1] > self.seconds:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[0]

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = (value, time.monotonic())
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


PANELS = Memo(size=512, seconds=TIMEOUT)


def cached(tenant: Tenant, parts: tuple[Any, ...], build: Callable[[], T]) -> T:
    """``build()``, kept under the tenant and ``parts``, which must include the computation
    stamps of the goals it reads."""
    key = digest(repr((tenant.pk, tenant.created_at, parts)))
    found = PANELS.get(key)
    if found is None:
        found = build()
        PANELS.set(key, found)
    return found


def digest(*texts: str) -> str:
    value = hashlib.blake2b(digest_size=16)
    for text in texts:
        value.update(text.encode())
    return value.hexdigest()


def _cells(rows: Q, order: Iterable[str]) -> list[Cell]:
    """The achievement rows matching ``rows`` (in the current scope), in ``order``, with their
    rules; one query (the rules joined: a second round trip cost more than the repeated
    columns)."""
    found = (
        Achievement.objects.filter(rows).order_by(*order).values_list(*_CELL_FIELDS, *_CELL_RULE)
    )
    rules: dict[int, Rule] = {}
    cells = []
    for row in found:
        rule = rules.get(row[1])
        if rule is None:
            rule = rules[row[1]] = Rule(row[1], *row[len(_CELL_FIELDS) :])
        cells.append(Cell(row[0], rule, *row[2 : len(_CELL_FIELDS)]))
    return cells


def _in_cycle(goal_id: int, cycle: Cycle) -> Q:
    return Q(goal_id=goal_id, cycle_index=cycle.index, cycle_start=cycle.start)


def team_panel(goal_id: int, cycle: Cycle, node: Member) -> TeamPanel:
    """The node's and its direct reports' rows in one cycle of a goal, with who they are."""
    people = {
        row[0]: Person(*row)
        for row in Member.objects.filter(Q(pk=node.pk) | Q(reports_to=node)).values_list(*_PERSON)
    }
    # By the (member, cycle) index: a join on reports_to read the whole cycle of a big goal.
    team = _cells(_in_cycle(goal_id, cycle) & Q(member_id__in=list(people)),
                  ("rule__position", "member_id"))  # fmt: skip
    managers = [Person(*row) for row in Member.objects.managers_of(node).values_list(*_PERSON)]
    return TeamPanel(people, team, managers)


def held() -> Q:
    """A member's rows that are theirs to follow: those they hold a target of, their own or
    their team's, and those of the goal's tracked metrics (its rules without a target). A
    sales role's KPIs are followed by those who hold the role (an own target) and by their
    managers (a team target above 0), nobody else."""
    targeted = GoalTarget.objects.filter(goal=OuterRef("goal_id"), rule=OuterRef("rule_id"))
    team_goal = Q(target__isnull=False) | Q(team_target__isnull=False) | ~Exists(targeted)
    role_kpis = Q(target__isnull=False) | Q(team_target__gt=0)
    return (
        Q(goal__sales_role__isnull=True) & team_goal | Q(goal__sales_role__isnull=False) & role_kpis
    )


def held_cells(member_id: int, cycles: Iterable[tuple[int, Cycle]]) -> list[Cell]:
    """The member's ``held()`` rows in the given (goal id, cycle) pairs that are not closed
    (final) yet: a running cycle, or one that ended and is closing. By goal, the latest cycle
    first, then rule."""
    shown = [_in_cycle(pk, cycle) for pk, cycle in cycles]
    if not shown:
        return []
    rows = reduce(operator.or_, shown) & held() & Q(member_id=member_id, final=False)
    return _cells(rows, ("goal__name", "-cycle_index", "rule__position"))


def closing_cells(goal_id: int, cycle: Cycle, node: Member) -> list[Cell]:
    """The node's rows in a cycle of the goal that ended and is not closed (final) yet."""
    return _cells(
        _in_cycle(goal_id, cycle) & Q(member_id=node.pk, final=False), ("rule__position",)
    )


def team_totals(teams: list[tuple[int, int, Cycle]]) -> list[Cell]:
    """The team total (the team's top member's row) of each (goal id, team id, cycle)."""
    if not teams:
        return []
    rows = reduce(operator.or_, (_in_cycle(pk, c) & Q(member_id=team) for pk, team, c in teams))
    return _cells(rows, ("rule__position",))
