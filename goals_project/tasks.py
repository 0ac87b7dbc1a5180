from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .heartbeat import HEARTBEAT_TASK, beat_mark


@shared_task(name="goals.ping", ignore_result=False)  # check_worker waits for its answer
def ping() -> str:
    """Answer from a worker: proves the broker, the worker and the result backend work."""
    return "pong"


@shared_task(name=HEARTBEAT_TASK)
def heartbeat() -> None:
    """Sent by beat every minute; the worker that runs it marks itself alive."""
    if settings.REDIS_URL:
        beat_mark("worker")
