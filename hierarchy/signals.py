"""What the hierarchy tells the apps above it."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

members_changed = Signal()
"""Sent after the commit that added, changed, moved, deactivated or imported members, with
``tenant_id``: teams and titles changed, so roll-ups and template targets may have."""


def members_changed_on_commit(tenant_id: int) -> None:
    transaction.on_commit(
        lambda: members_changed.send(sender=None, tenant_id=tenant_id), robust=True
    )


calendar_change_asked = Signal()
"""Sent before a tenant's time zone, week start or fiscal-year start changes, with ``tenant``:
a receiver answers why it may not (a sentence), or None. The calendar places every goal's
cycles, so an app holding cycles may refuse."""
