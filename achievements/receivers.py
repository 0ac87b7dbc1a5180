"""What the engine does when the apps below it say something changed: ask for the recompute of
the goals the change can affect (``freshness.recompute_request``)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django_scopes import scopes_disabled

from goals.models import Goal

from .freshness import recompute_request
from .selectors import goals_affected, goals_running

logger = logging.getLogger(__name__)


def members_changed(sender: Any, *, tenant_id: int, **_: Any) -> None:
    recompute_request(goals_running(tenant_id), tenant_id=tenant_id)


def entities_changed(
    sender: Any,
    *,
    tenant_id: int,
    entity: str,
    owner_ids: list[int],
    start: datetime,
    end: datetime,
    **_: Any,
) -> None:
    try:
        goal_ids = goals_affected(tenant_id, entity, owner_ids=owner_ids, start=start, end=end)
    except Exception:
        # Never lose the request of a whole batch over one odd record: ask for every running
        # goal of the tenant instead.
        logger.exception("Could not tell which goals a change affects")
        goal_ids = goals_running(tenant_id)
    recompute_request(goal_ids, tenant_id=tenant_id)


def goal_saved(sender: Any, *, goal: Goal, **_: Any) -> None:
    if goal.archived_at is None:
        recompute_request([goal.pk], tenant_id=goal.tenant_id)


def ruleset_saved(sender: Any, *, ruleset: Any, **_: Any) -> None:
    with scopes_disabled():
        goal_ids = list(Goal.objects.live().filter(ruleset=ruleset).values_list("pk", flat=True))
    recompute_request(goal_ids, tenant_id=ruleset.tenant_id)
