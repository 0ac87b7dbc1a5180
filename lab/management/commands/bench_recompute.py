from __future__ import annotations

import resource
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import F, Max, Sum
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from django_scopes import scope

from achievements.models import Achievement
from achievements.services import CLOSE_GRACE, goal_recompute
from core.commands import progress_line
from crm.models import Activity, Lead, Opportunity
from goals.calendar import Cycle
from goals.models import Goal, tenant_today
from goals.services import GoalDraft, TargetInput, goal_save
from goals_project.celery import app
from hierarchy.importer import MemberImportError, members_upsert
from hierarchy.models import Member, ReportingLine, Tenant
from lab.demo_tenant import DEFAULT_SEED, MIN_MEMBERS, demo_domain, demo_tenant_build
from rulesets.models import Ruleset
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save

ACTOR = "command line (bench_recompute)"
DAYS = 90  # of CRM history up to now
DIRECTORS = 3  # a level between the VP and the regional managers: five levels in all
REORGANIZED = DAYS // 2  # days ago the directors were put in: the history has a reorganization
PRESETS = ("dialled_calls", "won_value", "conversion_rate")
GOAL_NAME = "Bench recompute"
CYCLES = 3  # monthly cycles started: the goals begin on the first of the month two months ago
CLEAR_PEAK = Path("/proc/self/clear_refs")  # Linux: writing "5" resets the peak RSS
# What the recompute and the floor read, vacuumed and analyzed before timing (PostgreSQL).
READ_TABLES = (
    "crm_activity", "crm_activitytype", "crm_lead", "crm_opportunity", "hierarchy_member",
    "hierarchy_reportingline", "achievements_achievement",
)  # fmt: skip

# Each measured rule by hand: (owner, segment, local month, count, sum) rows of one goal's
# members in its window, a segment being a stretch of time over which everyone the owner's
# records count for stays the same; then each row credited to those members, as the reporting
# lines stood then, in the same statement.
OWN = {
    "dialled_calls": """
        SELECT a.owner_id, s.since AS segment,
               date_trunc('month', a.occurred_at AT TIME ZONE %(zone)s) AS month,
               count(*) AS n, NULL::numeric AS total
        FROM crm_activity a JOIN crm_activitytype t ON t.id = a.type_id
        JOIN segments s ON s.member_id = a.owner_id
         AND a.occurred_at >= s.since AND a.occurred_at < s.until
        WHERE a.tenant_id = %(tenant)s AND a.occurred_at >= %(start)s AND a.occurred_at < %(end)s
          AND a.owner_id = ANY(%(members)s) AND t.category = 'call' AND a.status = 'completed'
        GROUP BY 1, 2, 3""",
    "won_value": """
        SELECT o.owner_id, s.since AS segment,
               date_trunc('month', o.closed_at AT TIME ZONE %(zone)s) AS month,
               count(*) AS n, sum(o.value) AS total
        FROM crm_opportunity o
        JOIN segments s ON s.member_id = o.owner_id
         AND o.closed_at >= s.since AND o.closed_at < s.until
        WHERE o.tenant_id = %(tenant)s AND o.closed_at >= %(start)s AND o.closed_at < %(end)s
          AND o.owner_id = ANY(%(members)s) AND o.status = 'won' AND o.currency = %(currency)s
        GROUP BY 1, 2, 3""",
    "converted": """
        SELECT l.owner_id, s.since AS segment,
               date_trunc('month', l.converted_at AT TIME ZONE %(zone)s) AS month,
               count(*) AS n, NULL::numeric AS total
        FROM crm_lead l
        JOIN segments s ON s.member_id = l.owner_id
         AND l.converted_at >= s.since AND l.converted_at < s.until
        WHERE l.tenant_id = %(tenant)s AND l.converted_at >= %(start)s
          AND l.converted_at < %(end)s AND l.owner_id = ANY(%(members)s)
          AND l.status = 'converted'
        GROUP BY 1, 2, 3""",
    "created": """
        SELECT l.owner_id, s.since AS segment,
               date_trunc('month', l.created_at AT TIME ZONE %(zone)s) AS month,
               count(*) AS n, NULL::numeric AS total
        FROM crm_lead l
        JOIN segments s ON s.member_id = l.owner_id
         AND l.created_at >= s.since AND l.created_at < s.until
        WHERE l.tenant_id = %(tenant)s AND l.created_at >= %(start)s AND l.created_at < %(end)s
          AND l.owner_id = ANY(%(members)s)
        GROUP BY 1, 2, 3""",
}
# The reporting lines in the window walked up (``up``: whom each member's records count for,
# how many levels up, over which stretch of time); ``credit`` keeps those at or below the
# goal's head while the member was in its team; ``segments`` cut each member's time where
# their credit changes. Then the own rows, each credited to every member above its owner.
ROLLED_UP = """
    WITH RECURSIVE lines AS (
        SELECT member_id, reports_to_id, valid_from AS since,
               COALESCE(valid_to, 'infinity') AS until
        FROM hierarchy_reportingline
        WHERE tenant_id = %(tenant)s AND valid_from < %(end)s
          AND COALESCE(valid_to, 'infinity') > %(start)s
    ), up (member_id, ancestor_id, depth, since, until) AS (
        SELECT member_id, member_id, 0, since, until FROM lines
        UNION ALL
        SELECT up.member_id, l.reports_to_id, up.depth + 1,
               GREATEST(up.since, l.since), LEAST(up.until, l.until)
        FROM up JOIN lines l ON l.member_id = up.ancestor_id
         AND l.since < up.until AND l.until > up.since
        WHERE l.reports_to_id IS NOT NULL
    ), credit AS (
        SELECT u.member_id, u.ancestor_id,
               GREATEST(u.since, h.since) AS since, LEAST(u.until, h.until) AS until
        FROM up u JOIN up h ON h.member_id = u.member_id AND h.ancestor_id = %(head)s
         AND u.depth <= h.depth AND u.since < h.until AND u.until > h.since
    ), bounds AS (
        SELECT member_id, since AS at FROM credit UNION SELECT member_id, until FROM credit
    ), segments AS (
        SELECT member_id, at AS since,
               lead(at) OVER (PARTITION BY member_id ORDER BY at) AS until
        FROM bounds
    ), own AS ({own})
    SELECT c.ancestor_id, own.month,
           sum(own.n) FILTER (WHERE c.ancestor_id = own.owner_id),
           sum(own.total) FILTER (WHERE c.ancestor_id = own.owner_id),
           sum(own.n), sum(own.total)
    FROM own JOIN credit c ON c.member_id = own.owner_id
     AND c.since <= own.segment AND own.segment < c.until
    GROUP BY 1, 2"""
# Which floor number a stored team value is: (measured rule, the count or the sum).
STORED_AS = {
    ("dialled_calls", "team_value"): ("dialled_calls", "n"),
    ("won_value", "team_value"): ("won_value", "total"),
    ("conversion_rate", "team_numerator"): ("converted", "n"),
    ("conversion_rate", "team_denominator"): ("created", "n"),
}


@dataclass
class Run:
    """One goal's recompute: seconds, rows written and queries."""

    seconds: float
    written: int
    queries: int


@dataclass(frozen=True)
class Team:
    """A goal, its started cycles and its team's member ids."""

    goal: Goal
    cycles: list[Cycle]
    members: list[int]


def _peak_reset() -> bool:
    """Reset the peak RSS that ru_maxrss reports (Linux); False where it cannot be."""
    try:
        CLEAR_PEAK.write_text("5")
    except OSError:
        return False
    return True


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


@contextmanager
def _tasks_in_process() -> Iterator[None]:
    """Tasks run here and now: a new goal's first recompute, sent to a queue, would wait for
    a worker that may never come, or come in the middle of the measurements."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
            yield
    finally:
        app.conf.task_always_eager = previous


def _months_back(day: date, months: int) -> date:
    """The first of the month ``months`` before ``day``'s month."""
    first = day.replace(day=1)
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


class Command(BaseCommand):
    help = (
        "Time the full recompute of a big tenant's goals against the same aggregates written "
        "by hand in SQL (the floor) and a naive per-member ORM loop; print its queries and "
        "peak memory. Builds the tenant with seed_demo's generator (five levels, CRM work over "
        f"the last {DAYS} days) and {GOAL_NAME!r} goals of {len(PRESETS)} rules on monthly "
        "cycles, unless they exist. Prints figures and asserts nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default="bench-recompute", help="The tenant's slug.")
        sizes = ("members", 2000), ("activities", 1_000_000), ("leads", 200_000)
        for name, default in (*sizes, ("opportunities", 100_000)):
            parser.add_argument(
                f"--{name}", type=int, default=default, help=f"{name.capitalize()} to build."
            )
        parser.add_argument("--goals", type=int, default=20, help="Goals to recompute.")
        parser.add_argument(
            "--sample", type=int, default=50, help="Team members the naive loop is timed on."
        )
        parser.add_argument(
            "--rounds",
            type=int,
            default=3,
            help="Times the first run (from no rows) and the SQL floor are measured, one after "
            "the other; the ratio printed is their median.",
        )
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="Use the existing tenant and fail if there is none (an existing tenant is "
            "always reused; the size options then only apply to building).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if min(options["goals"], options["sample"], options["rounds"]) < 1:
            raise CommandError("--goals, --sample and --rounds must be at least 1.")
        tenant = self._tenant(options)
        self._describe(tenant)
        teams = self._teams(tenant, options["goals"])
        first, second = self._recompute(tenant, teams, options["rounds"])
        self._naive(tenant, teams, options["sample"], min(first, second))

    # --- the tenant and its goals -----------------------------------------------------------

    def _tenant(self, options: dict[str, Any]) -> Tenant:
        slug = options["tenant"]
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is not None:
            self.stdout.write(f"Reusing the tenant {slug}.")
            return tenant
        if options["reuse"]:
            raise CommandError(f"No tenant {slug!r} to reuse: run without --reuse to build it.")
        if options["members"] < MIN_MEMBERS + DIRECTORS:
            raise CommandError(f"--members must be at least {MIN_MEMBERS + DIRECTORS}.")
        self.stdout.write(f"Building the tenant {slug}:")
        began = time.perf_counter()
        draw = progress_line(self)
        try:
            result = demo_tenant_build(
                slug=slug,
                members=options["members"] - DIRECTORS,
                days=DAYS,
                activities=options["activities"],
                leads=options["leads"],
                opportunities=options["opportunities"],
                seed=DEFAULT_SEED,
                progress=lambda phase, done, total: draw(phase.capitalize(), done, total),
            )
            self._directors(result.tenant)
        except (ValueError, ValidationError, MemberImportError) as exc:
            raise CommandError(f"Cannot build the tenant {slug}: {exc}") from None
        self.stdout.write(f"Built in {time.perf_counter() - began:.0f} s.")
        return result.tenant

    def _directors(self, tenant: Tenant) -> None:
        """Put DIRECTORS directors between the VP and the regional managers, REORGANIZED days
        ago."""
        with scope(tenant=tenant):
            top = Member.objects.select_related("user").get(reports_to__isnull=True)
            regional = list(
                Member.objects.filter(reports_to=top).select_related("user").order_by("lft")
            )
        domain = demo_domain(tenant.slug)
        directors = [
            {
                "email": f"director{n}@{domain}",
                "name": f"Director {n}",
                "role": "manager",
                "reports_to": top.email,
                "title": "Sales Director",
            }
            for n in range(1, DIRECTORS + 1)
        ]
        moved = [
            {
                "email": member.email,
                "name": member.name,
                "role": member.role,
                "reports_to": directors[n % DIRECTORS]["email"],
                "title": member.title,
            }
            for n, member in enumerate(regional)
        ]
        records = list(enumerate([*directors, *moved], start=1))
        members_upsert(tenant=tenant, records=records, unit="record", actor=ACTOR)
        # As if imported REORGANIZED days ago: every regional manager's team changes path then,
        # in the middle of the goals' cycles, records before counting through the VP alone.
        effective = timezone.now() - timedelta(days=REORGANIZED)
        with scope(tenant=tenant):
            lines = ReportingLine.objects.all()
            moved_at = lines.aggregate(Max("valid_from"))["valid_from__max"]
            lines.filter(valid_to=moved_at).update(valid_to=effective)
            lines.filter(valid_from=moved_at).update(valid_from=effective)

    def _describe(self, tenant: Tenant) -> None:
        with scope(tenant=tenant):
            members = Member.objects.all()
            levels = len(set(members.values_list("level", flat=True)))
            counts = {
                "members": members.count(),
                "activities": Activity.objects.count(),
                "leads": Lead.objects.count(),
                "opportunities": Opportunity.objects.count(),
            }
        figures = ", ".join(f"{count:,} {what}" for what, count in counts.items())
        self.stdout.write(
            f"Database: {connection.vendor}. Tenant {tenant.slug}: {figures}; {levels} levels."
        )

    def _teams(self, tenant: Tenant, count: int) -> list[Team]:
        """The bench goals, made when missing: the whole company first, then smaller teams."""
        with scope(tenant=tenant):
            goals = list(
                Goal.objects.filter(name__startswith=GOAL_NAME, archived_at__isnull=True)
                .select_related("tenant", "team")
                .order_by("pk")[:count]
            )
            taken = {goal.team_id for goal in goals}
            managers = [
                member
                for member in Member.objects.filter(is_active=True)
                .exclude(rght=F("lft") + 1)
                .order_by("level", "lft")
                if member.pk not in taken
            ]
        if len(goals) < count:
            goals += self._goals_create(tenant, managers[: count - len(goals)], len(goals))
        now = timezone.now()
        teams = []
        for goal in goals:
            team = goal.team
            with scope(tenant=tenant):
                members = Member.objects.filter(
                    tree_id=team.tree_id, lft__gte=team.lft, rght__lte=team.rght
                )
                ids = list(members.values_list("pk", flat=True))
            started = [cycle for cycle in goal.cycles() if cycle.start <= now]
            teams.append(Team(goal, started, ids))
        sizes = sorted(len(team.members) for team in teams)
        cycles = {len(team.cycles) for team in teams}
        self.stdout.write(
            f"{len(teams)} goals of {len(PRESETS)} rules ({', '.join(PRESETS)}) on monthly "
            f"cycles, {'/'.join(map(str, sorted(cycles)))} cycles started; teams of "
            f"{sizes[0]:,} to {sizes[-1]:,} members, {sum(sizes):,} team members in all"
        )
        return teams

    def _goals_create(self, tenant: Tenant, teams: list[Member], numbered: int) -> list[Goal]:
        with scope(tenant=tenant):
            ruleset = Ruleset.objects.filter(name=GOAL_NAME).first()
        if ruleset is None:
            rules = [rule for key in PRESETS for rule in preset_rules(key)]
            ruleset = ruleset_save(tenant=tenant, name=GOAL_NAME, rules=rules, actor=ACTOR)
        start = _months_back(tenant_today(tenant), CYCLES - 1)
        end = _months_back(start + timedelta(days=32 * CYCLES), 0) - timedelta(days=1)
        goals = []
        for n, team in enumerate(teams, start=numbered + 1):
            size = (team.rght - team.lft + 1) // 2
            draft = GoalDraft(
                name=f"{GOAL_NAME} {n}: {team.name}",
                ruleset=ruleset,
                team=team,
                cycle="monthly",
                start=start,
                end=end,
                backfill=True,
                targets={
                    "dialled_calls": TargetInput(Decimal(60 * size)),
                    "won_value": TargetInput(Decimal(20_000 * size)),
                    "conversion_rate": TargetInput(Decimal(20)),
                },
            )
            with _tasks_in_process():
                goals.append(goal_save(draft=draft, actor=ACTOR))
        return goals

    # --- the measurements ---------------------------------------------------------------------

    def _recompute(self, tenant: Tenant, teams: list[Team], rounds: int) -> tuple[float, float]:
        """Rounds of the first run (from no rows) each followed by the SQL floor, so that both
        meet the machine in the same state; then the second run (nothing changed) and the
        steady state (past cycles closed as the nightly job does, the current one
        recomputed). Returns the seconds of the last first run and of the second run."""
        postgres = connection.vendor == "postgresql"
        if postgres:
            seconds = self._vacuum(READ_TABLES)
            self.stdout.write(
                "NOT vacuumed: only the tables' owner or a superuser may, and this role is "
                "neither (PostgreSQL skips them with a warning); connect as the owner to "
                "measure what autovacuum would have done"
                if seconds is None
                else "Vacuumed and analyzed the tables read, as autovacuum would have: "
                f"{seconds:.1f} s"
            )
        peak_reset = _peak_reset()
        firsts: list[list[Run]] = []
        floors: list[float] = []
        for _round in range(rounds):
            with scope(tenant=tenant):
                Achievement.objects.filter(goal__in=[team.goal for team in teams]).delete()
            if postgres:  # what autovacuum does after a delete this size
                self._vacuum(["achievements_achievement"])
            firsts.append(self._run(teams))
            if postgres:
                floors.append(self._floor(tenant, teams, check=not floors))
        first, second = firsts[-1], self._run(teams)
        for team in teams:
            goal_recompute(team.goal.pk, close_before=timezone.now() - CLOSE_GRACE)
        steady = self._run(teams)
        peak = _peak_mb()
        labels = (
            "first run (from no rows)",
            "second run (nothing changed)",
            "steady state (past cycles closed, the current one recomputed)",
        )
        for label, goal_runs in zip(labels, [first, second, steady], strict=True):
            seconds = sum(run.seconds for run in goal_runs)
            written = sum(run.written for run in goal_runs)
            queries = sum(run.queries for run in goal_runs)
            self.stdout.write(
                f"Full recompute, {label}: {seconds:.2f} s, {written:,} rows written, "
                f"{queries:,} queries"
            )
        self.stdout.write("  goal  members  cycles  1st: s  rows  queries  2nd: s  queries")
        for n, (team, one, two) in enumerate(zip(teams, first, second, strict=True), start=1):
            self.stdout.write(
                f"  {n:>4}  {len(team.members):>7,}  {len(team.cycles):>6}  {one.seconds:>6.2f}"
                f"  {one.written:>6,}  {one.queries:>7}  {two.seconds:>6.2f}  {two.queries:>7}"
            )
        self._query_summary(teams, [first, second])
        where = "while recomputing" if peak_reset else "of this process since it started"
        self.stdout.write(f"Peak memory (ru_maxrss) {where}: {peak:.0f} MB (target < 300 MB)")
        totals = [sum(run.seconds for run in runs) for runs in firsts]
        second_total = sum(run.seconds for run in second)
        if postgres:
            self._ratios(totals, floors, second_total)
        else:
            self.stdout.write("SQL floor: written for PostgreSQL, not measured on this database")
        return totals[-1], second_total

    def _ratios(self, firsts: list[float], floors: list[float], second: float) -> None:
        for n, (first, floor) in enumerate(zip(firsts, floors, strict=True), start=1):
            self.stdout.write(
                f"  round {n}: first run {first:.2f} s, SQL floor {floor:.2f} s, "
                f"ratio {first / floor:.2f}x"
            )
        floor = median(floors)
        self.stdout.write(
            f"Ratio full recompute / SQL floor (median of {len(floors)} rounds): first run "
            f"{median(a / b for a, b in zip(firsts, floors, strict=True)):.2f}x, second run "
            f"{second / floor:.2f}x (target <= 2x)"
        )

    def _vacuum(self, tables: Iterable[str]) -> float | None:
        """Do what autovacuum would have done by the time a tenant this size is recomputed:
        rows loaded in bulk are not all-visible yet, so index-only scans read the heap, and a
        new tenant's few activity types never reach its threshold: with their ids outside the
        planner's statistics, it read every activity by type for a team of nine. Seconds
        taken, or None when this role may not vacuum them all."""
        tables = list(tables)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_class WHERE relname = ANY(%s) "
                "AND NOT pg_has_role(relowner, 'USAGE')",
                [tables],
            )
            if cursor.fetchone()[0]:
                return None
            began = time.perf_counter()
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
        return time.perf_counter() - began

    def _run(self, teams: list[Team]) -> list[Run]:
        runs = []
        for team in teams:
            began = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                written = goal_recompute(team.goal.pk).written
            runs.append(Run(time.perf_counter() - began, written, len(queries)))
        return runs

    def _query_summary(self, teams: list[Team], runs: list[list[Run]]) -> None:
        """Reads are the queries of a run that changed nothing; the first run's extra ones
        wrote every row."""
        sizes = [len(team.members) for team in teams]
        reads = sorted({run.queries for run in runs[1]})
        writes = sorted(
            {first.queries - second.queries for first, second in zip(*runs, strict=True)}
        )
        same = "the same for every team size" if len(reads) == 1 else "NOT the same"
        self.stdout.write(
            f"Queries a goal: {'/'.join(map(str, reads))} when nothing changed, for teams of "
            f"{min(sizes):,} to {max(sizes):,} members ({same}); writing every row took "
            f"{writes[0]}{f' to {writes[-1]}' if len(writes) > 1 else ''} more"
        )

    def _floor(self, tenant: Tenant, teams: list[Team], *, check: bool) -> float:
        """The same aggregates by hand: per goal and measured rule one statement grouping by
        owner and local month over the same window and members and rolling them up the tree.
        ``check``: compare them with the team values the recompute stored and say so."""
        zone = ZoneInfo(tenant.time_zone)
        common = {
            "zone": tenant.time_zone,
            "tenant": tenant.pk,
            "currency": tenant.default_currency,
        }
        seconds, statements, found = 0.0, 0, {}
        # JIT compiles for over 100 ms a statement here, misled by the estimate of the tree
        # join: a hand-tuned floor turns it off. In the tenant's scope, as row-level security
        # shows a session no tenant's rows outside one.
        with transaction.atomic(), scope(tenant=tenant), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            for team in teams:
                params = common | {
                    "start": team.cycles[0].start,
                    "end": team.cycles[-1].end,
                    "members": team.members,
                    "head": team.goal.team_id,
                }
                for key, own in OWN.items():
                    began = time.perf_counter()
                    cursor.execute(ROLLED_UP.format(own=own), params)
                    rows = cursor.fetchall()
                    seconds += time.perf_counter() - began
                    statements += 1
                    for member, month, _n, _total, n, total in rows:
                        cell = (team.goal.pk, member, month.date())
                        found[(key, "n", *cell)], found[(key, "total", *cell)] = n, total
        if check:
            agree, cells = self._agreement(teams, found, zone)
            self.stdout.write(
                f"SQL floor (hand-written, {statements} statements: per goal and measured rule, "
                f"grouped by owner, month and stretch of time and credited up the reporting "
                f"lines as they stood then; jit off): its team values "
                f"{'agree' if agree == cells else 'DISAGREE'} with the stored ones in "
                f"{agree:,} of {cells:,} cells"
            )
        return seconds

    def _agreement(
        self, teams: list[Team], found: dict[tuple, Any], zone: ZoneInfo
    ) -> tuple[int, int]:
        """How many stored team numbers equal the floor's (nothing found counts as 0)."""
        agree = cells = 0
        with scope(tenant=teams[0].goal.tenant_id):
            stored = Achievement.objects.filter(goal__in=[team.goal for team in teams])
            fields = {field for _, field in STORED_AS}
            rows = stored.values("goal_id", "rule__key", "member_id", "cycle_start", *fields)
            for row in rows:
                cell = (
                    row["goal_id"],
                    row["member_id"],
                    row["cycle_start"].astimezone(zone).date(),
                )
                for (rule, field), (key, part) in STORED_AS.items():
                    if rule == row["rule__key"]:
                        cells += 1
                        agree += (row[field] or 0) == (found.get((key, part, *cell)) or 0)
        return agree, cells

    def _naive(self, tenant: Tenant, teams: list[Team], sample: int, recompute: float) -> None:
        """Per member, rule and cycle, one ORM count or sum over the member's subtree; timed
        on ``sample`` (goal, member) pairs spread evenly over the pairs ordered by subtree
        size, and extrapolated to all of them."""
        with scope(tenant=tenant):
            rows = Member.objects.values_list("pk", "tree_id", "lft", "rght")
            places = {pk: place for pk, *place in rows}
        pairs = sorted(
            ((team, places[pk]) for team in teams for pk in team.members),
            key=lambda pair: pair[1][2] - pair[1][1],
        )
        sample = min(sample, len(pairs))
        chosen = [pairs[int((n + 0.5) * len(pairs) / sample)] for n in range(sample)]
        currency = tenant.default_currency
        began = time.perf_counter()
        with CaptureQueriesContext(connection) as queries, scope(tenant=tenant):
            for team, (tree_id, lft, rght) in chosen:
                subtree = Member.objects.filter(
                    tree_id=tree_id, lft__gte=lft, rght__lte=rght
                ).values("pk")
                for cycle in team.cycles:
                    self._naive_cycle(subtree, cycle.start, cycle.end, currency)
        seconds = time.perf_counter() - began
        whole = seconds / sample * len(pairs)
        self.stdout.write(
            f"Naive per-member ORM: {seconds:.2f} s and {len(queries):,} queries for "
            f"{sample} of {len(pairs):,} team members; extrapolated to all: {whole:,.0f} s, "
            f"{len(queries) / sample * len(pairs):,.0f} queries "
            f"({whole / recompute:,.0f}x the faster full recompute)"
        )

    def _naive_cycle(self, subtree: Any, start: datetime, end: datetime, currency: str) -> None:
        Activity.objects.filter(
            owner__in=subtree, type__category="call", status="completed",
            occurred_at__gte=start, occurred_at__lt=end,
        ).count()  # fmt: skip
        Opportunity.objects.filter(
            owner__in=subtree, status="won", currency=currency,
            closed_at__gte=start, closed_at__lt=end,
        ).aggregate(total=Sum("value"))  # fmt: skip
        Lead.objects.filter(
            owner__in=subtree, status="converted", converted_at__gte=start, converted_at__lt=end
        ).count()
        Lead.objects.filter(owner__in=subtree, created_at__gte=start, created_at__lt=end).count()
