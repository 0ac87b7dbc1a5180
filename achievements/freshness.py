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

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django_scopes import scope

from goals_project.queue import enqueue

from .models import GoalComputation
from .tasks import recompute_goal

logger = logging.getLogger(__name__)


def recompute_request(goal_ids: Iterable[int], *, tenant_id: int) -> None:
    """Record that these goals need a recompute and send it, debounced per goal."""
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
