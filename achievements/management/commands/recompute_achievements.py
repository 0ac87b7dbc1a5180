from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from achievements.services import goal_recompute
from hierarchy.management.progress import progress_line

from ._goals import goals_for


class Command(BaseCommand):
    help = (
        "Recompute achievements now: every live goal, one tenant's, or one goal. By default the "
        "started cycles that are not closed; --all-cycles recomputes closed ones too."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this tenant's goals (slug).")
        parser.add_argument("--goal", type=int, help="Only this goal (id).")
        parser.add_argument(
            "--all-cycles", action="store_true", help="Closed cycles too (they stay closed)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        goals = goals_for(options["tenant"], options["goal"])
        progress = progress_line(self, "goals")
        began = time.monotonic()
        cycles = written = 0
        failures: list[str] = []
        for done, goal in enumerate(goals, start=1):
            result = goal_recompute(goal.pk, all_cycles=options["all_cycles"])
            cycles, written = cycles + result.cycles, written + result.written
            failures += [
                f"goal {goal.pk} ({goal.tenant.slug}: {goal.name}), "
                f"{error.key or 'whole goal'}: {error.message}"
                for error in result.errors
            ]
            progress("Recomputing", done, len(goals))
        self.stdout.write(
            f"Recomputed {len(goals)} goals, {cycles} cycles; {written} rows changed "
            f"in {time.monotonic() - began:.1f} s."
        )
        if failures:
            for line in failures:
                self.stderr.write(self.style.ERROR(f"Not computed: {line}"))
            # Every other goal and rule was computed; the exit status tells a scheduler.
            raise CommandError(f"{len(failures)} rules could not be computed (listed above).")
