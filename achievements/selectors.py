"""Which goals need work, and how often: one place for every such question.

The recompute cadence is ``cadence.py``'s, which the beat schedule (``goals_project.beat``)
reads too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scopes_disabled

from goals.models import Goal, tenant_today
from hierarchy.models import Member, in_subtree
from rulesets.spec import Mode

from .cadence import cadence
from .models import Achievement

SNAPSHOT_ENTITIES = ("opportunity", "stage_change")
"""The entities whose changes move a snapshot of the pipeline."""


def goals_affected(
    tenant_id: int, entity: str, *, owner_ids: Iterable[int], start: datetime, end: datetime
) -> list[int]:
    """Live goals of the tenant with a rule on ``entity`` whose dates meet ``start``..``end``
    (a day of slack either side for time zones) and whose team holds one of the owners.

    A rule dated by a custom field places records by a date the change does not span, so its
    goals are affected whatever their dates. A rule counted at each cycle's end (a snapshot of
    the pipeline) sees a change of an opportunity or its stage at every end after it: its
    goals are affected unless they ended before the change."""
    owner_ids = list(owner_ids)
    if not owner_ids:
        return []
    since = (start - timedelta(days=1)).date()
    dated = Q(start__lte=(end + timedelta(days=1)).date(), end__gte=since)
    affected = Q(ruleset__rules__entity=entity) & (
        dated | Q(ruleset__rules__date_field__startswith="custom.")
    )
    if entity in SNAPSHOT_ENTITIES:
        affected |= Q(ruleset__rules__mode=Mode.CYCLE_END, end__gte=since)
    with scopes_disabled():
        goals = list(
            Goal.objects.live()
            .filter(affected, tenant_id=tenant_id)
            .values("pk", "team__tree_id", "team__lft", "team__rght")
            .distinct()
        )
        if not goals:
            return []
        owners = list(Member._tree_manager.filter(pk__in=owner_ids).values_list("tree_id", "lft"))
    return [
        goal["pk"]
        for goal in goals
        if any(
            in_subtree((goal["team__tree_id"], goal["team__lft"], goal["team__rght"]), tree, lft)
            for tree, lft in owners
        )
    ]


def goals_running(tenant_id: int) -> list[int]:
    """The tenant's live goals whose dates include today, wherever the tenant is."""
    today = timezone.now().date()
    with scopes_disabled():
        goals = Goal.objects.live().filter(
            tenant_id=tenant_id,
            start__lte=today + timedelta(days=1),
            end__gte=today - timedelta(days=1),
        )
        return list(goals.values_list("pk", flat=True))


def goals_behind(now: datetime | None = None) -> list[int]:
    """Goals the sweep recomputes: those with a recompute asked for and not done since (a lost
    task, a broker that was down), never computed, or in progress and computed longer ago
    than their schedule (plus half an hour)."""
    now = now or timezone.now()
    settle = now - timedelta(seconds=settings.RECOMPUTE_DEBOUNCE_SECONDS + 60)
    with scopes_disabled():
        started = Goal.objects.live().filter(start__lte=now.date() + timedelta(days=1))
        waiting = Q(computation__requested_at__lt=settle) & (
            Q(computation__computed_at__isnull=True)
            | Q(computation__computed_at__lt=F("computation__requested_at"))
        )
        behind = set(
            started.filter(waiting | Q(computation__isnull=True)).values_list("pk", flat=True)
        )
        running = started.filter(end__gte=now.date() - timedelta(days=1)).select_related(
            "tenant", "computation"
        )
        for goal in running:
            due = cadence(goal.cycle) + timedelta(minutes=30)
            computed = getattr(goal, "computation", None)
            if (
                goal.status == Goal.Status.IN_PROGRESS
                and computed is not None
                and (computed.computed_at is None or computed.computed_at < now - due)
            ):
                behind.add(goal.pk)
    return sorted(behind)


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
