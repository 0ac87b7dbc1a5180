from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.ingest import Progress, RecordsInvalid, records_import
from crm.models import ENTITY_MODELS
from hierarchy.importer import Problem
from hierarchy.management.commands._tenant import tenant_by_slug

PROGRESS_INTERVAL = 0.25  # seconds between redraws of the progress line


class Command(BaseCommand):
    help = (
        "Create or update leads, activities or opportunities from a CSV file whose columns are "
        "the record fields and the tenant's custom fields (docs/crm-import.md). Nothing is "
        "written unless the whole file is valid, or with --partial only the valid rows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--entity", required=True, choices=list(ENTITY_MODELS))
        parser.add_argument("file", help="UTF-8 CSV file with a header row.")
        parser.add_argument(
            "--partial", action="store_true", help="Write the valid rows and report the rest."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(options["tenant"])
        path = options["file"]
        try:
            with open(path, newline="", encoding="utf-8-sig") as file:
                result = records_import(
                    tenant=tenant,
                    entity=options["entity"],
                    file=file,
                    partial=options["partial"],
                    progress=self._progress(),
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text.") from None
        except RecordsInvalid as exc:
            message = _report(f"Nothing imported: problems in {path}", exc.problems)
            raise CommandError(message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {options['entity']} records into {tenant.slug}: {result.created} "
                f"created, {result.updated} updated, {result.unchanged} unchanged."
            )
        )
        if result.rejected:
            raise CommandError(_report(f"Rows of {path} not imported", result.rejected))

    def _progress(self) -> Progress:
        """A callback that redraws one line, at most every PROGRESS_INTERVAL seconds."""
        drawn_at = 0.0

        def progress(phase: str, done: int, total: int) -> None:
            nonlocal drawn_at
            now, finished = time.monotonic(), done >= total
            if finished or now - drawn_at >= PROGRESS_INTERVAL:
                drawn_at = now
                line = self.style.HTTP_INFO(f"\r  {phase}: {done:,}/{total:,} rows")
                self.stdout.write(line, ending="\n" if finished else "")
                self.stdout.flush()

        return progress


def _report(title: str, problems: list[Problem]) -> str:
    return f"{title}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems)
