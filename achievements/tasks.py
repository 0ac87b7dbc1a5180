"""Celery tasks: thin, they take ids and call the services; the schedule only fans out."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.utils import timezone

from goals_project.queue import enqueue

from .selectors import goals_behind, goals_due, goals_to_close
from .services import CLOSE_GRACE, goal_recompute

logger = logging.getLogger(__name__)


@shared_task(name="achievements.recompute_goal")
def recompute_goal(goal_id: int, all_cycles: bool = False) -> dict[str, Any]:
    result = goal_recompute(goal_id, all_cycles=all_cycles)
    return {"goal": goal_id, "cycles": result.cycles, "written": result.written}


@shared_task(name="achievements.close_goal")
def close_goal(goal_id: int) -> dict[str, Any]:
    result = goal_recompute(goal_id, close_before=timezone.now() - CLOSE_GRACE)
    return {"goal": goal_id, "closed": result.closed}


def _fan_out(task: Any, goal_ids: list[int]) -> int:
    return sum(1 for goal_id in goal_ids if enqueue(task, goal_id))


@shared_task(name="achievements.recompute_due")
def recompute_due(kinds: list[str]) -> int:
    """One recompute task per in-progress goal of these cycle kinds, in every tenant."""
    return _fan_out(recompute_goal, goals_due(kinds))


@shared_task(name="achievements.close_due")
def close_due() -> int:
    """One closing task per goal with a cycle that ended more than the grace period ago."""
    return _fan_out(close_goal, goals_to_close(timezone.now() - CLOSE_GRACE))


@shared_task(name="achievements.sweep")
def sweep() -> int:
    """Recompute goals left behind: a lost request, a down broker, a late schedule."""
    return _fan_out(recompute_goal, goals_behind())
