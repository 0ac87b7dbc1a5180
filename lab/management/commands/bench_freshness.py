from __future__ import annotations

import math
import os
import statistics
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client
from django_scopes import scope
from kombu.exceptions import OperationalError

from achievements.models import Achievement
from crm.models import ActivityType
from goals.models import Goal, tenant_today
from goals.services import GoalDraft, TargetInput, goal_save
from goals_project.celery import app
from goals_project.tasks import ping
from goals_project.workers import database_url, worker_start, worker_stop
from hierarchy.models import Member, Tenant
from hierarchy.services import api_token_create, api_token_revoke, member_create, tenant_create
from rulesets.models import GoalRule, Ruleset
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save

ACTOR = "command line (bench_freshness)"
RULE = "dialled_calls"
WAIT = 60.0  # seconds to wait for the worker, and for each record to show
POLL = 0.02  # seconds between reads of the achievement


def _percentile(sorted_values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of the values at or below it."""
    return sorted_values[max(math.ceil(share * len(sorted_values)) - 1, 0)]


def _host() -> str:
    """A host name the site accepts, for requests made in-process."""
    allowed = next((host for host in settings.ALLOWED_HOSTS if host != "*"), "localhost")
    return allowed.lstrip(".")


class Command(BaseCommand):
    help = (
        "Seconds from commit to updated numbers: with a real Celery worker started here on the "
        "same database and a queue of its own, post activities one request at a time through "
        "the API and time each from the 2xx answer to the achievement row showing it; print "
        "p50, p95 and the worst. Needs REDIS_URL. Creates or reuses a small tenant."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default="bench-freshness", help="The tenant's slug.")
        parser.add_argument("--records", type=int, default=30, help="Activities to post.")
        parser.add_argument(
            "--reps", type=int, default=20, help="Reps of the tenant when it is created."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.REDIS_URL:
            raise CommandError(
                "bench_freshness needs REDIS_URL: a Redis broker for the Celery worker it starts."
            )
        if options["records"] < 1 or options["reps"] < 1:
            raise CommandError("--records and --reps must be at least 1.")
        queue = f"bench-freshness-{uuid.uuid4().hex[:12]}"
        previous_queue = app.conf.task_default_queue
        app.conf.task_default_queue = queue  # before anything here asks for a recompute
        worker = token = None
        try:
            tenant = self._tenant(options["tenant"], options["reps"])
            goal = self._goal(tenant)
            token, key = api_token_create(tenant=tenant, name=f"bench_freshness {queue}")
            client = Client(headers={"Authorization": f"Bearer {key}"}, HTTP_HOST=_host())
            worker = self._worker(queue)
            delays, answers = self._measure(client, goal, options["records"])
        finally:
            app.conf.task_default_queue = previous_queue
            if worker is not None:
                worker_stop(worker, timeout=30)
            if token is not None:
                api_token_revoke(token=token, actor=ACTOR)
        delays.sort()
        self.stdout.write(
            f"Database: {connection.vendor}; Redis broker; one worker (solo pool) on its own "
            f"queue; debounce {settings.RECOMPUTE_DEBOUNCE_SECONDS} s. Tenant {tenant.slug}, "
            f"goal {goal.name!r} ({goal.cycle})."
        )
        self.stdout.write(
            f"{len(delays)} activities posted one request at a time; API answer: median "
            f"{statistics.median(answers) * 1000:.0f} ms"
        )
        self.stdout.write(
            f"Commit to updated achievement: p50 {_percentile(delays, 0.5):.2f} s, "
            f"p95 {_percentile(delays, 0.95):.2f} s, max {delays[-1]:.2f} s (target p95 < 5 s)"
        )

    def _tenant(self, slug: str, reps: int) -> Tenant:
        """The tenant (UTC): an admin, a manager and ``reps`` reps, and a call activity type."""
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is not None:
            return tenant
        domain = f"{slug}.example"
        admin = tenant_create(
            name=f"Freshness benchmark ({slug})", slug=slug, time_zone="UTC",
            admin_email=f"admin@{domain}",
        )  # fmt: skip
        tenant = admin.tenant
        manager = member_create(
            tenant=tenant, email=f"manager@{domain}", name="Manager", role=Member.Role.MANAGER,
            reports_to=admin, actor=ACTOR,
        )  # fmt: skip
        for n in range(1, reps + 1):
            member_create(
                tenant=tenant, email=f"rep{n}@{domain}", name=f"Rep {n}", reports_to=manager,
                actor=ACTOR,
            )  # fmt: skip
        with scope(tenant=tenant):
            ActivityType.objects.create(tenant=tenant, name="Call", category="call")
        return tenant

    def _goal(self, tenant: Tenant) -> Goal:
        """The company's daily dialled calls over this month, made when missing."""
        first = tenant_today(tenant).replace(day=1)
        name = f"Calls {first:%Y-%m}"
        with scope(tenant=tenant):
            goal = Goal.objects.filter(name=name, archived_at__isnull=True).first()
            if goal is not None:
                return goal
            ruleset = Ruleset.objects.filter(name="Calls").first()
            team = Member.objects.get(reports_to__isnull=True)
        if ruleset is None:
            ruleset = ruleset_save(tenant=tenant, name="Calls", rules=preset_rules(RULE))
        draft = GoalDraft(
            name=name,
            ruleset=ruleset,
            team=team,
            cycle="daily",
            start=first,
            end=(first + timedelta(days=31)).replace(day=1) - timedelta(days=1),
            targets={RULE: TargetInput(Decimal(100))},
            backfill=True,
        )
        return goal_save(draft=draft, actor=ACTOR)

    def _worker(self, queue: str) -> subprocess.Popen:
        """A worker on this database and ``queue``, answering a ping before it is used."""
        env = os.environ.copy()
        if connection.vendor == "postgresql":
            env["DATABASE_URL"] = database_url()
        worker = worker_start(queue, env=env, quiet=True)
        try:
            ping.apply_async(queue=queue).get(timeout=WAIT)
        except OperationalError as exc:
            worker_stop(worker, timeout=30)
            raise CommandError(f"The broker at REDIS_URL cannot be reached: {exc}") from None
        except Exception:  # noqa: BLE001  (celery's TimeoutError, or the worker died)
            worker_stop(worker, timeout=30)
            raise CommandError(f"The worker did not answer within {WAIT:.0f} s.") from None
        return worker

    def _measure(self, client: Client, goal: Goal, records: int) -> tuple[list[float], list[float]]:
        """(commit to updated value, API answer) in seconds for each record; a first record,
        not counted, warms up the API and the worker."""
        with scope(tenant=goal.tenant_id):
            rule = GoalRule.objects.get(ruleset_id=goal.ruleset_id, key=RULE)
            reps = list(Member.objects.filter(role=Member.Role.REP).select_related("user"))
        run = uuid.uuid4().hex[:8]
        delays, answers = [], []
        for n in range(records + 1):
            rep = reps[n % len(reps)]
            occurred = datetime.now(UTC)
            cycle = next(c for c in goal.cycles() if c.start <= occurred < c.end)
            before = self._value(goal, rule, rep, cycle.start) or 0
            record = {
                "external_id": f"fresh-{run}-{n}", "owner_email": rep.email, "type": "Call",
                "status": "completed", "occurred_at": occurred.isoformat(),
            }  # fmt: skip
            began = time.perf_counter()
            response = client.post(
                "/api/v1/activities", {"records": [record]}, content_type="application/json",
                secure=True,
            )  # fmt: skip
            committed = time.perf_counter()
            if response.status_code != 200:
                raise CommandError(f"The API answered {response.status_code}: {response.content}")
            while (self._value(goal, rule, rep, cycle.start) or 0) < before + 1:
                if time.perf_counter() - committed > WAIT:
                    raise CommandError(f"The achievement did not update within {WAIT:.0f} s.")
                time.sleep(POLL)
            if n:
                delays.append(time.perf_counter() - committed)
                answers.append(committed - began)
        return delays, answers

    def _value(self, goal: Goal, rule: GoalRule, rep: Member, start: datetime) -> Decimal | None:
        with scope(tenant=goal.tenant_id):
            rows = Achievement.objects.filter(goal=goal, rule=rule, member=rep, cycle_start=start)
            return rows.values_list("value", flat=True).first()
