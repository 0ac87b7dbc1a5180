"""Send Celery tasks for data already committed, never failing the request that wrote it.

The data is already committed when a task is sent: a broker that cannot be reached is logged
and the scheduled jobs catch up later, so the request that wrote the data still succeeds.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args: Any, countdown: float | None = None, **kwargs: Any) -> bool:
    """Send ``task`` now; False (and a warning) when the broker cannot be reached.

    Call it only for data already committed: the scheduled jobs then catch up what is lost.
    """
    try:
        task.apply_async(args=args, kwargs=kwargs, countdown=countdown)
    except OperationalError as exc:
        logger.warning(
            "Broker unreachable; %s will be caught up by the schedule: %s", task.name, exc
        )
        return False
    return True
