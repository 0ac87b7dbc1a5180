from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client
from django_scopes import scope

from achievements.models import Achievement
from crm.demo import demo_tenant_clear
from crm.models import ActivityType
from goals.models import tenant_today
from goals.services import GoalDraft, TargetInput, goal_save
from goals_project.celery import app
from hierarchy.models import Member
from hierarchy.services import api_token_create, member_create, tenant_create
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save


class Command(BaseCommand):
    help = (
        "With a real Celery worker (started here on its own queue), post activities one request "
        "at a time through the API and print the seconds from each commit to the updated "
        "achievement: p50, p95 and the worst. Needs REDIS_URL; uses a throwaway tenant."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--records", type=int, default=30)
        parser.add_argument("--reps", type=int, default=20)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.REDIS_URL:
            raise CommandError("bench_freshness needs REDIS_URL: a broker and a real worker.")
        slug = f"bench-fresh-{uuid.uuid4().hex[:8]}"
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        app.conf.task_default_queue = queue  # before anything asks for a recompute
        rep, goal, client = self._set_up(slug, options["reps"])
        command = [sys.executable, "-m", "celery", "-A", "goals_project", "worker",
                   "--pool=solo", "--loglevel=WARNING", "-Q", queue,
                   "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
        worker = subprocess.Popen(command, cwd=settings.BASE_DIR, env=os.environ.copy())
        try:
            self._wait(goal, rep, lambda value: value is not None, 60)
            delays = []
            for n in range(options["records"]):
                record = {"external_id": f"fresh-{n}", "owner_email": rep.user.email,
                          "type": "Call", "status": "completed",
                          "occurred_at": datetime.now(UTC).isoformat()}  # fmt: skip
                response = client.post("/api/v1/activities", {"records": [record]},
                                       content_type="application/json")  # fmt: skip
                if response.status_code != 200:
                    raise CommandError(f"The API answered {response.status_code}.")
                committed = time.monotonic()
                self._wait(goal, rep, lambda value, n=n: value == n + 1, 60)
                delays.append(time.monotonic() - committed)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
            demo_tenant_clear(goal.tenant)
            goal.tenant.delete()
        delays.sort()
        p95 = delays[max(int(len(delays) * 0.95) - 1, 0)]
        self.stdout.write(
            f"Database: {connection.vendor}; debounce {settings.RECOMPUTE_DEBOUNCE_SECONDS} s; "
            f"{len(delays)} records, one a request"
        )
        self.stdout.write(
            f"Commit to updated achievement: p50 {statistics.median(delays):.2f} s, "
            f"p95 {p95:.2f} s, worst {delays[-1]:.2f} s (target p95 < 5 s)"
        )

    def _set_up(self, slug: str, reps: int) -> tuple[Member, Any, Client]:
        admin = tenant_create(
            name="Freshness benchmark", slug=slug, time_zone="UTC",
            admin_email=f"admin@{slug}.example", admin_password=None,
        )  # fmt: skip
        tenant = admin.tenant
        people = [
            member_create(
                tenant=tenant, email=f"rep{n}@{slug}.example", name=f"Rep {n}", reports_to=admin
            )  # fmt: skip
            for n in range(reps)
        ]
        with scope(tenant=tenant):
            ActivityType.objects.create(tenant=tenant, name="Call", category="call")
        ruleset = ruleset_save(tenant=tenant, name="Calls", rules=preset_rules("dialled_calls"))
        today = tenant_today(tenant)
        goal = goal_save(
            draft=GoalDraft(
                name="Calls today", ruleset=ruleset, team=admin, cycle="daily",
                start=today, end=today, targets={"dialled_calls": TargetInput(Decimal(100))},
            ),
            actor="bench",
        )  # fmt: skip
        _, key = api_token_create(tenant=tenant, name="bench")
        client = Client(headers={"Authorization": f"Bearer {key}"}, HTTP_HOST="localhost")
        return people[0], goal, client

    def _wait(self, goal: Any, rep: Member, done: Any, seconds: float) -> None:
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            with scope(tenant=goal.tenant_id):
                value = (
                    Achievement.objects.filter(goal=goal, member=rep)
                    .values_list("value", flat=True)
                    .first()
                )
            if done(value):
                return
            time.sleep(0.02)
        raise CommandError(f"The achievement did not update within {seconds:.0f} s.")
