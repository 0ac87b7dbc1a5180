"""The Celery beat schedule, in code (``CELERY_BEAT_SCHEDULE``); times are UTC.

Each entry only fans out: it sends one recompute task per goal, so the work spreads over as
many workers as there are. ``expires`` drops a run that could not start before the next one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery.schedules import crontab

from achievements.cadence import DAILY, DAILY_EVERY, LONGER, LONGER_EVERY

HOUR = 3600


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        "heartbeat": {
            "task": "goals.heartbeat",
            "schedule": 60.0,
            "options": {"expires": 50},
        },
        "recompute-daily-goals": {
            "task": "achievements.recompute_due",
            "schedule": crontab(minute=5, hour=_every(DAILY_EVERY)),
            "kwargs": {"kinds": list(DAILY)},
            "options": {"expires": DAILY_EVERY.total_seconds() - 60},
        },
        "recompute-other-goals": {
            "task": "achievements.recompute_due",
            "schedule": crontab(minute=20, hour=_every(LONGER_EVERY)),
            "kwargs": {"kinds": list(LONGER)},
            "options": {"expires": LONGER_EVERY.total_seconds() - 60},
        },
        "close-cycles": {
            "task": "achievements.close_due",
            "schedule": crontab(minute=40, hour=2),
            "options": {"expires": 12 * HOUR},
        },
        "sweep-stale-goals": {
            "task": "achievements.sweep",
            "schedule": crontab(minute="*/15"),
            "options": {"expires": 15 * 60 - 30},
        },
    }


def _every(interval: timedelta) -> str:
    """The crontab hours of a cadence of whole hours ("*/3")."""
    return f"*/{int(interval.total_seconds() // HOUR)}"
