"""What the CRM tells the apps above it (dependencies point one way: they listen, it sends)."""

from __future__ import annotations

from django.dispatch import Signal

entities_changed = Signal()
"""Sent after a commit that created, changed or deleted rows of an entity, with keyword
arguments ``tenant_id``, ``entity``, ``owner_ids`` and ``start``/``end`` (aware datetimes, the
span of the rows' attribution dates before and after the change)."""

tenant_clearing = Signal()
"""Sent inside the transaction of ``lab.demo_tenant.demo_tenant_clear``, with ``tenant``, before its
members are deleted: apps above delete their rows that refer to them (goals)."""
