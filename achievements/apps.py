from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class AchievementsConfig(AppConfig):
    name = "achievements"
    verbose_name = "Achievements and dashboards"

    def ready(self) -> None:
        from crm.signals import entities_changed, tenant_clearing
        from goals.signals import goal_saved
        from hierarchy.signals import members_changed
        from rulesets.signals import ruleset_saved

        entities_changed.connect(_entities_changed, dispatch_uid="achievements.entities")
        goal_saved.connect(_goal_saved, dispatch_uid="achievements.goal")
        ruleset_saved.connect(_ruleset_saved, dispatch_uid="achievements.ruleset")
        tenant_clearing.connect(_tenant_clearing, dispatch_uid="achievements.clearing")
        members_changed.connect(_members_changed, dispatch_uid="achievements.members")


def _members_changed(sender: Any, *, tenant_id: int, **_: Any) -> None:
    from .freshness import goals_running, recompute_request

    recompute_request(goals_running(tenant_id), tenant_id=tenant_id)


def _tenant_clearing(sender: Any, *, tenant: Any, **_: Any) -> None:
    from django_scopes import scopes_disabled

    from goals.models import Goal

    with scopes_disabled():  # achievements, targets and splits go with their goals
        Goal.objects.filter(tenant=tenant).delete()


def _entities_changed(
    sender: Any,
    *,
    tenant_id: int,
    entity: str,
    owner_ids: list[int],
    start: Any,
    end: Any,
    **_: Any,
) -> None:
    import logging

    from .freshness import goals_affected, goals_running, recompute_request

    try:
        goal_ids = goals_affected(tenant_id, entity, owner_ids=owner_ids, start=start, end=end)
    except Exception:
        # Never lose the request of a whole batch over one odd record: ask for every running
        # goal of the tenant instead.
        logging.getLogger(__name__).exception("Could not tell which goals a change affects")
        goal_ids = goals_running(tenant_id)
    recompute_request(goal_ids, tenant_id=tenant_id)


def _goal_saved(sender: Any, *, goal: Any, **_: Any) -> None:
    from .freshness import recompute_request

    if goal.archived_at is None:
        recompute_request([goal.pk], tenant_id=goal.tenant_id)


def _ruleset_saved(sender: Any, *, ruleset: Any, **_: Any) -> None:
    from django_scopes import scopes_disabled

    from goals.models import Goal

    from .freshness import recompute_request

    with scopes_disabled():
        goal_ids = list(Goal.objects.live().filter(ruleset=ruleset).values_list("pk", flat=True))
    recompute_request(goal_ids, tenant_id=ruleset.tenant_id)
