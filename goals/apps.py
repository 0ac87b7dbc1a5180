from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class GoalsConfig(AppConfig):
    name = "goals"
    verbose_name = "Goals, targets and cycles"

    def ready(self) -> None:
        from crm.signals import tenant_clearing
        from hierarchy.signals import (
            calendar_change_asked,
            sales_roles_changed,
            sales_roles_changing,
        )

        from .roles import sales_roles_changed as roles_changed
        from .roles import sales_roles_changing as roles_changing

        sales_roles_changing.connect(roles_changing, dispatch_uid="goals.roles_changing")
        sales_roles_changed.connect(roles_changed, dispatch_uid="goals.roles_changed")
        tenant_clearing.connect(_tenant_clearing, dispatch_uid="goals.clearing")
        calendar_change_asked.connect(_calendar_change_asked, dispatch_uid="goals.calendar")


def _tenant_clearing(sender: Any, *, tenant: Any, **_: Any) -> None:
    """The demo's reset deletes a tenant's members: its goals go first, with their targets,
    splits and (through the apps above) achievements."""
    from django_scopes import scopes_disabled

    from .models import Goal

    with scopes_disabled():
        Goal.objects.filter(tenant=tenant).delete()


def _calendar_change_asked(sender: Any, *, tenant: Any, **_: Any) -> str | None:
    """Goals keep their cycles, numbers and quotas by the calendar they were set on: it
    changes only while the tenant has none."""
    from django_scopes import scope

    from .models import Goal

    with scope(tenant=tenant.pk):
        count = Goal.objects.count()
    if not count:
        return None
    goals = "1 goal" if count == 1 else f"{count:,} goals"
    return (
        f"The company has {goals}, whose cycles, numbers and targets follow this calendar: "
        "it can be changed while there are no goals."
    )
