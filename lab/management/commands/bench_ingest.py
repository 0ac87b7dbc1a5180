from __future__ import annotations

import csv
import io
import json
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client
from django_scopes import scope, scopes_disabled

from crm.models import Activity, ActivityType
from hierarchy.importer import members_upsert
from hierarchy.models import Tenant
from hierarchy.services import api_token_create
from lab.demo_tenant import demo_tenant_clear

OUTCOMES = ("connected", "no answer", "voicemail", "busy")


def _activity(n: int, members: int, start: datetime) -> dict[str, Any]:
    return {
        "external_id": f"bench-{n}",
        "owner_email": f"rep{n % members}@bench.example",
        "type": "Call" if n % 3 else "Email",
        "occurred_at": (start + timedelta(seconds=37 * n)).isoformat(),
        "status": "completed",
        "outcome": OUTCOMES[n % len(OUTCOMES)],
        "duration_seconds": (n * 7) % 1200,
    }


class Command(BaseCommand):
    help = (
        "Measure API ingestion and the CSV import of activities on this database, in a "
        "throwaway tenant that is deleted afterwards. The activities already stored (of any "
        "tenant) are counted first: measure on an empty database and on one that holds many "
        "(seed_demo --activities 1000000)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--api-records", type=int, default=100_000)
        parser.add_argument("--csv-rows", type=int, default=1_000_000)
        parser.add_argument("--members", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        members = options["members"]
        slug = f"bench-ingest-{int(time.time())}"
        with scopes_disabled():
            stored = Activity.objects.count()  # a bigger table has bigger indexes to write
        tenant = Tenant.objects.create(name="Ingestion benchmark", slug=slug)
        self.stdout.write(
            f"Database: {connection.vendor}, {stored:,} activities stored; tenant {slug}, "
            f"{members} reps"
        )
        try:
            self._set_up(tenant, members)
            self._api(tenant, options["api_records"], members)
            self._csv(tenant, options["csv_rows"], members)
        finally:
            self._tear_down(tenant)

    def _set_up(self, tenant: Tenant, members: int) -> None:
        rows = [{"email": "boss@bench.example", "name": "Boss", "role": "admin"}]
        rows += [
            {
                "email": f"rep{i}@bench.example",
                "name": f"Rep {i}",
                "role": "rep",
                "reports_to": "boss@bench.example",
            }
            for i in range(members)
        ]
        members_upsert(tenant=tenant, records=list(enumerate(rows, start=2)))
        with scope(tenant=tenant):
            for name, category in (("Call", "call"), ("Email", "email")):
                ActivityType.objects.create(tenant=tenant, name=name, category=category)

    def _api(self, tenant: Tenant, count: int, members: int) -> None:
        if not count:
            return
        _, key = api_token_create(tenant=tenant, name="benchmark")
        client = Client(
            HTTP_HOST=settings.ALLOWED_HOSTS[0], headers={"Authorization": f"Bearer {key}"}
        )
        start = datetime(2026, 1, 1, tzinfo=UTC)
        began = time.perf_counter()
        for first in range(0, count, 1000):
            records = [_activity(n, members, start) for n in range(first, min(first + 1000, count))]
            response = client.post(
                "/api/v1/activities", json.dumps({"records": records}), "application/json"
            )
            if response.status_code != 200:
                raise CommandError(f"API answered {response.status_code}: {response.content[:300]}")
        elapsed = time.perf_counter() - began
        self.stdout.write(
            f"API: {count:,} activities in 1,000-record requests: {elapsed:.1f} s, "
            f"{count / elapsed:,.0f} records/s"
        )

    def _csv(self, tenant: Tenant, count: int, members: int) -> None:
        if not count:
            return
        start = datetime(2025, 1, 1, tzinfo=UTC)
        with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(_activity(0, 1, start)))
            writer.writeheader()
            for n in range(count):
                writer.writerow(_activity(n, members, start) | {"external_id": f"csv-{n}"})
            file.flush()
            began = time.perf_counter()
            call_command(
                "import_entities",
                f"--tenant={tenant.slug}",
                "--entity=activity",
                file.name,
                stdout=io.StringIO(),
            )
            elapsed = time.perf_counter() - began
        # The process's peak, so an upper bound of the import's own (it ran in-process).
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(
            f"CSV: import_entities of {count:,} activities: {elapsed:.1f} s "
            f"({count / elapsed:,.0f} rows/s), peak memory of this process {peak_mb:,.0f} MB"
        )

    def _tear_down(self, tenant: Tenant) -> None:
        demo_tenant_clear(tenant)
        tenant.delete()  # its tokens and audit entries go with it
