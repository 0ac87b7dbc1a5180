from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class GoalsProjectConfig(AppConfig):
    name = "goals_project"

    def ready(self) -> None:
        from goals_project import (  # noqa: F401  (they register their system checks)
            rls,  # the deploy check of the database role
            staticcheck,  # the static files manifest, when DEBUG is off
        )

        post_migrate.connect(rls.apply_after_migrate, dispatch_uid="goals_project.rls")
