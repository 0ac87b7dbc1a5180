"""The recompute service: a goal's achievements from one grouped query per measured rule.

For a goal and its cycles to compute, each rule the goal measures runs as one query over the
whole team (``rulesets.compiler.rule_parts``), grouped by member and local calendar bucket and
folded into cycles. Parts then roll up the tree in one pass in reverse tree order: counts and
sums add, ratios are sum(numerator) / sum(denominator), averages sum / count, min and max stay
min and max, distinct counts are the size of the union. Nothing runs per member or per record.

The write is one transaction per goal, under a row lock on the goal, so two recomputes of one
goal never interleave and a reader sees all old or all new numbers. Only cells whose numbers
changed are written (a recompute after one new call touches the caller's row and their
managers'), and running it twice changes nothing.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from goals.calendar import Cycle
from goals.models import Goal, tenant_today
from goals.services import GoalPlan, goal_plan
from goals.targets import is_additive
from rulesets.compiler import granularity_for, rule_parts
from rulesets.models import GoalRule
from rulesets.reference import Parts
from rulesets.services import rules_parse, tenant_vocabulary
from rulesets.spec import Aggregation, Direction, RuleSpec, Unit

from .models import Achievement, GoalComputation
from .pace import Pace, pace

logger = logging.getLogger(__name__)

CLOSE_GRACE = timedelta(hours=6)
"""How long after a cycle ends late records still count before it is closed and frozen."""

_PLACES = Decimal("0.0001")
_NUMBERS = (
    "value",
    "team_value",
    "numerator",
    "denominator",
    "team_numerator",
    "team_denominator",
    "target",
    "team_target",
)


@dataclass
class RecomputeResult:
    goal_id: int
    cycles: int = 0
    cells: int = 0
    written: int = 0
    closed: int = 0
    seconds: float = 0.0


def _q(number: Decimal | None) -> Decimal | None:
    return None if number is None else number.quantize(_PLACES)


def _cycle_of(goal_cycles: list[Cycle]):  # noqa: ANN202
    starts = [cycle.local_start for cycle in goal_cycles]

    def cycle_index(day: date) -> int:
        # A bucket that began before the goal (a month, a week) belongs to its first cycle:
        # the query's window already starts at the goal's first instant.
        return max(bisect_right(starts, day) - 1, 0)

    return cycle_index


def _measured(spec: RuleSpec, specs: dict[str, RuleSpec]) -> list[RuleSpec]:
    """The counted rules a rule needs: itself, or a ratio's numerator and denominator."""
    if spec.aggregation == Aggregation.RATIO:
        return [specs[spec.numerator], specs[spec.denominator]]
    return [spec]


@dataclass(frozen=True)
class _Tree:
    order: list[int]  # every member of the team, in tree order (parents before reports)
    parent: dict[int, int]


def _team_tree(plan: GoalPlan) -> _Tree:
    parent = {child: p for p, children in plan.tree.children.items() for child in children}
    parent |= plan.tree.former
    order: list[int] = []
    below: dict[int, list[int]] = {}
    for child, p in parent.items():
        below.setdefault(p, []).append(child)
    pending = [plan.tree.root]
    while pending:
        node = pending.pop()
        order.append(node)
        pending.extend(reversed(below.get(node, ())))
    return _Tree(order=order, parent=parent)


def _rolled_up(
    own: dict[tuple[int, int], Parts], tree: _Tree, cycle: int
) -> tuple[dict[int, Parts], dict[int, Parts]]:
    """Own and team parts of every member in one cycle (one pass, reports before managers)."""
    mine = {member: own.get((member, cycle)) or Parts() for member in tree.order}
    team: dict[int, Parts] = {}
    for member in reversed(tree.order):
        parts = team.setdefault(member, Parts())
        parts.merge(mine[member])
        if member in tree.parent:
            team.setdefault(tree.parent[member], Parts()).merge(parts)
    return mine, team


def _value(spec: RuleSpec, sides: list[Parts]) -> tuple[Decimal | None, ...]:
    """(value, numerator, denominator) of a rule from its measured rules' parts."""
    if spec.aggregation == Aggregation.RATIO:
        numerator, denominator = (side.value(Aggregation(s)) for side, s in sides)
        if not denominator:
            return None, numerator, denominator
        ratio = numerator / denominator
        return (ratio * 100 if spec.unit == Unit.PERCENT else ratio), numerator, denominator
    [(parts, aggregation)] = sides
    if spec.aggregation == Aggregation.AVERAGE:
        return parts.value(Aggregation.AVERAGE), parts.total, Decimal(parts.count)
    return parts.value(Aggregation(aggregation)), None, None


def _status(spec: RuleSpec, value: Decimal | None, target: Decimal | None) -> str:
    """A closed cycle's status: achieved or missed (open when there is no target)."""
    final = pace(
        value,
        target,
        1.0,
        additive=is_additive(spec.aggregation),
        lower_is_better=spec.direction == Direction.LOWER,
        final=True,
    )
    return Achievement.Status.OPEN if final is Pace.NO_TARGET else final.value


def goal_recompute(
    goal_id: int,
    *,
    all_cycles: bool = False,
    close_before: datetime | None = None,
    now: datetime | None = None,
) -> RecomputeResult:
    """Recompute a goal's started cycles that are not final (``all_cycles``: final ones too).

    Cycles that ended before ``close_before`` are computed one last time and frozen with their
    status, achieved or missed. Archived goals keep their rows untouched.
    """
    began = time.monotonic()
    now = now or timezone.now()
    result = RecomputeResult(goal_id)
    with scopes_disabled():
        tenant_id = Goal.objects.filter(pk=goal_id).values_list("tenant_id", flat=True).first()
    if tenant_id is None:
        return result
    with transaction.atomic(), scope(tenant=tenant_id):
        goal = Goal.objects.select_for_update().select_related("tenant", "team").get(pk=goal_id)
        if goal.archived_at is None:
            _recompute(goal, result, all_cycles=all_cycles, close_before=close_before, now=now)
        result.seconds = time.monotonic() - began
        done = GoalComputation(
            tenant_id=tenant_id,
            goal=goal,
            computed_at=now,
            duration_ms=int(result.seconds * 1000),
            rows_written=result.written,
        )
        GoalComputation.objects.bulk_create(
            [done],
            update_conflicts=True,
            unique_fields=["goal"],
            update_fields=["computed_at", "duration_ms", "rows_written"],
        )
    return result


def _recompute(
    goal: Goal,
    result: RecomputeResult,
    *,
    all_cycles: bool,
    close_before: datetime | None,
    now: datetime,
) -> None:
    plan = goal_plan(goal)
    final = set(
        Achievement.objects.filter(goal=goal, final=True)
        .values_list("cycle_start", flat=True)
        .distinct()
    )
    selected = [
        cycle
        for cycle in plan.cycles
        if cycle.start <= now and (all_cycles or cycle.start not in final)
    ]
    result.cycles = len(selected)
    if not selected:
        return
    tenant = goal.tenant
    custom, vocab = tenant_vocabulary(tenant)
    specs = {
        spec.key: spec
        for spec in rules_parse(
            tenant=tenant, rules=[r.definition() for r in plan.rules], custom=custom, vocab=vocab
        )
    }
    measured_rules = [rule for rule in plan.rules if rule.pk in plan.targets]
    tree = _team_tree(plan)
    counted = {
        side.key: side for rule in measured_rules for side in _measured(specs[rule.key], specs)
    }
    cycle_index = _cycle_of(plan.cycles)
    parts = {
        key: rule_parts(
            spec,
            tenant=tenant,
            start=selected[0].start,
            end=selected[-1].end,
            member_ids=tree.order,
            granularity=granularity_for(goal.cycle, tenant.week_start),
            custom=custom,
            cycle_of=cycle_index,
        )
        for key, spec in counted.items()
    }
    cells = _cells(plan, selected, measured_rules, specs, tree, parts, close_before)
    result.cells = len(cells)
    result.closed = sum(1 for c in selected if close_before is not None and c.end <= close_before)
    result.written = _write(goal, selected, cells, now)


# One cell: (rule id, member id, cycle start) -> what is stored of it besides the key.
Key = tuple[int, int, datetime]
_STORED = (*_NUMBERS, "cycle_index", "cycle_end", "final", "status")


def _cells(
    plan: GoalPlan,
    selected: list[Cycle],
    rules: list[GoalRule],
    specs: dict[str, RuleSpec],
    tree: _Tree,
    parts: dict[str, dict[tuple[int, int], Parts]],
    close_before: datetime | None,
) -> dict[Key, tuple]:
    """Every cell's stored values (in ``_STORED`` order), as plain tuples: most recomputes
    change few cells, so models are built only for those that changed."""
    cells: dict[Key, tuple] = {}
    for cycle in selected:
        closing = close_before is not None and cycle.end <= close_before
        for rule in rules:
            spec = specs[rule.key]
            sides = [
                (_rolled_up(parts[side.key], tree, cycle.index), side.aggregation)
                for side in _measured(spec, specs)
            ]
            targets = plan.cycle_targets(rule, cycle)
            for member in tree.order:
                own = _value(spec, [(mine[member], agg) for (mine, _), agg in sides])
                team = _value(spec, [(whole[member], agg) for (_, whole), agg in sides])
                target = targets.get(member)
                own_target = target.own if target else None
                team_target = target.team if target else None
                team_value = _q(team[0])
                status = _status(spec, team_value, team_target) if closing else ""
                cells[(rule.pk, member, cycle.start)] = (
                    _q(own[0]),
                    team_value,
                    _q(own[1]),
                    _q(own[2]),
                    _q(team[1]),
                    _q(team[2]),
                    _d(own_target),
                    _d(team_target),
                    cycle.index,
                    cycle.end,
                    closing,
                    status,
                )
    return cells


def _d(number: Decimal | None) -> Decimal | None:
    return None if number is None else Decimal(number)


def _write(goal: Goal, selected: list[Cycle], cells: dict[Key, tuple], now: datetime) -> int:
    """Upsert the cells whose values changed; drop rows of members no longer in the team."""
    stored = Achievement.objects.filter(goal=goal, cycle_start__in=[c.start for c in selected])
    existing: dict[Key, tuple[int, tuple]] = {}
    for pk, rule_id, member_id, cycle_start, *values in stored.values_list(
        "pk", "rule_id", "member_id", "cycle_start", *_STORED
    ):
        numbers = tuple(_d(v) for v in values[: len(_NUMBERS)])
        existing[(rule_id, member_id, cycle_start)] = (pk, (*numbers, *values[len(_NUMBERS) :]))
    gone = [pk for key, (pk, _values) in existing.items() if key not in cells]
    if gone:
        Achievement.objects.filter(pk__in=gone).delete()
    changed = [
        Achievement(
            tenant_id=goal.tenant_id,
            goal_id=goal.pk,
            rule_id=rule_id,
            member_id=member_id,
            cycle_start=cycle_start,
            computed_at=now,
            **dict(zip(_STORED, values, strict=True)),
        )
        for (rule_id, member_id, cycle_start), values in cells.items()
        if existing.get((rule_id, member_id, cycle_start), (None, None))[1] != values
    ]
    Achievement.objects.bulk_create(
        changed,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["goal", "rule", "member", "cycle_start"],
        update_fields=[*_STORED, "computed_at"],
    )
    return len(changed)


def goals_due(kinds: Iterable[str], *, now: datetime | None = None) -> list[int]:
    """Ids of live goals of these cycle kinds, in every tenant, that are running today."""
    now = now or timezone.now()
    with scopes_disabled():
        goals = Goal.objects.live().filter(cycle__in=list(kinds)).select_related("tenant")
        # Each tenant has its own today: compare in Python over the few goals near today.
        near = goals.filter(start__lte=now.date() + timedelta(days=1)).filter(
            end__gte=now.date() - timedelta(days=1)
        )
        running = Goal.Status.IN_PROGRESS
        return [goal.pk for goal in near if goal.status_on(tenant_today(goal.tenant)) == running]


def goals_to_close(close_before: datetime) -> list[int]:
    """Live goals with a cycle that ended before ``close_before`` and is not final yet."""
    with scopes_disabled():
        goals = list(
            Goal.objects.live().filter(start__lte=close_before.date()).select_related("tenant")
        )
        final: dict[int, set[datetime]] = {}
        closed = Achievement.objects.filter(final=True, goal__archived_at__isnull=True)
        for goal_id, start in closed.values_list("goal_id", "cycle_start").distinct():
            final.setdefault(goal_id, set()).add(start)
    return [
        goal.pk
        for goal in goals
        if any(
            cycle.end <= close_before and cycle.start not in final.get(goal.pk, ())
            for cycle in goal.cycles()
        )
    ]
