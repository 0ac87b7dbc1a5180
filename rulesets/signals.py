"""What the rulesets app tells the apps above it."""

from __future__ import annotations

from django.dispatch import Signal

ruleset_saved = Signal()
"""Sent after the commit that changed a ruleset's rules, with ``ruleset``: goals using it
recompute their open cycles."""
