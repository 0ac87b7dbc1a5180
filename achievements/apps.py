from __future__ import annotations

from django.apps import AppConfig


class AchievementsConfig(AppConfig):
    name = "achievements"
    verbose_name = "Achievements"

    def ready(self) -> None:
        from crm.signals import entities_changed
        from goals.signals import goal_saved
        from hierarchy.signals import members_changed
        from rulesets.signals import ruleset_saved

        from . import receivers

        entities_changed.connect(receivers.entities_changed, dispatch_uid="achievements.entities")
        goal_saved.connect(receivers.goal_saved, dispatch_uid="achievements.goal")
        ruleset_saved.connect(receivers.ruleset_saved, dispatch_uid="achievements.ruleset")
        members_changed.connect(receivers.members_changed, dispatch_uid="achievements.members")
