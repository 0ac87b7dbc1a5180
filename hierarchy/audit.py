"""The audit log: every administrative change in a tenant, with before and after."""

from __future__ import annotations

from typing import Any

from django.db import models

from .models import AuditEntry, Member, Tenant


def audit_record(
    *,
    tenant: Tenant,
    actor: Member | str | None,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one entry. ``actor`` is the member who acted, or a label such as "API token
    'CRM sync'" or "command line" for changes made without one."""
    if isinstance(actor, Member):
        actor_member, label = actor, f"{actor.name} <{actor.user.email}>"
    else:
        actor_member, label = None, actor or "system"
    return AuditEntry.objects.create(
        tenant=tenant,
        actor=actor_member,
        actor_label=label,
        action=action,
        target_type=target._meta.model_name,
        target_id=target.pk,
        target_label=str(target)[:300],
        before=before,
        after=after,
    )


def member_snapshot(member: Member) -> dict[str, Any]:
    """The fields of a member that the audit log compares."""
    return {
        "name": member.name,
        "email": member.user.email,
        "role": member.role,
        "title": member.title,
        "reports_to": member.reports_to.user.email if member.reports_to_id else None,
        "is_active": member.is_active,
    }
