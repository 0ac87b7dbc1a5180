"""Writes to goals, and the targets every member holds in a cycle.

A goal is saved from a ``GoalDraft``: everything is checked first (dates and the rules of
change, the ruleset's rules, amounts, phasing, every level of the distribution against the tree
as it stands) and every problem is reported at once as a ``ValidationError`` keyed by field
("targets.won", "distribution.2"); nothing is written then. Every change goes to the audit log
with before and after.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Subquery
from django.utils import timezone
from django_scopes import scope

from core.dates import date_range_problem
from core.lengths import too_long
from hierarchy.audit import audit_record
from hierarchy.models import Member, SalesRole
from hierarchy.services import Actor
from rulesets.models import GoalRule, Ruleset

from .calendar import Cycle, CycleKind, cycles
from .distribution import COUNT_QUANTUM, OWN, DistributionError, LevelSplit
from .models import Goal, GoalSplit, GoalTarget, tenant_calendar, tenant_today
from .signals import goal_saved
from .targets import MemberTarget, RuleTarget, cycle_amounts, holder_targets, member_targets

OWN_KEY = "own"  # how a parent's personal share is written in stored and submitted shares


@dataclass(frozen=True)
class TargetInput:
    amount: Decimal
    phasing: tuple[Decimal, ...] = ()


AMOUNT_LIMIT = Decimal(10) ** 15
"""Targets and shares stay below this: amounts are stored with 18 digits, 2 after the point."""
MAX_CYCLES = 1000
"""A goal's cycles are listed on its pages and in its API answers, a row per member and rule
in each: a daily goal over decades would make answers of millions of rows."""


def _storable(number: Decimal | int) -> bool:
    number = Decimal(number)
    return number.is_finite() and abs(number) < AMOUNT_LIMIT


@dataclass(frozen=True)
class SplitInput:
    """One level: how ``parent``'s share splits. ``shares`` are keyed by member id or "own".

    ``rule`` is a rule key, or None for every rule of the goal (custom amounts are per rule).
    """

    parent: Member
    method: str
    shares: Mapping[int | str, Decimal] = field(default_factory=dict)
    rule: str | None = None


@dataclass
class GoalDraft:
    name: str
    ruleset: Ruleset
    team: Member
    cycle: str
    start: date
    end: date
    targets: Mapping[str, TargetInput]
    splits: Sequence[SplitInput] = ()
    holders: str = Goal.Holders.REPS
    sales_role: SalesRole | None = None
    backfill: bool = False
    default_split: str = Goal.Split.EQUAL


@dataclass(frozen=True)
class GoalTree:
    """A goal's team as it stands, for its targets. ``active`` (each active member's sales role
    id or None, by member id in tree order) and ``children`` are the active members, as the
    distribution sees them (whose records count for the team, and when, the recompute reads
    from the reporting lines). ``members`` are the active members as models, read on first
    use: a recompute needs only ids and sales roles."""

    root: int
    children: dict[int, list[int]]
    active: dict[int, int | None]
    tenant_id: int

    @cached_property
    def members(self) -> dict[int, Member]:
        """The active members with their users, in tree order (one query)."""
        with scope(tenant=self.tenant_id):
            found = Member.objects.select_related("user").in_bulk(list(self.active))
        return {pk: found[pk] for pk in self.active if pk in found}

    def reports(self, member_id: int) -> list[Member]:
        return [self.members[child] for child in self.children.get(member_id, ())]

    @cached_property
    def manager_of(self) -> dict[int, int]:
        """Each active member's manager in the team, by member id (the top has none)."""
        return {kid: parent for parent, kids in self.children.items() for kid in kids}


def goal_tree(team: Member) -> GoalTree:
    """One query: the team in tree order, and who reports to whom (see ``goal_trees``)."""
    return goal_trees([team])[team.pk]


def one_tenant(rows: Iterable[Member | Goal]) -> int:
    """The one tenant of ``rows`` (teams, goals), which a batched read scopes itself to: rows
    of another tenant would silently come back empty there, so they are refused."""
    tenants = {row.tenant_id for row in rows}
    if len(tenants) != 1:
        raise ValueError(f"rows of one tenant expected, got tenants {sorted(tenants)}")
    return tenants.pop()


def goal_trees(teams: Iterable[Member]) -> dict[int, GoalTree]:
    """One query for any number of teams of one tenant: each team in tree order, and who
    reports to whom, by the team's id.

    The teams' places in the tree are read in the same query, as the tree may have changed
    since ``teams`` were loaded."""
    by_pk = {team.pk: team for team in teams}
    if not by_pk:
        return {}
    within = Q()
    for team in by_pk.values():
        where = Member._tree_manager.filter(pk=team.pk)
        within |= Q(
            tree_id=team.tree_id,
            lft__gte=Subquery(where.values("lft")),
            rght__lte=Subquery(where.values("rght")),
        )
    tenant_id = one_tenant(by_pk.values())
    with scope(tenant=tenant_id):
        rows = list(
            Member.objects.filter(within)
            .order_by("lft")
            .values_list(
                "pk", "reports_to_id", "is_active", "sales_role_id", "tree_id", "lft", "rght"
            )
        )
    place = {pk: (tree, lft, rght) for pk, _m, _a, _r, tree, lft, rght in rows}
    trees = {}
    for pk, team in by_pk.items():
        tree_id, first, last = place.get(pk, (team.tree_id, 0, -1))  # gone: an empty team
        inside = [row[:4] for row in rows if row[4] == tree_id and first <= row[5] <= last]
        active = {pk: role for pk, _manager, is_active, role in inside if is_active}
        children: dict[int, list[int]] = {}
        for member, manager, is_active, _role in inside:
            if member != pk and manager in active and is_active:
                children.setdefault(manager, []).append(member)
        trees[pk] = GoalTree(root=pk, children=children, active=active, tenant_id=tenant_id)
    return trees


def _holds(goal_holders: str, tree: GoalTree, sales_role_id: int | None = None) -> set[int]:
    """Who holds a personal target: every member with the sales role for its KPIs, else per
    ``goal_holders``."""
    if sales_role_id is not None:
        return {pk for pk, role in tree.active.items() if role == sales_role_id}
    if goal_holders == Goal.Holders.EVERYONE:
        return set(tree.active)
    return {pk for pk in tree.active if not tree.children.get(pk)}


def _level_split(split: GoalSplit | SplitInput) -> LevelSplit:
    shares = {
        OWN if str(key) == OWN_KEY else int(key): Decimal(str(value))
        for key, value in split.shares.items()
    }
    return LevelSplit(split.method, {} if split.method in EQUAL_METHODS else shares)


EQUAL_METHODS = (GoalSplit.Method.EQUAL, GoalSplit.Method.LEVEL)


def _levels(
    tree: GoalTree, default_split: str, given: Mapping[int, LevelSplit]
) -> dict[int, LevelSplit]:
    """Every parent's split: the one given for it, else the goal's default."""
    default = LevelSplit(default_split)  # type: ignore[arg-type]
    return {parent: given.get(parent, default) for parent in tree.children} | dict(given)


PER_CYCLE = {
    CycleKind.DAILY: ("a day", "a weekly cycle"),
    CycleKind.WEEKLY: ("a week", "a monthly cycle"),
    CycleKind.BIWEEKLY: ("every two weeks", "a monthly cycle"),
    CycleKind.MONTHLY: ("a month", "a quarterly cycle"),
    CycleKind.QUARTERLY: ("a quarter", "a yearly cycle"),
    CycleKind.YEARLY: ("a year", "a smaller team"),
}


# --- reading targets ------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalPlan:
    """Everything needed to tell each member's targets in any cycle of a goal (saved, or a
    draft being edited). ``template``: a sales role's KPIs, whose holders (the members with the
    role) hold the targets in full."""

    template: bool
    tree: GoalTree
    cycles: list[Cycle]
    rules: list[GoalRule]
    targets: dict[int, RuleTarget]  # by rule id
    splits: dict[int, dict[int, LevelSplit]]  # rule id -> parent id -> split
    holders: set[int]
    default_split: str = Goal.Split.EQUAL
    holders_kind: str = Goal.Holders.REPS
    # (rule id, team amount) -> targets: cycles of the same amount share one distribution.
    _distributed: dict[tuple[int, Decimal], dict[int, MemberTarget]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def cycle_targets(self, rule: GoalRule, cycle: Cycle) -> dict[int, MemberTarget]:
        """Member id -> own and team target of ``rule`` in ``cycle`` (empty without a target).

        The same dict for every cycle with the same team target: read it, do not change it."""
        target = self.targets.get(rule.pk)
        if target is None:
            return {}
        amount = cycle_amounts(target, self.cycles)[cycle.index]
        if (rule.pk, amount) not in self._distributed:
            self._distributed[(rule.pk, amount)] = self._distribute(rule.pk, target, amount)
        return self._distributed[(rule.pk, amount)]

    def _distribute(
        self, rule_id: int, target: RuleTarget, amount: Decimal
    ) -> dict[int, MemberTarget]:
        if self.template:
            return holder_targets(
                target,
                amount,
                root=self.tree.root,
                children=self.tree.children,
                holders=self.holders,
            )
        return member_targets(
            target,
            amount,
            root=self.tree.root,
            children=self.tree.children,
            splits=_levels(self.tree, self.default_split, self.splits.get(rule_id, {})),
            holds_target=self.holders,
        )

    def zero_shares(self, cycle: Cycle) -> list[str]:
        """A warning per counted rule whose split gives some holders 0 in ``cycle``: "5 of 10
        reps would get 0 Demos a day: use a weekly cycle, a team-only target, or custom
        amounts." A zero share is allowed (a new rep, a part-timer), but rarely meant."""
        if not self.cycles:
            return []
        kind = CycleKind(self.cycles[0].kind)
        per, longer = PER_CYCLE[kind]
        people = "reps" if self.holders_kind == Goal.Holders.REPS else "people"
        warnings = []
        for rule in self.rules:
            target = self.targets.get(rule.pk)
            if target is None or not target.additive or target.quantum != COUNT_QUANTUM:
                continue
            owns = [t.own for t in self.cycle_targets(rule, cycle).values() if t.own is not None]
            zeros = sum(1 for own in owns if own == 0)
            if zeros and any(owns):
                warnings.append(
                    f"{zeros} of {len(owns)} {people} would get 0 {rule.name} {per}: use "
                    f"{longer}, a team-only target, or custom amounts."
                )
        return warnings

    def shown_cycle(self, today: date) -> Cycle:
        """The cycle to show targets for: today's, else the first (upcoming) or last (ended)."""
        for cycle in self.cycles:
            if cycle.local_start <= today < cycle.local_end:
                return cycle
        return self.cycles[0] if today < self.cycles[0].local_start else self.cycles[-1]

    def member_targets(self, cycle: Cycle) -> dict[int, dict[str, MemberTarget]]:
        """Member id -> rule key -> targets in ``cycle``, members in tree order."""
        table: dict[int, dict[str, MemberTarget]] = {pk: {} for pk in self.tree.active}
        for rule in self.rules:
            for member_id, target in self.cycle_targets(rule, cycle).items():
                table[member_id][rule.key] = target
        return table


def goal_plan(goal: Goal) -> GoalPlan:
    """Load a goal's rules, targets, splits and tree (four queries)."""
    with scope(tenant=goal.tenant_id):
        rules = list(GoalRule.objects.filter(ruleset_id=goal.ruleset_id).order_by("position"))
        targets = {t.rule_id: t for t in GoalTarget.objects.filter(goal=goal)}
        splits: dict[int, dict[int, LevelSplit]] = {}
        for split in GoalSplit.objects.filter(goal=goal):
            splits.setdefault(split.rule_id, {})[split.parent_id] = _level_split(split)
    by_id = {rule.pk: rule for rule in rules}
    tree = goal_tree(goal.team)
    return GoalPlan(
        template=goal.is_template,
        tree=tree,
        cycles=goal.cycles(),
        rules=rules,
        targets={
            rule_id: RuleTarget(
                aggregation=by_id[rule_id].aggregation,
                unit=by_id[rule_id].unit,
                amount=t.amount,
                phasing=tuple(Decimal(str(p)) for p in t.phasing),
            )
            for rule_id, t in targets.items()
        },
        splits=splits,
        holders=_holds(goal.holders, tree, goal.sales_role_id),
        default_split=goal.default_split,
        holders_kind=goal.holders,
    )


def draft_plan(draft: GoalDraft, goal_cycles: list[Cycle], tree: GoalTree) -> GoalPlan:
    """The plan of a draft that ``goal_check`` accepted (for the wizard's live preview)."""
    with scope(tenant=draft.team.tenant_id):
        rules = list(draft.ruleset.rules.order_by("position"))
    by_key = {rule.key: rule for rule in rules}
    splits: dict[int, dict[int, LevelSplit]] = {}
    for _index, split in _effective_splits(draft.splits, by_key):
        splits.setdefault(by_key[split.rule].pk, {})[split.parent.pk] = _level_split(split)
    return GoalPlan(
        template=draft.sales_role is not None,
        tree=tree,
        cycles=goal_cycles,
        rules=rules,
        targets={
            by_key[key].pk: RuleTarget(
                by_key[key].aggregation, by_key[key].unit, given.amount, given.phasing
            )
            for key, given in draft.targets.items()
            if key in by_key
        },
        splits=splits,
        holders=_holds(draft.holders, tree, _role_id(draft)),
        default_split=draft.default_split,
        holders_kind=draft.holders,
    )


# --- checking and saving --------------------------------------------------------------------


def _check_range(draft: GoalDraft) -> dict[str, str]:
    """Dates outside the accepted range (core.dates), of which nothing else can be
    checked: their cycles would overflow."""
    return {
        name: problem + "."
        for name, day in (("start", draft.start), ("end", draft.end))
        if (problem := date_range_problem(day))
    }


def _check_dates(
    draft: GoalDraft, *, goal: Goal | None, actor: Member | None, today: date
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if draft.end < draft.start:
        errors["end"] = f"The goal ends ({draft.end}) before it starts ({draft.start})."
    starts_unchanged = goal is not None and goal.start == draft.start
    if draft.start < today and not starts_unchanged:
        if not draft.backfill:
            errors["start"] = (
                f"A goal starts today ({today}) or later; {draft.start} is in the past. "
                "An admin can create a back-dated goal by choosing backfill."
            )
        elif actor is not None and not actor.is_admin:
            errors["backfill"] = "Only an admin can create a back-dated (backfilled) goal."
    if goal is not None and draft.end != goal.end and draft.end < today:
        errors["end"] = f"The end date cannot move into the past (today is {today})."
    return errors


def _check_scope(draft: GoalDraft, actor: Member | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    tenant_id = draft.team.tenant_id
    if draft.ruleset.tenant_id != tenant_id:
        errors["ruleset"] = "Unknown ruleset."
    if draft.sales_role is not None and draft.sales_role.tenant_id != tenant_id:
        errors["sales_role"] = "Unknown sales role."
    if actor is not None and not actor.is_admin:
        if not actor.manages_people or not actor.contains(draft.team):
            errors["team"] = "You can set goals only for your own team."
        if draft.sales_role is not None:
            errors["sales_role"] = "Only an admin can set the KPIs of a sales role."
    if not draft.team.is_active:
        errors["team"] = f"{draft.team.name} is inactive."
    return errors


def _check_targets(
    draft: GoalDraft, rules: dict[str, GoalRule], goal_cycles: list[Cycle], tree: GoalTree
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not draft.targets:
        errors["targets"] = "Give a target for at least one rule."
    for key, given in draft.targets.items():
        if key not in rules:
            errors[f"targets.{key}"] = f"The ruleset {draft.ruleset.name!r} has no rule {key!r}."
        elif not all(_storable(number) for number in (given.amount, *given.phasing)):
            errors[f"targets.{key}"] = f"A target is a number below {AMOUNT_LIMIT:,}."
    holders = _holds(draft.holders, tree)
    for index, split in enumerate(draft.splits):
        where = f"distribution.{index}"
        if split.rule is not None and split.rule not in rules:
            errors[where] = f"The ruleset has no rule {split.rule!r}."
        elif split.parent.pk not in tree.active:
            errors[where] = f"{split.parent.name} is not in this goal's team."
        elif not tree.children.get(split.parent.pk):
            errors[where] = f"{split.parent.name} has no one reporting to them to split among."
        elif split.method == "custom" and split.rule is None:
            errors[where] = "Custom amounts are given per rule: name the rule they are for."
        elif not all(_storable(share) for share in split.shares.values()):
            errors[where] = f"Shares are numbers below {AMOUNT_LIMIT:,}."
    if errors:
        return errors
    effective = _effective_splits(draft.splits, rules)
    for key, given in draft.targets.items():
        rule = rules[key]
        target = RuleTarget(rule.aggregation, rule.unit, given.amount, given.phasing)
        try:
            target.check(len(goal_cycles))
        except DistributionError as exc:
            errors[f"targets.{key}"] = str(exc)
            continue
        if draft.sales_role is not None:  # KPIs: each holder holds the amount, nothing is split
            continue
        levels = {
            split.parent.pk: (index, split) for index, split in effective if split.rule == key
        }
        if target.phasing and any(split.method == "custom" for _, split in levels.values()):
            errors[f"targets.{key}"] = "A phased target is split by equal shares or percentages."
            continue
        try:
            member_targets(
                target,
                cycle_amounts(target, goal_cycles)[0] if target.phasing else target.amount,
                root=tree.root,
                children=tree.children,
                splits=_levels(
                    tree,
                    draft.default_split,
                    {parent: _level_split(split) for parent, (_, split) in levels.items()},
                ),
                holds_target=holders,
            )
        except DistributionError as exc:
            index = levels[exc.node][0] if exc.node in levels else None
            where = f"distribution.{index}" if index is not None else f"targets.{key}"
            names = {pk: member.name for pk, member in tree.members.items()}
            who = names.get(exc.node, "")
            errors[where] = f"{rule.name}: {who + ': ' if who else ''}{exc.named(names)}"
    return errors


_FRAME = frozenset({"goal", "ruleset", "team", "cycle", "end"})


def goal_check(
    draft: GoalDraft, *, goal: Goal | None = None, actor: Member | None = None
) -> tuple[list[Cycle], GoalTree]:
    """Check a draft as ``goal_save`` would; raise ValidationError naming every problem."""
    tenant = draft.team.tenant
    today = tenant_today(tenant)
    errors: dict[str, str] = {}
    draft.name = draft.name.strip()
    if not draft.name:
        errors["name"] = "A goal needs a name."
    if problem := too_long(Goal, "name", draft.name):
        errors["name"] = f"The name {problem}."
    if draft.cycle not in CycleKind.__members__.values():
        errors["cycle"] = f"Choose a cycle: {', '.join(CycleKind)}."
    if draft.holders not in Goal.Holders.values:
        errors["holders"] = f"Choose who holds targets: {', '.join(Goal.Holders.values)}."
    if draft.default_split not in Goal.Split.values:
        errors["default_split"] = f"Choose how levels split: {', '.join(Goal.Split.values)}."
    if goal is not None:
        errors |= _check_change(draft, goal, today)
    errors |= _check_scope(draft, actor)
    if out_of_range := _check_range(draft):
        raise ValidationError(errors | out_of_range)
    errors |= _check_dates(draft, goal=goal, actor=actor, today=today)
    if errors.keys() & _FRAME:  # without a valid frame the targets cannot be checked
        raise ValidationError(errors)
    with scope(tenant=tenant):
        rules = {rule.key: rule for rule in draft.ruleset.rules.all()}
    goal_cycles = cycles(tenant_calendar(tenant), draft.cycle, draft.start, draft.end)
    if len(goal_cycles) > MAX_CYCLES:
        errors["end"] = (
            f"A {draft.cycle} goal from {draft.start} to {draft.end} has {len(goal_cycles):,} "
            f"cycles; a goal has at most {MAX_CYCLES:,}: end it sooner or choose a longer cycle."
        )
        raise ValidationError(errors)
    tree = goal_tree(draft.team)
    errors |= _check_targets(draft, rules, goal_cycles, tree)
    if errors:
        raise ValidationError(errors)
    return goal_cycles, tree


def _check_change(draft: GoalDraft, goal: Goal, today: date) -> dict[str, str]:
    status = goal.status_on(today)
    if status == Goal.Status.ENDED:
        return {"goal": f"{goal.name} has ended ({goal.end}); an ended goal is read-only."}
    if status == Goal.Status.ARCHIVED:
        return {"goal": f"{goal.name} is archived; an archived goal is read-only."}
    errors: dict[str, str] = {}
    if status == Goal.Status.IN_PROGRESS:
        fixed = {
            "ruleset": (draft.ruleset.pk, goal.ruleset_id),
            "team": (draft.team.pk, goal.team_id),
            "cycle": (draft.cycle, goal.cycle),
            "start": (draft.start, goal.start),
            "sales_role": (_role_id(draft), goal.sales_role_id),
        }
        for name, (new, old) in fixed.items():
            if new != old:
                what = name.replace("_", " ")
                errors[name] = f"The {what} of a goal in progress cannot change."
    return errors


def goal_snapshot(goal: Goal) -> dict[str, Any]:
    """The goal as the audit log compares it (one query for targets, one for splits)."""
    with scope(tenant=goal.tenant_id):
        targets = {
            t.rule.key: {"amount": str(t.amount), "phasing": t.phasing}
            for t in goal.targets.select_related("rule")
        }
        splits = [
            {
                "rule": s.rule.key,
                "parent": s.parent.user.email,
                "method": s.method,
                "shares": s.shares,
            }
            for s in goal.splits.select_related("rule", "parent__user").order_by("pk")
        ]
    return {
        "name": goal.name,
        "ruleset": goal.ruleset.name,
        "team": goal.team.user.email,
        "cycle": goal.cycle,
        "start": goal.start.isoformat(),
        "end": goal.end.isoformat(),
        "holders": goal.holders,
        "default_split": goal.default_split,
        "sales_role": goal.sales_role.name if goal.sales_role_id else None,
        "backfilled": goal.backfilled,
        "targets": targets,
        "distribution": splits,
        "archived": goal.archived_at is not None,
    }


def goal_save(*, draft: GoalDraft, goal: Goal | None = None, actor: Actor = None) -> Goal:
    """Create a goal from ``draft``, or apply ``draft`` to ``goal``; audited, all or nothing.

    ``actor`` is the member who acts (their permissions are checked) or a label for changes
    made without one (the API with a token, the command line).
    """
    member = actor if isinstance(actor, Member) else None
    goal_check(draft, goal=goal, actor=member)
    tenant = draft.team.tenant
    with transaction.atomic(), scope(tenant=tenant):
        if goal is not None:
            goal = Goal.objects.select_for_update().get(pk=goal.pk)
            goal_check(draft, goal=goal, actor=member)  # again, under the lock
        before = goal_snapshot(goal) if goal is not None else None
        if goal is None:
            backfilled = draft.start < tenant_today(tenant)
            goal = Goal(tenant=tenant, created_by=member, backfilled=backfilled)
        fields = ("name", "ruleset", "team", "cycle", "start", "end", "holders", "sales_role")
        for name in (*fields, "default_split"):
            setattr(goal, name, getattr(draft, name))
        goal.save()
        rules = {rule.key: rule for rule in draft.ruleset.rules.all()}
        goal.targets.all().delete()
        goal.splits.all().delete()
        GoalTarget.objects.bulk_create(
            GoalTarget(
                tenant=tenant,
                goal=goal,
                rule=rules[key],
                amount=given.amount,
                phasing=[str(p) for p in given.phasing],
            )
            for key, given in draft.targets.items()
        )
        GoalSplit.objects.bulk_create(
            GoalSplit(
                tenant=tenant,
                goal=goal,
                rule=rules[split.rule],
                parent=split.parent,
                method=split.method,
                shares={str(k): str(v) for k, v in split.shares.items()},
            )
            for _index, split in _effective_splits(draft.splits, rules)
            if split.rule in draft.targets
        )
        after = goal_snapshot(goal)
        audit_record(
            tenant=tenant,
            actor=actor,
            action="goal.create" if before is None else "goal.edit",
            target=goal,
            before=before,
            after=after,
        )
        _store_quotas(goal, actor, before, after)
        goal_announce(goal)
    return goal


_QUOTA_FIELDS = ("targets", "distribution", "holders", "default_split", "end")
"""What a goal's quotas are derived from: a change to any re-derives the running cycle's."""


def _store_quotas(
    goal: Goal, actor: Actor, before: dict[str, Any] | None, after: dict[str, Any]
) -> None:
    """A new goal's started cycles get their quotas now; an edit of what quotas derive from
    re-derives the running cycle's (``goals.quotas``)."""
    from .quotas import quotas_ensure, quotas_rederive, started_cycles  # it reads GoalPlans

    if before is not None and all(before[name] == after[name] for name in _QUOTA_FIELDS):
        return
    plan = goal_plan(goal)
    if before is None:
        started = started_cycles(plan.cycles, timezone.now())
        quotas_ensure(goal=goal, plan=plan, cycles=started, actor=actor)
    else:
        quotas_rederive(goal=goal, actor=actor, plan=plan)


def _role_id(draft: GoalDraft) -> int | None:
    return draft.sales_role.pk if draft.sales_role is not None else None


def goal_announce(goal: Goal) -> None:
    """Tell the goal's listeners (its recompute) once the transaction commits."""
    transaction.on_commit(lambda: goal_saved.send(sender=Goal, goal=goal), robust=True)


def _effective_splits(
    splits: Sequence[SplitInput], rules: Mapping[str, GoalRule]
) -> list[tuple[int, SplitInput]]:
    """Each (rule, parent)'s split with its place in ``splits``: a split given for one rule
    beats one given for every rule, and a later one beats an earlier one."""
    chosen: dict[tuple[str, int], tuple[int, SplitInput]] = {}
    ordered = sorted(enumerate(splits), key=lambda item: item[1].rule is not None)
    for index, split in ordered:
        for key in [split.rule] if split.rule else rules:
            chosen[(key, split.parent.pk)] = (index, split)
    return [
        (index, SplitInput(split.parent, split.method, split.shares, key))
        for (key, _parent), (index, split) in chosen.items()
    ]


def goal_archive(*, goal: Goal, actor: Actor = None) -> Goal:
    """Delete a goal the safe way: archived, kept with its history, no longer computed."""
    with transaction.atomic(), scope(tenant=goal.tenant_id):
        goal = Goal.objects.select_for_update().get(pk=goal.pk)
        status = goal.status
        if status in (Goal.Status.ENDED, Goal.Status.ARCHIVED):
            raise ValidationError(
                {"goal": f"{goal.name} is {status.label.lower()}; it is kept as it is."}
            )
        before = goal_snapshot(goal)
        goal.archived_at = timezone.now()
        goal.save(update_fields=["archived_at", "updated_at"])
        audit_record(
            tenant=goal.tenant,
            actor=actor,
            action="goal.archive",
            target=goal,
            before=before,
            after=goal_snapshot(goal),
        )
        goal_announce(goal)
    return goal
