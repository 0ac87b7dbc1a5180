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


sales_roles_changing = Signal()
"""Sent inside the transaction, before members' sales roles change, with ``tenant_id`` and
``role_ids`` (the roles they leave and join): a receiver keeps what the change must not touch
(the goals app stores the running cycle's quotas of the roles' KPIs as they stand)."""

sales_roles_changed = Signal()
"""Sent inside the transaction, after members' sales roles changed, with ``tenant_id``,
``role_ids``, ``at_once`` (an admin asked for the change to count in the running cycle too)
and ``actor``."""
