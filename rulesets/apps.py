from __future__ import annotations

from django.apps import AppConfig


class RulesetsConfig(AppConfig):
    name = "rulesets"
    verbose_name = "Rulesets and goal rules"
