from __future__ import annotations

import statistics
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django_scopes import scope

from core.commands import tenant_by_slug
from hierarchy.models import Member
from rulesets.compiler import Granularity, rule_queryset
from rulesets.services import rules_parse

RULE = {
    "key": "calls",
    "entity": "activity",
    "aggregation": "sum",
    "field": "duration",
    "conditions": [
        {"field": "category", "op": "eq", "value": "call"},
        {"field": "status", "op": "eq", "value": "completed"},
    ],
}
# The same question asked by hand: call minutes of completed calls, per owner and local day.
HAND_WRITTEN = """
SELECT a.owner_id, (a.occurred_at AT TIME ZONE %(zone)s)::date AS day,
       count(*), sum(a.duration_seconds), min(a.duration_seconds), max(a.duration_seconds)
FROM crm_activity a JOIN crm_activitytype t ON t.id = a.type_id
WHERE a.tenant_id = %(tenant)s AND a.occurred_at >= %(start)s AND a.occurred_at < %(end)s
  AND a.owner_id = ANY(%(members)s) AND t.category = 'call' AND a.status = 'completed'
GROUP BY 1, 2
"""


class Command(BaseCommand):
    help = "Time one compiled rule against the same aggregate written by hand (PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default="demo")
        parser.add_argument("--month", default=None, help="YYYY-MM; default: the current one")
        parser.add_argument("--repeat", type=int, default=5)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("This benchmark compares PostgreSQL plans; set DATABASE_URL.")
        tenant = tenant_by_slug(options["tenant"])
        zone = ZoneInfo(tenant.time_zone)
        month = options["month"] or datetime.now(zone).strftime("%Y-%m")
        year, number = (int(part) for part in month.split("-"))
        start = datetime(year, number, 1, tzinfo=zone)
        end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
        (rule,) = rules_parse(tenant=tenant, rules=[RULE])
        with scope(tenant=tenant):  # row-level security: the tenant's rows only
            members = list(Member.objects.values_list("pk", flat=True))
            query = rule_queryset(
                rule,
                tenant=tenant,
                start=start,
                end=end,
                member_ids=members,
                granularity=Granularity.DAY,
            )
            params = {"zone": tenant.time_zone, "tenant": tenant.pk, "start": start, "end": end}
            params["members"] = members
            compiled_times = self._time(lambda: list(query.all()), options["repeat"])
            hand_times = self._time(lambda: self._hand(params), options["repeat"])
            rows = len(list(query.all()))
            self.stdout.write(f"{tenant.slug}: {len(members)} members, {month}, {rows} groups")
            self.stdout.write(f"compiled:     median {statistics.median(compiled_times):.1f} ms")
            self.stdout.write(f"hand-written: median {statistics.median(hand_times):.1f} ms")
            ratio = statistics.median(compiled_times) / statistics.median(hand_times)
            self.stdout.write(f"ratio compiled / hand-written: {ratio:.2f}")
            plan = query.explain(analyze=True).splitlines()
            # The member list makes a filter line thousands of characters long: show its start.
            self.stdout.write("\nCompiled plan:\n" + "\n".join(line[:160] for line in plan))

    def _hand(self, params: dict[str, Any]) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(HAND_WRITTEN, params)
            return cursor.fetchall()

    def _time(self, run: Any, repeat: int) -> list[float]:
        run()  # warm the cache
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            run()
            times.append((time.perf_counter() - began) * 1000)
        return times
