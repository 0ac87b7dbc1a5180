from __future__ import annotations

import random
import resource
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from achievements.models import Achievement
from achievements.services import CLOSE_GRACE, goal_recompute
from crm.demo import demo_tenant_build
from crm.models import Activity, Lead, Opportunity
from goals.models import Goal, tenant_today
from goals.services import GoalDraft, TargetInput, goal_save
from hierarchy.models import Member, Tenant
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save

RULES = ("dialled_calls", "won_value", "conversion_rate")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    help = (
        "Measure the full recompute of a tenant's goals against the same aggregates written "
        "by hand in SQL (the floor) and against a naive per-member ORM loop. Builds the tenant "
        "with seed_demo's generator unless it exists; prints figures, asserts nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default="bench-recompute")
        parser.add_argument("--members", type=int, default=2000)
        parser.add_argument("--activities", type=int, default=1_000_000)
        parser.add_argument("--days", type=int, default=75)
        parser.add_argument("--goals", type=int, default=20)
        parser.add_argument("--sample", type=int, default=20, help="members for the naive loop")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self._tenant(options)
        with scope(tenant=tenant):
            counts = {
                "members": Member.objects.count(),
                "activities": Activity.objects.count(),
                "leads": Lead.objects.count(),
                "opportunities": Opportunity.objects.count(),
            }
        self.stdout.write(
            f"Database: {connection.vendor}; tenant {tenant.slug}: "
            + ", ".join(f"{n:,} {name}" for name, n in counts.items())
        )
        goals = self._goals(tenant, options["goals"])
        self.stdout.write(f"{len(goals)} goals of {len(RULES)} rules on monthly cycles")
        with scopes_disabled():  # start from nothing, so the first run writes every row
            Achievement.objects.filter(goal__in=goals).delete()
        full = self._recompute(goals, "first run (every row written)")
        self._recompute(goals, "second run (nothing changed)")
        for goal in goals:  # what the nightly job does: past cycles computed once more, frozen
            goal_recompute(goal.pk, close_before=timezone.now() - CLOSE_GRACE)
        self._recompute(goals, "steady state (past cycles closed, the current one open)")
        if connection.vendor == "postgresql":
            floor = self._floor(tenant, goals)
            self.stdout.write(
                f"SQL floor (hand-written aggregates rolled up the tree): {floor:.2f} s"
            )
            self.stdout.write(f"Ratio full recompute / floor: {full / floor:.2f}x (target <= 2x)")
        else:
            self.stdout.write("SQL floor: measured on PostgreSQL only (DATABASE_URL)")
        self._naive(tenant, goals, options["sample"])
        self.stdout.write(f"Peak memory of this process: {_peak_mb():.0f} MB (target < 300 MB)")

    def _tenant(self, options: dict[str, Any]) -> Tenant:
        found = Tenant.objects.filter(slug=options["tenant"]).first()
        if found is not None:
            return found
        self.stdout.write("Building the tenant with the demo generator...")
        began = time.monotonic()
        try:
            demo_tenant_build(
                slug=options["tenant"],
                members=options["members"],
                days=options["days"],
                activities=options["activities"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"  built in {time.monotonic() - began:.0f} s")
        return Tenant.objects.get(slug=options["tenant"])

    def _goals(self, tenant: Tenant, count: int) -> list[Goal]:
        with scope(tenant=tenant):
            existing = list(Goal.objects.filter(name__startswith="Bench ").order_by("pk"))
            if len(existing) >= count:
                return existing[:count]
            teams = list(Member.objects.filter(is_active=True).order_by("level", "lft"))
        teams = [m for m in teams if m.rght - m.lft > 1][:count]  # people with reports
        rules = [r for key in RULES for r in preset_rules(key, currency=tenant.default_currency)]
        ruleset = ruleset_save(tenant=tenant, name="Bench rules", rules=rules)
        today = tenant_today(tenant)
        start = (today.replace(day=1) - timedelta(days=45)).replace(day=1)
        goals = []
        for n, team in enumerate(teams):
            draft = GoalDraft(
                name=f"Bench {n}",
                ruleset=ruleset,
                team=team,
                cycle="monthly",
                start=start,
                end=start + timedelta(days=150),
                backfill=True,
                targets={
                    "dialled_calls": TargetInput(Decimal(500)),
                    "won_value": TargetInput(Decimal(100000)),
                    "conversion_rate": TargetInput(Decimal(20)),
                },
            )
            goals.append(goal_save(draft=draft, actor="bench"))
        return goals

    def _recompute(self, goals: list[Goal], label: str) -> float:
        began = time.monotonic()
        with CaptureQueriesContext(connection) as queries:
            rows = sum(goal_recompute(goal.pk).written for goal in goals)
        took = time.monotonic() - began
        self.stdout.write(
            f"Full recompute, {label}: {took:.2f} s, {rows:,} rows written, "
            f"{len(queries)} queries ({len(queries) / len(goals):.1f} a goal, "
            "whatever the team size)"
        )
        return took

    def _floor(self, tenant: Tenant, goals: list[Goal]) -> float:
        """The same job as raw SQL: each rule's aggregate grouped by owner and local month, rolled
        up to every member's team in the same statement (each row joined to its chain of
        managers, a recursive CTE over reports_to)."""
        began = time.monotonic()
        with connection.cursor() as cursor:
            for goal in goals:
                team = Member._tree_manager.get(pk=goal.team_id)
                cycles = goal.cycles()
                window = [cycles[0].start, cycles[-1].end]
                members = list(
                    Member._tree_manager.filter(
                        tree_id=team.tree_id, lft__gte=team.lft, rght__lte=team.rght
                    ).values_list("pk", flat=True)
                )
                for sql in _floor_queries(tenant.time_zone):
                    cursor.execute(ROLLED_UP.format(grouped=sql), [
                        tenant.pk, *window, members, members, members
                    ])  # fmt: skip
                    cursor.fetchall()

        return time.monotonic() - began

    def _naive(self, tenant: Tenant, goals: list[Goal], sample: int) -> None:
        """Per member, per rule, per cycle: one ORM aggregate over their subtree."""
        goal = max(
            goals, key=lambda g: Member._tree_manager.get(pk=g.team_id).get_descendant_count()
        )
        with scopes_disabled():
            team = Member._tree_manager.get(pk=goal.team_id)
            people = list(team.get_descendants(include_self=True))
        chosen = random.Random(1).sample(people, min(sample, len(people)))
        began = time.monotonic()
        with scope(tenant=tenant):
            for member in chosen:
                subtree = member.get_descendants(include_self=True).values("pk")
                for cycle in goal.cycles():
                    if cycle.start > timezone.now():
                        continue
                    span = {"gte": cycle.start, "lt": cycle.end}
                    Activity.objects.filter(
                        owner__in=subtree, type__category="call", status="completed",
                        occurred_at__gte=span["gte"], occurred_at__lt=span["lt"],
                    ).count()  # fmt: skip
                    Opportunity.objects.filter(
                        owner__in=subtree, status="won", currency=tenant.default_currency,
                        closed_at__gte=span["gte"], closed_at__lt=span["lt"],
                    ).aggregate(Sum("value"))  # fmt: skip
                    Lead.objects.filter(
                        owner__in=subtree, converted_at__gte=span["gte"],
                        converted_at__lt=span["lt"], status="converted",
                    ).count()  # fmt: skip
                    Lead.objects.filter(
                        owner__in=subtree, created_at__gte=span["gte"], created_at__lt=span["lt"]
                    ).count()
        took = time.monotonic() - began
        whole = took / len(chosen) * len(people)
        self.stdout.write(
            f"Naive per-member ORM on {len(chosen)} of {len(people)} members of the largest "
            f"goal: {took:.2f} s, extrapolated to that goal alone: {whole:.1f} s"
        )


def _floor_queries(zone: str) -> list[str]:
    """PostgreSQL: each rule's aggregate by owner and local month, written by hand."""
    month = "date_trunc('month', {col} AT TIME ZONE '" + zone.replace("'", "") + "')"
    return [
        f"SELECT a.owner_id, {month.format(col='a.occurred_at')}, count(*) FROM crm_activity a "
        "JOIN crm_activitytype t ON t.id = a.type_id WHERE a.tenant_id = %s "
        "AND a.occurred_at >= %s AND a.occurred_at < %s AND t.category = 'call' "
        "AND a.status = 'completed' AND a.owner_id = ANY(%s) GROUP BY 1, 2",
        f"SELECT o.owner_id, {month.format(col='o.closed_at')}, sum(o.value) FROM "
        "crm_opportunity o WHERE o.tenant_id = %s AND o.closed_at >= %s AND o.closed_at < %s "
        "AND o.status = 'won' AND o.owner_id = ANY(%s) GROUP BY 1, 2",
        f"SELECT l.owner_id, {month.format(col='l.converted_at')}, count(*) FROM crm_lead l "
        "WHERE l.tenant_id = %s AND l.converted_at >= %s AND l.converted_at < %s "
        "AND l.status = 'converted' AND l.owner_id = ANY(%s) GROUP BY 1, 2",
        f"SELECT l.owner_id, {month.format(col='l.created_at')}, count(*) FROM crm_lead l "
        "WHERE l.tenant_id = %s AND l.created_at >= %s AND l.created_at < %s "
        "AND l.owner_id = ANY(%s) GROUP BY 1, 2",
    ]


# A grouped query's (owner, month, value) rows summed for every member over their subtree.
ROLLED_UP = (
    "WITH RECURSIVE own(owner_id, month, v) AS ({grouped}), "
    "chain(member, ancestor) AS ("
    "SELECT id, id FROM hierarchy_member WHERE id = ANY(%s) "
    "UNION ALL SELECT c.member, m.reports_to_id FROM chain c "
    "JOIN hierarchy_member m ON m.id = c.ancestor "
    "WHERE m.reports_to_id = ANY(%s)) "
    "SELECT chain.ancestor, own.month, sum(own.v) FROM own "
    "JOIN chain ON chain.member = own.owner_id GROUP BY 1, 2"
)
