from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


class RulesetsConfig(AppConfig):
    name = "rulesets"
    verbose_name = "Rulesets and goal rules"

    def ready(self) -> None:
        connection_created.connect(_sqlite_functions, dispatch_uid="rulesets.sqlite_functions")


def _lower(text: str | None) -> str | None:
    return None if text is None else str(text).lower()


def _sqlite_functions(sender: Any, connection: Any, **_: Any) -> None:
    """What compiled rules call on SQLite beyond its own functions (``compiler.UnicodeLower``)."""
    if connection.vendor == "sqlite":
        from .compiler import SQLITE_LOWER

        connection.connection.create_function(SQLITE_LOWER, 1, _lower, deterministic=True)
