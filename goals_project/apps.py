from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class GoalsProjectConfig(AppConfig):
    name = "goals_project"

    def ready(self) -> None:
        from goals_project import rls  # registers the deploy check of the database role

        post_migrate.connect(rls.apply_after_migrate, dispatch_uid="goals_project.rls")
