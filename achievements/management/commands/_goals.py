from __future__ import annotations

from django.core.management.base import CommandError
from django_scopes import scopes_disabled

from core.commands import tenant_by_slug
from goals.models import Goal


def goals_for(tenant_slug: str | None, goal_id: int | None = None) -> list[Goal]:
    """Live goals of one tenant or all, or the one goal asked for (which must be the tenant's)."""
    with scopes_disabled():
        goals = Goal.objects.select_related("tenant").order_by("tenant__slug", "pk")
        if tenant_slug:
            goals = goals.filter(tenant=tenant_by_slug(tenant_slug))
        if goal_id is not None:
            found = list(goals.filter(pk=goal_id))
            if not found:
                where = f" of tenant {tenant_slug!r}" if tenant_slug else ""
                raise CommandError(f"No goal {goal_id}{where}.")
            return found
        return list(goals.live())
