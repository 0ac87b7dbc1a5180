from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from hierarchy.services import password_set_path, tenant_create


class Command(BaseCommand):
    help = "Create a tenant and its root admin member, and print how to log in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The company's name, e.g. 'Acme Corp'.")
        parser.add_argument("--slug", required=True, help="Short unique identifier, e.g. acme.")
        parser.add_argument("--timezone", default="UTC", help="IANA time zone, e.g. Europe/Berlin.")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-name", default="")
        parser.add_argument(
            "--admin-password",
            help="Without it, a one-time link to set the password is printed instead.",
        )
        parser.add_argument("--week-start", type=int, default=0, help="0=Monday ... 6=Sunday.")
        parser.add_argument("--fiscal-year-start", type=int, default=1, help="Month 1-12.")
        parser.add_argument("--currency", default="USD", help="Default ISO 4217 currency.")
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="Where the app is served."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            admin = tenant_create(
                name=options["name"],
                slug=options["slug"],
                time_zone=options["timezone"],
                admin_email=options["admin_email"],
                admin_name=options["admin_name"],
                admin_password=options["admin_password"],
                week_start=options["week_start"],
                fiscal_year_start_month=options["fiscal_year_start"],
                default_currency=options["currency"],
            )
        except ValidationError as exc:
            flags = {"time_zone": "--timezone", "fiscal_year_start_month": "--fiscal-year-start"}
            lines = [
                f"{flags.get(field, '--' + field.replace('_', '-'))}: {message}"
                for field, messages in exc.message_dict.items()
                for message in messages
            ]
            raise CommandError("Tenant not created:\n  " + "\n  ".join(lines)) from None

        base_url = options["base_url"].rstrip("/")
        self.stdout.write(
            self.style.SUCCESS(f"Created tenant {admin.tenant.name} ({admin.tenant.slug}).")
        )
        self.stdout.write(f"Log in at {base_url}{reverse('login')} as {admin.email}")
        if options["admin_password"] is None:
            link = base_url + password_set_path(admin.user)
            self.stdout.write(f"after setting a password here: {link}")
