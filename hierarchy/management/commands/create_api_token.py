from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.commands import tenant_by_slug
from hierarchy.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a tenant and print its key (shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--name", required=True, help="Where the token is used.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(options["tenant"])
        try:
            token, key = api_token_create(tenant=tenant, name=options["name"], actor="command line")
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stderr.write(f"Created the token {token.name!r} for {tenant.slug}. Its key:")
        self.stdout.write(key)
