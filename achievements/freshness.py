"""Seconds-fresh achievements: which goals a change can affect, and asking for their recompute.

A change is recorded on the goal first (``GoalComputation.requested_at``, in the database), then
a recompute is sent, debounced per goal: the first change of a burst sends one task to run
``RECOMPUTE_DEBOUNCE_SECONDS`` later and the rest of the burst rides along, since the task reads
everything committed by the time it runs. If the broker is down the request stays recorded and
the sweep sends it once the broker is back. In the embedded mode tasks run in-process at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from goals.models import Goal
from goals_project.queue import enqueue
from hierarchy.models import Member

from .models import GoalComputation

logger = logging.getLogger(__name__)


def goals_affected(
    tenant_id: int, entity: str, *, owner_ids: Iterable[int], start: datetime, end: datetime
) -> list[int]:
    """Live goals of the tenant with a rule on ``entity`` whose dates meet ``start``..``end``
    (a day of slack either side for time zones) and whose team holds one of the owners.

    A rule dated by a custom field places records by a date the change does not span, so its
    goals are affected whatever their dates."""
    owner_ids = list(owner_ids)
    if not owner_ids:
        return []
    dated = Q(
        start__lte=(end + timedelta(days=1)).date(), end__gte=(start - timedelta(days=1)).date()
    )
    with scopes_disabled():
        goals = list(
            Goal.objects.live()
            .filter(
                dated | Q(ruleset__rules__date_field__startswith="custom."),
                tenant_id=tenant_id,
                ruleset__rules__entity=entity,
            )
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
            tree == goal["team__tree_id"] and goal["team__lft"] <= lft <= goal["team__rght"]
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


def recompute_request(goal_ids: Iterable[int], *, tenant_id: int) -> None:
    """Record that these goals need a recompute and send it, debounced per goal."""
    from .tasks import recompute_goal  # the tasks module imports this one

    goal_ids = sorted(set(goal_ids))
    if not goal_ids:
        return
    now = timezone.now()
    with scope(tenant=tenant_id):
        GoalComputation.objects.bulk_create(
            [GoalComputation(tenant_id=tenant_id, goal_id=pk, requested_at=now) for pk in goal_ids],
            update_conflicts=True,
            unique_fields=["goal"],
            update_fields=["requested_at"],
        )
    delay = settings.RECOMPUTE_DEBOUNCE_SECONDS
    for goal_id in goal_ids:
        try:
            if settings.CELERY_TASK_ALWAYS_EAGER:
                enqueue(recompute_goal, goal_id)
            elif _first_of_burst(goal_id, delay):
                enqueue(recompute_goal, goal_id, countdown=delay)
        except Exception:
            # In the embedded mode the task runs here: one goal that fails must not keep the
            # next ones from their recompute. Its request stays recorded for the sweep.
            logger.exception("The recompute of goal %s failed; the sweep will try again", goal_id)


def _first_of_burst(goal_id: int, delay: int) -> bool:
    try:
        return cache.add(f"achievements:recompute:{goal_id}", 1, timeout=delay)
    except Exception:  # noqa: BLE001  (a cache that is down must not stop the recompute)
        logger.warning("Debounce cache unavailable; sending the recompute of goal %s", goal_id)
        return True


SCHEDULE = {"daily": timedelta(hours=1)}
OTHER_SCHEDULE = timedelta(hours=3)


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
            due = SCHEDULE.get(goal.cycle, OTHER_SCHEDULE) + timedelta(minutes=30)
            computed = getattr(goal, "computation", None)
            if (
                goal.status == Goal.Status.IN_PROGRESS
                and computed is not None
                and (computed.computed_at is None or computed.computed_at < now - due)
            ):
                behind.add(goal.pk)
    return sorted(behind)
