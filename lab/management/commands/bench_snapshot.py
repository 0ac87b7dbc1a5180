from __future__ import annotations

import re
import statistics
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django_scopes import scope

from core.commands import progress_line
from crm.models import Opportunity, StageChange
from hierarchy.importer import MemberImportError
from hierarchy.models import Member, Tenant
from lab.demo_tenant import DEFAULT_SEED, MIN_MEMBERS, demo_tenant_build, tables_analyze
from rulesets.compiler import Granularity, rule_queryset
from rulesets.services import rules_parse

# Rules counted "as the pipeline stood at the cycle's end": every deal, the value of the
# deals in one stage (a condition on the stage the change entered), and how many deal sizes.
RULES = [
    {"key": "standing", "entity": "opportunity", "mode": "cycle_end"},
    {
        "key": "in_proposal",
        "entity": "opportunity",
        "mode": "cycle_end",
        "aggregation": "sum",
        "field": "value",
        "conditions": [{"field": "stage", "op": "eq", "value": "Proposal"}],
    },
    {  # a distinct count: the query's rows are one per value, not per member and cycle
        "key": "deal_sizes",
        "entity": "opportunity",
        "mode": "cycle_end",
        "aggregation": "distinct_count",
        "field": "value",
    },
]
READ_TABLES = ("crm_stagechange", "crm_opportunity", "crm_pipelinestage", "hierarchy_member")
PLAN_NODE = re.compile(r"->|SubPlan|Execution Time|Timing|^\w")
COST = re.compile(r"  \(cost=[^)]*\)")


class Command(BaseCommand):
    help = (
        "Time the query of rules counted at each cycle's end over a long stage history "
        "(PostgreSQL): builds the tenant the first time, then times each rule and shows its plan "
        "(PGOPTIONS='-c jit=off' times them without the JIT's compiling)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default="bench-snapshot")
        parser.add_argument("--members", type=int, default=100)
        parser.add_argument("--days", type=int, default=730, help="of history, when building")
        parser.add_argument("--opportunities", type=int, default=50_000)
        parser.add_argument("--months", type=int, default=3, help="monthly cycles timed")
        parser.add_argument("--repeat", type=int, default=5)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("This benchmark reads PostgreSQL plans; set DATABASE_URL.")
        tenant = self._tenant(options)
        zone = ZoneInfo(tenant.time_zone)
        today = datetime.now(zone)
        first = today.year * 12 + today.month - 1 - (options["months"] - 1)
        start = datetime(first // 12, first % 12 + 1, 1, tzinfo=zone)
        end = today
        rules = rules_parse(tenant=tenant, rules=RULES)
        with scope(tenant=tenant):  # row-level security: the tenant's rows only
            members = list(Member.objects.values_list("pk", flat=True))
            deals = Opportunity.objects.count()
            changes = StageChange.objects.count()
            self.stdout.write(
                f"{tenant.slug}: {len(members)} members, {deals} opportunities, {changes} stage "
                f"changes; {options['months']} monthly cycles from {start:%Y-%m-%d}"
            )
            for rule in rules:
                query = rule_queryset(
                    rule,
                    tenant=tenant,
                    start=start,
                    end=end,
                    member_ids=members,
                    granularity=Granularity.MONTH,
                )
                times = self._time(lambda q=query: list(q.all()), options["repeat"])
                groups = len(list(query.all()))
                self.stdout.write(
                    self.style.MIGRATE_HEADING(f"\n{rule.key}: ")
                    + f"{groups} groups, median {statistics.median(times):.0f} ms "
                    f"(min {min(times):.0f}, max {max(times):.0f}, {options['repeat']} runs)"
                )
                plan = query.explain(analyze=True).splitlines()
                # The member list makes filter lines long: the plan's nodes and timings only.
                self.stdout.write(
                    "\n".join(_summary(line) for line in plan if PLAN_NODE.search(line))
                )

    def _tenant(self, options: dict[str, Any]) -> Tenant:
        slug = options["tenant"]
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is not None:
            return tenant
        if options["members"] < MIN_MEMBERS:
            raise CommandError(f"--members must be at least {MIN_MEMBERS}.")
        self.stdout.write(f"Building the tenant {slug}:")
        began = time.perf_counter()
        draw = progress_line(self)
        try:
            result = demo_tenant_build(
                slug=slug,
                members=options["members"],
                days=options["days"],
                activities=0,
                opportunities=options["opportunities"],
                seed=DEFAULT_SEED,
                progress=lambda phase, done, total: draw(phase.capitalize(), done, total),
            )
        except (ValueError, ValidationError, MemberImportError) as exc:
            raise CommandError(f"Cannot build the tenant {slug}: {exc}") from None
        tables_analyze(*READ_TABLES)
        self.stdout.write(f"Built in {time.perf_counter() - began:.0f} s.")
        return result.tenant

    @staticmethod
    def _time(run: Any, repeat: int) -> list[float]:
        run()  # warm the cache
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            run()
            times.append((time.perf_counter() - began) * 1000)
        return times


def _summary(line: str) -> str:
    """A plan line without its estimates, and its node's name cut short (a filter on the
    member list runs for thousands of characters)."""
    if "Timing:" in line:  # the JIT's: its compile time is in every run's
        return line
    line = COST.sub("", line)
    node, found, actual = line.partition(" (actual")
    return f"{node[:90]}{found}{actual}" if found else line[:120]
