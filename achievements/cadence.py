"""How often beat recomputes goals, by cycle kind: read by the beat schedule and the sweep.

Pure, no Django: the settings read it to build the schedule before any app is loaded.
"""

from __future__ import annotations

from datetime import timedelta

DAILY = ("daily",)
LONGER = ("weekly", "biweekly", "monthly", "quarterly", "yearly")
DAILY_EVERY = timedelta(hours=1)
"""How often beat recomputes goals with daily cycles."""
LONGER_EVERY = timedelta(hours=3)
"""How often beat recomputes goals with longer cycles."""


def cadence(cycle_kind: str) -> timedelta:
    """How often beat recomputes a goal of this cycle kind."""
    return DAILY_EVERY if cycle_kind in DAILY else LONGER_EVERY
