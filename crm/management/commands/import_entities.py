from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.commands import progress_line, tenant_by_slug
from core.problems import Problem
from crm.ingest import RecordsInvalid, records_import
from crm.models import ENTITY_MODELS


class Command(BaseCommand):
    help = (
        "Create or update leads, activities, opportunities, accounts or spend from a CSV file "
        "whose columns are the record fields and the tenant's custom fields "
        "(docs/crm-import.md). Nothing is written unless the whole file is valid, or with "
        "--partial only the valid rows."
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
                    progress=progress_line(self),
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


def _report(title: str, problems: list[Problem]) -> str:
    return f"{title}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems)
