from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import ProtectedError

from core.commands import progress_line
from crm.ingest import Progress
from hierarchy.importer import MemberImportError
from hierarchy.models import Member, Tenant
from lab.demo_tenant import (
    ACTIVITIES_PER_LEAD,
    ACTIVITIES_PER_TASK,
    DEFAULT_ACTIVITIES,
    DEFAULT_DAYS,
    DEFAULT_MEMBERS,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DEMO_SLUG,
    MIN_MEMBERS,
    PLANNED_DAYS,
    PLANNED_SHARE,
    demo_logins,
    demo_tenant_build,
    demo_tenant_clear,
)


def _at_least(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number, ``least`` or more."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is less than {least}")
        return value

    return parse


class Command(BaseCommand):
    help = (
        "Create a demo tenant (America/New_York, USD) and print its logins: a sales "
        "organization (a VP, regional managers, team leads once there are many teams, reps), "
        "activity types of every category, a pipeline, and leads, activities, opportunities "
        "and stage changes from --days days ago up to now, plus activities planned for the "
        f"next {PLANNED_DAYS} days, and tasks (some due after now). One lead per "
        f"{ACTIVITIES_PER_LEAD} activities and one task per {ACTIVITIES_PER_TASK}. The same "
        "--seed and arguments give the same data, relative to the time of the run. An "
        "existing tenant is left alone unless --reset is given. The defaults take a few "
        "seconds on SQLite; --members 2000 --activities 1000000 about two minutes on "
        "PostgreSQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tenant",
            default=DEMO_SLUG,
            help=f"The tenant's slug (default {DEMO_SLUG}); the logins are @SLUG.example.",
        )
        parser.add_argument(
            "--members",
            type=_at_least(MIN_MEMBERS),
            default=DEFAULT_MEMBERS,
            help=f"People in the organization, the {MIN_MEMBERS} logins included "
            f"(default {DEFAULT_MEMBERS}).",
        )
        parser.add_argument(
            "--days",
            type=_at_least(1),
            default=DEFAULT_DAYS,
            help=f"Days of history up to now (default {DEFAULT_DAYS}).",
        )
        parser.add_argument(
            "--activities",
            type=_at_least(0),
            default=DEFAULT_ACTIVITIES,
            help=f"Activities in all, {PLANNED_SHARE * 100:.0f}%% of them planned ahead "
            f"(default {DEFAULT_ACTIVITIES}).",
        )
        parser.add_argument(
            "--leads",
            type=_at_least(0),
            default=None,
            help=f"Leads in all (default one per {ACTIVITIES_PER_LEAD} activities).",
        )
        parser.add_argument(
            "--opportunities",
            type=_at_least(0),
            default=None,
            help="Opportunities in all (default one per converted lead); more than the "
            "converted leads are opened without a lead.",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"Seed of the random data (default {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the tenant's CRM data, members and their logins first, then build "
            "it again.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["tenant"]
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is not None and not options["reset"]:
            self.stdout.write(f"The tenant {slug} exists already (--reset builds it again).")
        else:
            if tenant is not None:
                self._clear(tenant)
            self._build(slug, options)
        self.stdout.write("\nOpen http://127.0.0.1:8000/ and log in as:")
        for email, name, role in demo_logins(slug):
            label = Member.Role(role).label
            self.stdout.write(f"  {label:<8} {email:<24} password {DEMO_PASSWORD}   ({name})")
        self.stdout.write("")

    def _clear(self, tenant: Tenant) -> None:
        started = time.perf_counter()
        try:
            demo_tenant_clear(tenant)
        except ProtectedError as exc:
            kinds = sorted({str(row._meta.verbose_name_plural) for row in exc.protected_objects})
            raise CommandError(
                f"Cannot reset {tenant.slug}: {', '.join(kinds)} still refer to its data."
            ) from None
        elapsed = time.perf_counter() - started
        self.stdout.write(f"Deleted the CRM data and members of {tenant.slug} in {elapsed:.1f} s.")

    def _build(self, slug: str, options: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            result = demo_tenant_build(
                slug=slug,
                members=options["members"],
                days=options["days"],
                activities=options["activities"],
                leads=options["leads"],
                opportunities=options["opportunities"],
                seed=options["seed"],
                progress=self._progress(),
            )
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(f"Cannot create the tenant {slug}: {problems}") from None
        except MemberImportError as exc:
            raise CommandError(f"Cannot create the members of {slug}:\n{exc}") from None
        elapsed = time.perf_counter() - started
        counts = ", ".join(f"{count:,} {what}" for what, count in result.counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Created the demo tenant {slug} in {elapsed:.1f} s: {counts}.")
        )

    def _progress(self) -> Progress:
        """The progress line of import_entities, one per phase ("Leads: 5,000/20,000 rows")."""
        draw = progress_line(self)

        def progress(phase: str, done: int, total: int) -> None:
            draw(phase.capitalize(), done, total)

        return progress
