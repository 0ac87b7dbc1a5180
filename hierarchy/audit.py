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
    return AuditEntry.objects.create(
        tenant=tenant,
        actor=actor if isinstance(actor, Member) else None,
        actor_label=actor_label(actor),
        action=action,
        target_type=target._meta.model_name,
        target_id=target.pk,
        target_label=str(target)[:300],
        before=before,
        after=after,
    )


def audit_change(
    *,
    tenant: Tenant,
    actor: Member | str | None,
    action: str,
    target: models.Model,
    before: Any,
    after: Any,
) -> bool:
    """Write one entry when ``after`` differs from ``before`` (a save that changed nothing is
    not a change); whether it did."""
    if after == before:
        return False
    audit_record(
        tenant=tenant, actor=actor, action=action, target=target, before=before, after=after
    )
    return True


def actor_label(actor: Member | str | None) -> str:
    """Who acted, as the audit log and stored quotas name them: "Name <email>" for a member,
    else the label given ("API token 'CRM sync'"), else "system"."""
    if isinstance(actor, Member):
        return f"{actor.name} <{actor.user.email}>"
    return actor or "system"


def member_snapshot(member: Member) -> dict[str, Any]:
    """The fields of a member that the audit log compares."""
    return {
        "name": member.name,
        "email": member.user.email,
        "role": member.role,
        "title": member.title,
        "sales_role": member.sales_role.name if member.sales_role_id else None,
        "reports_to": member.reports_to.user.email if member.reports_to_id else None,
        "is_active": member.is_active,
    }
