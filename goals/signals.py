"""What the goals app tells the apps above it."""

from __future__ import annotations

from django.dispatch import Signal

goal_saved = Signal()
"""Sent after the commit that created or changed a goal, with ``goal`` (archived goals too)."""
