from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from achievements.selectors import goals_to_close
from achievements.services import CLOSE_GRACE, goal_recompute

from ._goals import goals_for


class Command(BaseCommand):
    help = (
        "Close the cycles that ended more than the grace period ago: a last recompute, then "
        "frozen with their status, achieved or missed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this tenant's goals (slug).")

    def handle(self, *args: Any, **options: Any) -> None:
        close_before = timezone.now() - CLOSE_GRACE
        wanted = {goal.pk for goal in goals_for(options["tenant"])}
        closed = 0
        due = [goal_id for goal_id in goals_to_close(close_before) if goal_id in wanted]
        for goal_id in due:
            closed += goal_recompute(goal_id, close_before=close_before).closed
        self.stdout.write(f"Closed {closed} cycles of {len(due)} goals.")
