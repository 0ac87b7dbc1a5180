from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection, transaction

from goals_project import rls


class Command(BaseCommand):
    help = (
        "PostgreSQL, as a superuser, once per cluster: create or update the roles of row-level "
        "security. DATABASE_PLATFORM_ROLE (no login, BYPASSRLS) is what scopes_disabled() "
        "switches to; DATABASE_APP_ROLE (login, neither superuser nor owner) is what web, "
        "workers and beat connect as. Both get the data privileges on the existing tables "
        "(migrate grants them on new ones)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--app-password",
            default=os.environ.get("DATABASE_APP_PASSWORD", ""),
            help="The application role's password (default DATABASE_APP_PASSWORD; unset: "
            "the role keeps its password, or has none).",
        )
        parser.add_argument(
            "--owner",
            action="append",
            default=[],
            metavar="ROLE",
            help="A role that owns the tables and runs migrate; it may act as both roles. "
            "Repeat for several.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Row-level security needs PostgreSQL (DATABASE_URL=postgres://...).")
        app, platform = settings.DATABASE_APP_ROLE, settings.DATABASE_PLATFORM_ROLE
        quote = connection.ops.quote_name
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                if not cursor.fetchone()[0]:
                    raise CommandError("database_roles must connect as a superuser.")
                cursor.execute(
                    "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                    [[app, platform, *options["owner"]]],
                )
                existing = {name for (name,) in cursor.fetchall()}
                if unknown := sorted(set(options["owner"]) - existing):
                    raise CommandError(f"No role named {', '.join(unknown)}.")
                verb = {role: "ALTER" if role in existing else "CREATE" for role in (app, platform)}
                cursor.execute(f"{verb[platform]} ROLE {quote(platform)} NOLOGIN BYPASSRLS")
                cursor.execute(
                    f"{verb[app]} ROLE {quote(app)} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB "
                    "NOCREATEROLE"
                )
                if options["app_password"]:
                    cursor.execute(
                        f"ALTER ROLE {quote(app)} PASSWORD %s", [options["app_password"]]
                    )
                cursor.execute(f"GRANT {quote(platform)} TO {quote(app)}")
                for owner in options["owner"]:
                    cursor.execute(f"GRANT {quote(platform)}, {quote(app)} TO {quote(owner)}")
                # TEMPORARY: imports and recomputes COPY their rows through temporary tables.
                cursor.execute(
                    f"GRANT CONNECT, TEMPORARY ON DATABASE "
                    f"{quote(connection.settings_dict['NAME'])} TO {quote(app)}"
                )
            rls.policies_apply(connection)
        except DatabaseError as exc:
            raise CommandError(f"PostgreSQL refused: {exc}".strip()) from None
        for role, verb_done in verb.items():
            self.stdout.write(f"{'Updated' if verb_done == 'ALTER' else 'Created'} role {role}.")
        owners = ", ".join(options["owner"])
        if owners:
            self.stdout.write(f"{owners} may act as {platform} and {app}.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Connect web, workers and beat as {app}; run migrate as the tables' owner."
            )
        )
