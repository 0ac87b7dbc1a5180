"""Heartbeats of the background processes, kept in Redis for /healthz.

Beat sends ``goals.heartbeat`` every minute: beat records when it sent one (in its own process,
as the task is published) and the worker that runs it records when it did. /healthz reads both,
so an operator sees a dead worker or a stopped beat within minutes.
"""

from __future__ import annotations

import time
from typing import Any

from celery.signals import beat_init, before_task_publish, worker_ready
from django.conf import settings
from redis import Redis

HEARTBEAT_TASK = "goals.heartbeat"
KEYS = {"worker": "goals:health:worker", "beat": "goals:health:beat"}


def _redis() -> Redis:
    timeout = settings.BROKER_TIMEOUT
    return Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )


def beat_mark(process: str) -> None:
    """Record that ``process`` ("worker" or "beat") is alive now."""
    _redis().set(KEYS[process], f"{time.time():.3f}", ex=24 * 3600)


def ages() -> dict[str, float | None]:
    """Seconds since each process was last seen (None: never, or more than a day ago)."""
    seen = _redis().mget(list(KEYS.values()))
    now = time.time()
    return {
        process: None if value is None else max(now - float(value), 0.0)
        for process, value in zip(KEYS, seen, strict=True)
    }


@before_task_publish.connect(dispatch_uid="goals.heartbeat.beat")
def _sent(sender: str | None = None, **_: Any) -> None:
    # Beat is the only process that publishes the heartbeat task.
    if sender == HEARTBEAT_TASK and settings.REDIS_URL:
        beat_mark("beat")


@worker_ready.connect(dispatch_uid="goals.heartbeat.worker_ready")
def _worker_started(**_: Any) -> None:
    # Seen from the start, not only after beat's first heartbeat a minute later.
    if settings.REDIS_URL:
        beat_mark("worker")


@beat_init.connect(dispatch_uid="goals.heartbeat.beat_init")
def _beat_started(**_: Any) -> None:
    if settings.REDIS_URL:
        beat_mark("beat")
