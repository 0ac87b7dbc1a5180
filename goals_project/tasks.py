from __future__ import annotations

from celery import shared_task


@shared_task(name="goals.ping")
def ping() -> str:
    """Answer from a worker: proves the broker, the worker and the result backend work."""
    return "pong"
