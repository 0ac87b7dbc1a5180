from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class GoalsConfig(AppConfig):
    name = "goals"
    verbose_name = "Goals, targets and cycles"

    def ready(self) -> None:
        from crm.signals import tenant_clearing

        tenant_clearing.connect(_tenant_clearing, dispatch_uid="goals.clearing")


def _tenant_clearing(sender: Any, *, tenant: Any, **_: Any) -> None:
    """The demo's reset deletes a tenant's members: its goals go first, with their targets,
    splits and (through the apps above) achievements."""
    from django_scopes import scopes_disabled

    from .models import Goal

    with scopes_disabled():
        Goal.objects.filter(tenant=tenant).delete()
