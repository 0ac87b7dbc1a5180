from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.commands import progress_line, tenant_by_slug
from hierarchy.importer import COLUMNS, OPTIONAL, MemberImportError, members_import


class Command(BaseCommand):
    help = (
        f"Create or update members from a CSV file with the columns {','.join(COLUMNS)} "
        f"(and, optionally, {','.join(OPTIONAL)})."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("file", help="CSV file; reports_to is the manager's email.")
        parser.add_argument(
            "--sales-role-at-once",
            action="store_true",
            help="Sales roles given or taken count in the running cycle too (else from the next).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(options["tenant"])
        draw = progress_line(self, "members")

        def progress(done: int, total: int) -> None:
            draw("Importing", done, total)

        try:
            with open(options["file"], newline="", encoding="utf-8-sig") as file:
                result = members_import(
                    tenant=tenant,
                    file=file,
                    progress=progress,
                    actor="command line",
                    sales_role_at_once=options["sales_role_at_once"],
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{options['file']} is not UTF-8 text.") from None
        except MemberImportError as exc:
            raise CommandError(
                f"Nothing imported: {len(exc.problems)} problem(s) in {options['file']}:\n"
                + "\n".join(f"  {problem}" for problem in exc.problems)
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported into {tenant.slug}: {result.created} created, {result.updated} updated, "
                f"{result.moved} moved, {result.unchanged} unchanged."
            )
        )
