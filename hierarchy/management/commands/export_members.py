from __future__ import annotations

import io
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.commands import tenant_by_slug
from hierarchy.importer import members_export


class Command(BaseCommand):
    help = "Write the tenant's active members as CSV (the import_members format)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--output", help="File to write; standard output by default.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(options["tenant"])
        if options["output"]:
            with open(options["output"], "w", newline="", encoding="utf-8") as file:
                count = members_export(tenant=tenant, file=file)
            self.stderr.write(f"Wrote {count} members to {options['output']}.")
        else:
            buffer = io.StringIO()
            members_export(tenant=tenant, file=buffer)
            self.stdout.write(buffer.getvalue(), ending="")
