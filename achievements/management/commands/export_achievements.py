from __future__ import annotations

import io
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from achievements.queries import EXPORT_FIELDS, achievement_rows, write_rows
from goals.quotas import QUOTA_FIELDS, quota_rows

from ._goals import goals_for


class Command(BaseCommand):
    help = (
        "Write a goal's achievements (every member, rule and computed cycle) as CSV or JSON; "
        "with --quotas its stored quotas (every member's own and team target per rule and "
        "cycle, with who set them)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--goal", required=True, type=int, help="The goal's id.")
        parser.add_argument("--format", choices=("csv", "json"), default="csv")
        parser.add_argument("--output", help="File to write; standard output by default.")
        parser.add_argument(
            "--quotas", action="store_true", help="The stored quotas instead of achievements."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        (goal,) = goals_for(options["tenant"], options["goal"])
        if options["quotas"]:
            rows, fields = [row.export() for row in quota_rows(goal)], QUOTA_FIELDS
        else:
            rows, fields = [row.export() for row in achievement_rows(goal)], EXPORT_FIELDS
        if options["output"]:
            with open(options["output"], "w", newline="", encoding="utf-8") as file:
                write_rows(rows, file, options["format"], fields)
            self.stderr.write(f"Wrote {len(rows)} rows to {options['output']}.")
        else:
            buffer = io.StringIO()
            write_rows(rows, buffer, options["format"], fields)
            self.stdout.write(buffer.getvalue(), ending="")
