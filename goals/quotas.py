"""Stored quotas: each member's own and team target per rule and cycle, kept as data.

A cycle's quotas are derived from the goal's targets and distribution over the team as it
stands when they are first needed (the goal is created, the cycle starts and is first
computed), then stored; every recompute after that reads them. Only an explicit act writes a
running cycle's quotas again, always audited with before and after:

- an edit of the goal's targets, distribution or holders re-derives the running cycle's;
- a re-distribution, which a manager applies after a change in the team (``org_change``);
- quotas set through the API (``quotas_set``).

Cycles that have ended never change. So a reorganization changes nobody's quota behind their
manager's back: a joiner has none in the running cycle, a leaver's stays with the old team, a
mover keeps theirs and the teams' totals follow them from the next cycle, when its quotas are
derived from the tree as it is then. ``org_change`` tells the tree from the stored quotas
(members without a quota, holders gone from the team or under another manager), so a change
made by any path (the editor, an import, the API, a deactivation) is noticed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scope

from hierarchy.audit import actor_label, audit_change
from hierarchy.models import Member
from hierarchy.services import Actor
from rulesets.models import GoalRule

from .calendar import Cycle, CycleKind
from .models import Goal, Quota
from .services import (
    AMOUNT_LIMIT,
    GoalPlan,
    GoalTree,
    goal_announce,
    goal_plan,
    goal_trees,
    one_tenant,
)
from .targets import MemberTarget

_BATCH = 2000


@dataclass
class QuotaTable:
    """Stored quotas by (rule id, cycle start): member id -> own and team target."""

    cells: dict[tuple[int, datetime], dict[int, MemberTarget]] = field(default_factory=dict)

    def cycle_targets(self, rule: GoalRule, cycle: Cycle) -> dict[int, MemberTarget]:
        """Member id -> targets of ``rule`` in ``cycle`` (empty: none stored)."""
        return self.cells.get((rule.pk, cycle.start), {})

    def add(self, rule_id: int, start: datetime, member_id: int, target: MemberTarget) -> None:
        self.cells.setdefault((rule_id, start), {})[member_id] = target

    def member_targets(self, plan: GoalPlan, cycle: Cycle) -> dict[int, dict[str, MemberTarget]]:
        """Member id -> rule key -> stored targets in ``cycle``, like ``plan.member_targets``."""
        table: dict[int, dict[str, MemberTarget]] = {}
        for rule in plan.rules:
            for member_id, target in self.cycle_targets(rule, cycle).items():
                table.setdefault(member_id, {})[rule.key] = target
        return table


def quotas_read(goal: Goal, cycles: Iterable[Cycle]) -> QuotaTable:
    """The stored quotas of ``cycles`` (one query)."""
    table = QuotaTable()
    starts = [cycle.start for cycle in cycles]
    with scope(tenant=goal.tenant_id):
        rows = Quota.objects.filter(goal=goal, cycle_start__in=starts).values_list(
            "rule_id", "cycle_start", "member_id", "own", "team"
        )
        for rule_id, start, member_id, own, team in rows:
            table.add(rule_id, start, member_id, MemberTarget(own=own, team=team))
    return table


def _derived(
    goal: Goal,
    plan: GoalPlan,
    cycles: Iterable[Cycle],
    *,
    source: str,
    set_by: str,
    now: datetime,
) -> list[Quota]:
    """Quota rows of ``cycles`` from the plan's targets over its tree (no query)."""
    manager = plan.tree.manager_of
    return [
        _quota(goal, cycle, rule.pk, member_id, manager.get(member_id), target, source, set_by, now)
        for cycle in cycles
        for rule in plan.rules
        for member_id, target in plan.cycle_targets(rule, cycle).items()
    ]


def _quota(
    goal: Goal,
    cycle: Cycle,
    rule_id: int,
    member_id: int,
    manager_id: int | None,
    target: MemberTarget,
    source: str,
    set_by: str,
    now: datetime,
) -> Quota:
    return Quota(
        tenant_id=goal.tenant_id,
        goal_id=goal.pk,
        rule_id=rule_id,
        member_id=member_id,
        manager_id=manager_id,
        cycle_index=cycle.index,
        cycle_start=cycle.start,
        cycle_end=cycle.end,
        own=target.own,
        team=target.team,
        source=source,
        set_by=set_by,
        set_at=now,
    )


def _audit(goal: Goal, cycle: Cycle, actor: Actor, action: str, before: dict) -> None:
    """The cycle's quotas before and after, in the goal's history (when they changed)."""
    audit_change(
        tenant=goal.tenant,
        actor=actor,
        action=action,
        target=goal,
        before={"cycle": cycle.label, "quotas": before},
        after={"cycle": cycle.label, "quotas": quotas_snapshot(goal, cycle)},
    )


def quotas_ensure(
    *,
    goal: Goal,
    plan: GoalPlan,
    cycles: list[Cycle],
    actor: Actor = None,
    now: datetime | None = None,
) -> QuotaTable:
    """The stored quotas of ``cycles``, storing first those of cycles that have none.

    Set-based: one query to read, one bulk insert for the cycles that had none. A cycle with
    any stored quota is taken as it is: a member without one holds no target in it."""
    now = now or timezone.now()
    table = quotas_read(goal, cycles)
    stored = {start for _rule, start in table.cells}
    missing = [cycle for cycle in cycles if cycle.start not in stored]
    if not missing or not plan.targets:
        return table
    rows = _derived(
        goal, plan, missing, source=Quota.Source.DISTRIBUTION, set_by=actor_label(actor), now=now
    )
    with scope(tenant=goal.tenant_id):
        Quota.objects.bulk_create(rows, batch_size=_BATCH)
    for row in rows:
        table.add(row.rule_id, row.cycle_start, row.member_id, MemberTarget(row.own, row.team))
    return table


def shown_targets(
    goal: Goal, plan: GoalPlan, cycle: Cycle
) -> tuple[dict[int, dict[str, MemberTarget]], bool]:
    """Member id -> rule key -> targets in ``cycle`` as pages and the API show them, and
    whether they are stored: the cycle's stored quotas once it has them (a member without one
    holds none), else the targets it would get from the team as it is (one query)."""
    stored = quotas_read(goal, [cycle]).member_targets(plan, cycle)
    if not stored:
        return plan.member_targets(cycle), False
    return {pk: stored.get(pk, {}) for pk in plan.tree.active}, True


def running_cycle(cycles: list[Cycle], now: datetime) -> Cycle | None:
    return next((cycle for cycle in cycles if cycle.start <= now < cycle.end), None)


def started_cycles(cycles: list[Cycle], now: datetime) -> list[Cycle]:
    return [cycle for cycle in cycles if cycle.start <= now]


def quotas_snapshot(goal: Goal, cycle: Cycle) -> dict[str, dict[str, list[str | None]]]:
    """A cycle's stored quotas as the audit log keeps them: email -> rule key -> [own, team]
    (one query)."""
    with scope(tenant=goal.tenant_id):
        rows = (
            Quota.objects.filter(goal=goal, cycle_start=cycle.start)
            .order_by("member__lft", "rule__position")
            .values_list("member__user__email", "rule__key", "own", "team")
        )
        snapshot: dict[str, dict[str, list[str | None]]] = {}
        for email, key, own, team in rows:
            snapshot.setdefault(email, {})[key] = [None if own is None else str(own), str(team)]
    return snapshot


def quotas_rederive(
    *,
    goal: Goal,
    actor: Actor,
    source: str = Quota.Source.DISTRIBUTION,
    action: str = "goal.quotas",
    now: datetime | None = None,
    plan: GoalPlan | None = None,
) -> Cycle | None:
    """Derive the running cycle's quotas again from the goal's targets over the team as it is
    now; quotas stored for later cycles are dropped (they are derived when they start), ended
    cycles are kept. Audited with before and after; returns the running cycle, if any.

    Call inside the goal's transaction."""
    now = now or timezone.now()
    plan = plan or goal_plan(goal)
    cycle = running_cycle(plan.cycles, now)
    before = quotas_snapshot(goal, cycle) if cycle else {}
    with scope(tenant=goal.tenant_id):
        Quota.objects.filter(goal=goal, cycle_end__gt=now).delete()
        if cycle is not None:
            rows = _derived(goal, plan, [cycle], source=source, set_by=actor_label(actor), now=now)
            Quota.objects.bulk_create(rows, batch_size=_BATCH)
    if cycle is not None:
        _audit(goal, cycle, actor, action, before)
    return cycle


def quotas_redistribute(*, goal: Goal, actor: Actor, now: datetime | None = None) -> Cycle:
    """Apply a re-distribution: the running cycle's quotas derived again from the team as it is
    now, audited; the goal is recomputed after commit. ValueError when no cycle is running."""
    now = now or timezone.now()
    with transaction.atomic(), scope(tenant=goal.tenant_id):
        goal = Goal.objects.select_for_update().select_related("tenant", "team").get(pk=goal.pk)
        cycle = quotas_rederive(
            goal=goal,
            actor=actor,
            source=Quota.Source.REDISTRIBUTION,
            action="goal.redistribute",
            now=now,
        )
        if cycle is None:
            raise ValueError(f"{goal.name} has no running cycle to re-distribute.")
        goal_announce(goal)
    return cycle


# --- changes in the team --------------------------------------------------------------------

_THIS = {
    CycleKind.DAILY: "today",
    CycleKind.WEEKLY: "this week",
    CycleKind.BIWEEKLY: "these two weeks",
    CycleKind.MONTHLY: "this month",
    CycleKind.QUARTERLY: "this quarter",
    CycleKind.YEARLY: "this year",
}


@dataclass(frozen=True)
class OrgChange:
    """How the goal's team differs from the one its running cycle's quotas were set for.

    ``joined``: in the team without a quota; ``left``: holding a quota, no longer in the team
    (deactivated or moved out); ``moved``: in the team under another manager than then, by
    their new manager's id."""

    goal: Goal
    cycle: Cycle
    set_at: datetime
    joined: list[int]
    left: list[int]
    moved: dict[int, list[int]]
    names: dict[int, str]
    team_sizes: dict[int, int] = field(default_factory=dict)  # a mover's reports, all levels

    def __bool__(self) -> bool:
        return bool(self.joined or self.left or self.moved)

    @property
    def named(self) -> set[int]:
        """Whom the sentences name: who joined, left or moved, and their new managers."""
        return {*self.joined, *self.left, *self.moved, *self.team_sizes}

    @property
    def when(self) -> str:
        return _THIS[CycleKind(self.cycle.kind)]

    def sentences(self) -> list[str]:
        """What changed, one sentence each: "A team of 8 moved under Mia Manager"."""
        lines = []
        for manager, members in self.moved.items():
            size = sum(self.team_sizes.get(pk, 0) for pk in members)
            who = _people(members, self.names)
            if size:  # a manager moves with their team: "Lee and a team of 8"
                who = f"{who} and a team of {size}"
            lines.append(f"{who} moved under {self.names.get(manager, 'another manager')}")
        if self.joined:
            lines.append(f"{_people(self.joined, self.names)} joined the team")
        if self.left:
            lines.append(f"{_people(self.left, self.names)} left the team")
        return lines

    def summary(self) -> str:
        """The notice: what changed since the quotas were set, and what was not done."""
        changes = "; ".join(self.sentences())
        since = timezone.localtime(self.set_at, self.cycle.calendar.zone)
        return (
            f"{changes} since {self.when}'s targets were set ({since:%A} {since.day} {since:%B}): "
            f"targets for "
            f"{self.when} were not changed. Re-distribute?"
        )


def _people(members: list[int], names: Mapping[int, str]) -> str:
    if len(members) == 1:
        return names.get(members[0], "A member")
    return f"A team of {len(members)}"


def org_change(goal: Goal, tree: GoalTree, cycles: list[Cycle], now: datetime) -> OrgChange | None:
    """How the team differs from the running cycle's quotas (two queries, the second only
    when something differs), or None when nothing differs or no cycle's quotas are stored."""
    changes = _org_changes([(goal, tree, running_cycle(cycles, now))])
    return changes[0] if changes else None


def _org_changes(running: list[tuple[Goal, GoalTree, Cycle | None]]) -> list[OrgChange]:
    """The changes of goals of one tenant, each with its team and running cycle (None: none
    runs, nothing to tell), in their order: one query for all their quotas, one for the names
    of whom the changes name (none when nothing changed)."""
    running = [(goal, tree, cycle) for goal, tree, cycle in running if cycle is not None]
    if not running:
        return []
    held_q = Q()
    for goal, _tree, cycle in running:
        held_q |= Q(goal=goal, cycle_start=cycle.start)
    tenant_id = one_tenant(goal for goal, _tree, _cycle in running)
    held_by_goal: dict[int, list[tuple[int, int | None, datetime]]] = {}
    with scope(tenant=tenant_id):
        rows = (
            Quota.objects.filter(held_q)
            .values_list("goal_id", "member_id", "manager_id", "set_at")
            .distinct()
        )
        for goal_id, *row in rows:
            held_by_goal.setdefault(goal_id, []).append(tuple(row))
    changes = []
    for goal, tree, cycle in running:
        change = _org_change(goal, tree, cycle, held_by_goal.get(goal.pk, []))
        if change:
            changes.append(change)
    named = {pk for change in changes for pk in change.named}
    if named:
        with scope(tenant=tenant_id):
            names = dict(Member.objects.filter(pk__in=named).values_list("pk", "name"))
        for change in changes:
            change.names.update((pk, names[pk]) for pk in change.named if pk in names)
    return changes


def _org_change(
    goal: Goal, tree: GoalTree, cycle: Cycle, rows: list[tuple[int, int | None, datetime]]
) -> OrgChange | None:
    """The change of one goal from its running cycle's quota rows (member, manager, set at),
    its names not yet read; None when nothing differs or no quota is stored. The rows come in
    no set order: they are read by member so that the change is told the same way each time."""
    if not rows:
        return None
    held = {member: manager for member, manager, _at in sorted(rows, key=itemgetter(0))}
    manager_now = tree.manager_of
    joined = [pk for pk in tree.active if pk not in held]
    left = [pk for pk in held if pk not in tree.active]
    moved: dict[int, list[int]] = {}
    for pk, manager in held.items():
        if pk in tree.active and pk != tree.root and manager_now.get(pk) != manager:
            moved.setdefault(manager_now[pk], []).append(pk)
    movers = [pk for kids in moved.values() for pk in kids]
    change = OrgChange(
        goal=goal,
        cycle=cycle,
        set_at=max(at for _m, _p, at in rows),
        joined=joined,
        left=left,
        moved=moved,
        names={},
        team_sizes={pk: _team_size(tree, pk) for pk in movers},
    )
    return change if change else None


def _team_size(tree: GoalTree, member: int) -> int:
    """How many active members report to ``member``, at every level."""
    size, pending = 0, list(tree.children.get(member, ()))
    while pending:
        size += 1
        pending.extend(tree.children.get(pending.pop(), ()))
    return size


@dataclass(frozen=True)
class PreviewRow:
    member_id: int
    name: str
    change: str  # "joined", "left", "moved" or ""
    cells: list[tuple[GoalRule, MemberTarget | None, MemberTarget | None]]


def redistribution_preview(change: OrgChange, plan: GoalPlan) -> list[PreviewRow]:
    """Old (stored) and new (derived from the team now) targets of the running cycle side by
    side, per member and rule: the team in tree order, then those who left (two queries)."""
    cycle = change.cycle
    old = quotas_read(change.goal, [cycle])
    rules = [rule for rule in plan.rules if rule.pk in plan.targets]
    kind = dict.fromkeys(change.joined, "joined") | dict.fromkeys(change.left, "left")
    kind |= {pk: "moved" for kids in change.moved.values() for pk in kids}
    names = {pk: member.name for pk, member in plan.tree.members.items()} | change.names
    rows = []
    for pk in [*plan.tree.active, *change.left]:
        cells = [
            (rule, old.cycle_targets(rule, cycle).get(pk), plan.cycle_targets(rule, cycle).get(pk))
            for rule in rules
        ]
        rows.append(PreviewRow(pk, names.get(pk, ""), kind.get(pk, ""), cells))
    return rows


def goals_changed(goals: Iterable[Goal], now: datetime) -> list[OrgChange]:
    """The team changes of the goals (of one tenant, their teams loaded) with a running cycle:
    three queries whatever their number (their teams, their quotas, the names of whom the
    changes name), two when nothing changed."""
    goals = list(goals)
    trees = goal_trees([goal.team for goal in goals])
    return _org_changes(
        [(goal, trees[goal.team_id], running_cycle(goal.cycles(), now)) for goal in goals]
    )


QUOTA_FIELDS = (
    "member",
    "member_name",
    "rule",
    "cycle",
    "cycle_start",
    "cycle_end",
    "own",
    "team",
    "source",
    "set_by",
    "set_at",
)


@dataclass(frozen=True)
class QuotaRow:
    member: str  # email
    member_name: str
    rule: str  # key
    cycle: int
    cycle_start: date  # the tenant's local dates, both inclusive
    cycle_end: date
    own: Decimal | None
    team: Decimal
    source: str
    set_by: str
    set_at: datetime

    def export(self) -> dict[str, Any]:
        return asdict(self)


def quota_rows(
    goal: Goal, *, cycle: int | None = None, member_email: str | None = None
) -> list[QuotaRow]:
    """The goal's stored quotas by cycle, member (tree order) and rule (one query)."""
    goal_cycles = goal.cycles()
    with scope(tenant=goal.tenant_id):
        rows = Quota.objects.filter(goal=goal)
        if cycle is not None:
            rows = rows.filter(cycle_index=cycle)
        if member_email:
            rows = rows.filter(member__user__email__iexact=member_email)
        found = rows.order_by("cycle_start", "member__lft", "rule__position").values_list(
            "member__user__email",
            "member__name",
            "rule__key",
            "cycle_start",
            "own",
            "team",
            "source",
            "set_by",
            "set_at",
        )
        by_start = {c.start: c for c in goal_cycles}
        result = []
        for email, name, key, start, own, team, source, set_by, set_at in found:
            shown = by_start.get(start)
            if shown is None:  # a cycle the goal no longer has (its end moved): not shown
                continue
            result.append(
                QuotaRow(
                    email,
                    name,
                    key,
                    shown.index,
                    shown.local_start,
                    shown.local_end - timedelta(days=1),
                    own,
                    team,
                    source,
                    set_by,
                    set_at,
                )  # fmt: skip
            )
    return result


# --- quotas set by hand ---------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaInput:
    """One member's quota of one rule, as given: ``team`` only for a rate or an average (an
    additive rule's team target is the sum of its team's own targets)."""

    member: Member | None  # None: the email named nobody (reported under ``where``)
    rule: str
    own: Decimal | None
    team: Decimal | None = None


def quotas_set(
    *,
    goal: Goal,
    cycle_index: int,
    entries: list[QuotaInput],
    actor: Actor,
    now: datetime | None = None,
    problems: Mapping[str, str] | None = None,
) -> Cycle:
    """Set a cycle's quotas of the rules named in ``entries``; all or nothing, audited.

    The cycle must not have ended. For each rule named, the entries replace that cycle's
    quotas: members not listed hold no own target. An additive rule's team targets are the
    sums of the own targets over each subtree of the team as it is now (a ``team`` given must
    equal that sum); a rate's or an average's team target is the ``team`` given, else the
    ``own``. Rules not named keep their quotas (derived first if the cycle has none stored).
    Every problem raises one ValidationError keyed ``quotas.<n>.<field>``, naming the member
    and the rule, with the ``problems`` the caller found first (emails that name nobody);
    nothing is written then."""
    now = now or timezone.now()
    with transaction.atomic(), scope(tenant=goal.tenant_id):
        goal = Goal.objects.select_for_update().select_related("tenant", "team").get(pk=goal.pk)
        plan = goal_plan(goal)
        if not 0 <= cycle_index < len(plan.cycles):
            raise ValidationError({"cycle": f"The goal has cycles 0 to {len(plan.cycles) - 1}."})
        cycle = plan.cycles[cycle_index]
        if cycle.end <= now:
            raise ValidationError(
                {"cycle": f"{cycle.label} has ended: the quotas of ended cycles never change."}
            )
        rows = _manual_rows(goal, plan, cycle, entries, actor_label(actor), now, problems or {})
        quotas_ensure(goal=goal, plan=plan, cycles=[cycle], actor=actor, now=now)
        before = quotas_snapshot(goal, cycle)
        named = {row.rule_id for row in rows} | _named_rules(plan, entries)
        Quota.objects.filter(goal=goal, cycle_start=cycle.start, rule_id__in=named).delete()
        Quota.objects.bulk_create(rows, batch_size=_BATCH)
        _audit(goal, cycle, actor, "goal.quotas_set", before)
        goal_announce(goal)
    return cycle


def _named_rules(plan: GoalPlan, entries: list[QuotaInput]) -> set[int]:
    keys = {entry.rule for entry in entries}
    return {rule.pk for rule in plan.rules if rule.key in keys}


def _manual_rows(
    goal: Goal,
    plan: GoalPlan,
    cycle: Cycle,
    entries: list[QuotaInput],
    set_by: str,
    now: datetime,
    problems: Mapping[str, str],
) -> list[Quota]:
    """The rows ``entries`` ask for, or ValidationError naming every problem."""
    rules = {rule.key: rule for rule in plan.rules if rule.pk in plan.targets}
    errors: dict[str, str] = dict(problems)
    given: dict[int, dict[int, QuotaInput]] = {}  # rule id -> member id -> entry
    for n, entry in enumerate(entries):
        where = f"quotas.{n}"
        rule = rules.get(entry.rule)
        if entry.member is None:
            continue  # reported by the caller, which could not find the email
        who = f"{entry.member.name} <{entry.member.user.email}>"
        if rule is None:
            errors[f"{where}.rule"] = (
                f"{who}: the goal has no target for a rule {entry.rule!r}; quotas are set for "
                f"rules with a target ({', '.join(rules) or 'none'})."
            )
            continue
        if entry.member.pk not in plan.tree.active:
            errors[f"{where}.member"] = f"{who} is not in the goal's team ({rule.key})."
            continue
        if entry.member.pk in given.setdefault(rule.pk, {}):
            errors[f"{where}.member"] = f"{who} is given twice for {rule.key}."
            continue
        problem = _amount_problem(entry.own, plan.targets[rule.pk].quantum, allow_none=True)
        problem = problem or _amount_problem(entry.team, plan.targets[rule.pk].quantum, True)
        if problem:
            errors[f"{where}.own"] = f"{who}, {rule.key}: {problem}"
            continue
        if not plan.targets[rule.pk].additive and entry.own is None and entry.team is None:
            errors[f"{where}.own"] = f"{who}, {rule.key}: give an own or a team target."
            continue
        given[rule.pk][entry.member.pk] = entry
    rows: list[Quota] = []
    if not errors:
        by_id = {rule.pk: rule for rule in rules.values()}
        for rule_id, chosen in given.items():
            targets = _hand_set(plan, by_id[rule_id], chosen, entries, errors)
            rows += [
                _quota(goal, cycle, rule_id, pk, manager, target, Quota.Source.MANUAL, set_by, now)
                for pk, (target, manager) in targets.items()
            ]
    if errors:
        raise ValidationError(errors)
    return rows


def _hand_set(
    plan: GoalPlan,
    rule: GoalRule,
    chosen: dict[int, QuotaInput],
    entries: list[QuotaInput],
    errors: dict[str, str],
) -> dict[int, tuple[MemberTarget, int | None]]:
    """Member id -> (targets, manager) of one rule from the entries chosen for it."""
    tree = plan.tree
    manager = tree.manager_of
    if not plan.targets[rule.pk].additive:
        return {
            pk: (MemberTarget(entry.own, entry.team if entry.team is not None else entry.own),
                 manager.get(pk))
            for pk, entry in chosen.items()
        }  # fmt: skip
    team: dict[int, Decimal] = {}
    for pk in reversed(list(tree.active)):  # tree order reversed: reports before managers
        own = chosen[pk].own if pk in chosen and chosen[pk].own is not None else Decimal(0)
        team[pk] = own + sum((team[kid] for kid in tree.children.get(pk, ())), Decimal(0))
    for pk, entry in chosen.items():
        if entry.team is not None and entry.team != team[pk]:
            n = entries.index(entry)
            errors[f"quotas.{n}.team"] = (
                f"{entry.member.name} <{entry.member.user.email}>, {rule.key}: the team target "
                f"is the sum of the team's own targets, {team[pk]:f}, not {entry.team:f}; "
                "leave it out."
            )
    return {
        pk: (MemberTarget(chosen[pk].own if pk in chosen else None, team[pk]), manager.get(pk))
        for pk in tree.active
    }


def _amount_problem(amount: Decimal | None, quantum: Decimal, allow_none: bool) -> str | None:
    if amount is None:
        return None if allow_none else "an amount is needed."
    if not amount.is_finite() or amount < 0 or abs(amount) >= AMOUNT_LIMIT:
        return f"{amount} is not an amount from 0 to below {AMOUNT_LIMIT:,}."
    if amount % quantum:
        return f"{amount:f} is not a whole number of {quantum:f}."
    return None
