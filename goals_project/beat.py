"""The Celery beat schedule, in code (``CELERY_BEAT_SCHEDULE``); times are UTC.

Each entry only fans out: it sends one recompute task per goal, so the work spreads over as
many workers as there are. ``expires`` drops a run that could not start before the next one.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

HOUR = 3600
DAILY = ["daily"]
LONGER = ["weekly", "biweekly", "monthly", "quarterly", "yearly"]


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        "heartbeat": {
            "task": "goals.heartbeat",
            "schedule": 60.0,
            "options": {"expires": 50},
        },
        "recompute-daily-goals": {
            "task": "achievements.recompute_due",
            "schedule": crontab(minute=5),
            "kwargs": {"kinds": DAILY},
            "options": {"expires": HOUR - 60},
        },
        "recompute-other-goals": {
            "task": "achievements.recompute_due",
            "schedule": crontab(minute=20, hour="*/3"),
            "kwargs": {"kinds": LONGER},
            "options": {"expires": 3 * HOUR - 60},
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
