"""Faults with real processes: a worker killed in the middle of its write, Redis down while
records arrive, the same batch delivered twice at once, PostgreSQL restarted while a recompute
writes. Afterwards no record is lost, no achievement is half-written, and every cell equals a
clean recompute (the goal's rows deleted and computed from nothing).

They need PostgreSQL and REDIS_URL (the restart also PostgreSQL's server binaries, for a
throwaway cluster of its own: the shared server is never restarted); elsewhere they skip with
the reason, or fail under REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from achievements.models import Achievement, GoalComputation
from achievements.selectors import goals_behind
from achievements.services import goal_recompute
from achievements.tasks import recompute_goal, sweep
from crm.ingest import records_upsert
from crm.models import Activity, ActivityType, Opportunity, StageChange
from goals.models import Goal, tenant_today
from goals.services import GoalDraft, TargetInput, goal_save
from goals_project.celery import app
from hierarchy.models import Member
from hierarchy.services import api_token_create, member_create, tenant_create
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save
from tests.conftest import Org
from tests.processes import (
    BLOCKED_WRITERS,
    at_once,
    blocked_writers,
    broker_at,
    require_broker,
    require_services,
    row_locked,
    skip_or_fail,
    team_value,
    wait_for,
    worker,  # noqa: F401  (the fixture)
)

pytestmark = pytest.mark.django_db(transaction=True)

CELLS = (
    "SELECT rule_id, member_id, cycle_start, value, team_value, numerator, denominator, "
    "team_numerator, team_denominator, target, team_target, cycle_index, final, status "
    "FROM achievements_achievement WHERE goal_id = %s"
)


def cells(rows: list[tuple]) -> dict[tuple, tuple]:
    """A goal's stored numbers (the rows of CELLS), by (rule, member, cycle)."""
    return {tuple(row[:3]): tuple(row[3:]) for row in rows}


def goal_cells(goal: Goal) -> dict[tuple, tuple]:
    with scope(tenant=goal.tenant_id), connection.cursor() as cursor:
        cursor.execute(CELLS, [goal.pk])
        return cells(cursor.fetchall())


def assert_as_a_clean_recompute(goal: Goal) -> None:
    """The goal's numbers are what a recompute from nothing writes, cell for cell."""
    kept = goal_cells(goal)
    with scope(tenant=goal.tenant_id), connection.cursor() as cursor:
        cursor.execute("DELETE FROM achievements_achievement WHERE goal_id = %s", [goal.pk])
    goal_recompute(goal.pk)
    assert kept and goal_cells(goal) == kept


def activities(org: Org) -> int:
    with scope(tenant=org.admin.tenant):
        return Activity.objects.count()


def test_a_worker_killed_mid_recompute_leaves_the_old_numbers_and_the_next_run_completes(
    org: Org,
    worker,  # noqa: F811
) -> None:
    require_services()
    goal = org.goal()
    org.log(org.call(1, at=timezone.now()))
    goal_recompute(goal.pk)
    before = goal_cells(goal)
    with scope(tenant=goal.tenant_id):
        rep_row = Achievement.objects.get(goal=goal, member=org.rep, rule__key="dialled_calls")
    with row_locked(rep_row.pk, goal.tenant_id):
        records_upsert(
            tenant=org.admin.tenant,
            entity="activity",
            records=[org.call(2, at=timezone.now()), org.call(3, at=timezone.now())],
        )  # after commit, a recompute is queued for the worker
        process = worker()
        wait_for(lambda: blocked_writers() == 1)  # it has computed and is writing its rows
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert goal_cells(goal) == before  # nothing of the killed transaction is visible
    assert activities(org) == 3
    settled = datetime.now(UTC) + timedelta(minutes=2)  # the sweep lets requests settle
    assert goals_behind(now=settled) == [goal.pk]  # the request is still recorded as waiting
    for goal_id in goals_behind(now=settled):
        goal_recompute(goal_id)
    assert team_value(goal, org.east.pk) == 3
    assert_as_a_clean_recompute(goal)


def test_with_redis_down_ingestion_succeeds_and_the_sweep_restores_the_numbers(
    org: Org,
    worker,  # noqa: F811
) -> None:
    worker()
    goal = org.goal()
    wait_for(lambda: team_value(goal, org.east.pk) == 0)  # computed by the worker
    _, key = api_token_create(tenant=org.admin.tenant, name="CRM")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    with broker_at("redis://127.0.0.1:1/0"):  # nothing listens there: the broker is down
        response = api.post(
            "/api/v1/activities",
            {"records": [org.call(1, at=timezone.now())]},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
    assert activities(org) == 1
    time.sleep(2 * settings.RECOMPUTE_DEBOUNCE_SECONDS)
    assert team_value(goal, org.east.pk) == 0  # saved, but not counted: nothing was sent
    with scope(tenant=goal.tenant_id):
        computations = GoalComputation.objects.filter(goal=goal)
        assert computations.get().pending
        # The sweep leaves requests a minute to settle: make this one two minutes old.
        computations.update(
            requested_at=F("requested_at") - timedelta(minutes=2),
            computed_at=F("computed_at") - timedelta(minutes=2),
        )
    assert sweep() == 1  # the broker is back: the sweep sends what was left behind
    wait_for(lambda: team_value(goal, org.east.pk) == 1, seconds=15)
    assert_as_a_clean_recompute(goal)


def test_the_same_batch_delivered_twice_at_once_is_counted_once(
    org: Org,
    worker,  # noqa: F811
) -> None:
    worker()
    goal = org.goal()
    wait_for(lambda: team_value(goal, org.east.pk) == 0)
    _, key = api_token_create(tenant=org.admin.tenant, name="CRM")
    batch = {"records": [org.call(n, at=timezone.now()) for n in range(200)]}

    def deliver() -> Any:
        api = Client(headers={"Authorization": f"Bearer {key}"})
        return api.post("/api/v1/activities", batch, content_type="application/json")

    answers = at_once(deliver, times=2)
    assert [getattr(a, "status_code", a) for a in answers] == [200, 200]
    bodies = [answer.json() for answer in answers]
    for body in bodies:
        assert body["created"] + body["updated"] + body["unchanged"] == 200 and not body["rejected"]
    assert sum(body["created"] for body in bodies) == 200  # each record created once
    assert activities(org) == 200
    wait_for(lambda: team_value(goal, org.east.pk) == 200, seconds=20)
    again = Client(headers={"Authorization": f"Bearer {key}"})
    response = again.post("/api/v1/activities", batch, content_type="application/json")
    assert response.json()["unchanged"] == 200 and activities(org) == 200
    assert_as_a_clean_recompute(goal)


def test_deals_delivered_twice_at_once_record_their_first_stage_once(org: Org) -> None:
    _, key = api_token_create(tenant=org.admin.tenant, name="CRM")
    deals = [
        {"external_id": f"deal-{n}", "owner_email": org.rep.email, "name": f"Deal {n}",
         "stage": "Prospect", "value": "100"}
        for n in range(50)
    ]  # fmt: skip

    def deliver() -> Any:
        api = Client(headers={"Authorization": f"Bearer {key}"})
        return api.post(
            "/api/v1/opportunities", {"records": deals}, content_type="application/json"
        )

    answers = at_once(deliver, times=2)
    assert [getattr(a, "status_code", a) for a in answers] == [200, 200]
    assert sum(answer.json()["created"] for answer in answers) == 50
    with scope(tenant=org.admin.tenant):
        assert Opportunity.objects.count() == 50
        assert StageChange.objects.count() == 50  # one "entered Prospect" each, not two


# PostgreSQL restarted during a recompute, on a throwaway cluster.

MANAGERS, REPS_EACH, DAYS = 4, 24, 12


def seed_cluster() -> None:
    """Run in a subprocess on the throwaway cluster: a tenant of 101 members, a daily goal of
    ``DAYS`` started cycles (1,212 cells: more than one write batch), a call by each rep each
    day, computed; then a second call each, committed but not computed (the broker is down).
    Prints the goal's and the tenant's ids."""
    admin = tenant_create(
        name="Faults", slug="faults", time_zone="UTC", admin_email="boss@faults.example"
    )
    tenant = admin.tenant
    with scope(tenant=tenant):
        ActivityType.objects.create(tenant=tenant, name="Call", category="call")
    reps = []
    for m in range(MANAGERS):
        manager = member_create(
            tenant=tenant, email=f"m{m}@faults.example", name=f"M{m}", role=Member.Role.MANAGER,
            reports_to=admin,
        )  # fmt: skip
        reps += [
            member_create(tenant=tenant, email=f"r{m}-{r}@faults.example", name=f"R{m}-{r}",
                          reports_to=manager)
            for r in range(REPS_EACH)
        ]  # fmt: skip
    today = tenant_today(tenant)
    ruleset = ruleset_save(tenant=tenant, name="Calls", rules=preset_rules("dialled_calls"))
    draft = GoalDraft(
        name="Daily calls", ruleset=ruleset, team=admin, cycle="daily",
        start=today - timedelta(days=DAYS - 1), end=today + timedelta(days=3),
        targets={"dialled_calls": TargetInput(Decimal(2))}, backfill=True,
    )  # fmt: skip
    goal = goal_save(draft=draft, actor=admin)

    def calls(round_: int) -> list[dict]:
        return [
            {"external_id": f"c{round_}-{rep.pk}-{day}", "owner_email": rep.email, "type": "Call",
             "status": "completed", "occurred_at": f"{today - timedelta(days=day)}T09:0{round_}"}
            for rep in reps
            for day in range(DAYS)
        ]  # fmt: skip

    for start in range(0, len(calls(0)), 1000):
        records_upsert(tenant=tenant, entity="activity", records=calls(0)[start : start + 1000])
    goal_recompute(goal.pk)
    settings.CELERY_TASK_ALWAYS_EAGER = app.conf.task_always_eager = False
    with broker_at("redis://127.0.0.1:1/0"):
        for start in range(0, len(calls(1)), 1000):
            records_upsert(tenant=tenant, entity="activity", records=calls(1)[start : start + 1000])
    print(json.dumps({"goal": goal.pk, "tenant": tenant.pk}))  # noqa: T201  (read by the test)


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


@dataclass
class Cluster:
    """A PostgreSQL cluster in a temporary directory on a free port, for one test."""

    bin: Path
    data: Path
    port: int
    as_postgres: list[str]  # the command prefix that runs a server binary as its OS user

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/goals"

    def pg_ctl(self, *args: str) -> None:
        """pg_ctl on the cluster; the server's output goes to its log (were it to inherit our
        pipe, pg_ctl's output would never end)."""
        log = self.data.parent / "server.log"
        command = [*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data), "-w"]
        command += ["-l", str(log), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def connect(self, database: str = "goals") -> Any:
        return psycopg2.connect(dbname=database, user="postgres", host="127.0.0.1", port=self.port)

    def execute(self, sql: str, params: list | None = None, database: str = "goals") -> list:
        """One statement on a connection of its own, committed; the rows it returns."""
        db = self.connect(database)
        try:
            db.autocommit = True
            with db.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            db.close()

    def django(self, *args: str) -> str:
        """Run Python or a management command on the cluster, with the embedded (in-process)
        task runner; its standard output."""
        env = os.environ | {"DATABASE_URL": self.url, "REDIS_URL": ""}
        result = subprocess.run(
            [sys.executable, *args], cwd=settings.BASE_DIR, env=env, capture_output=True,
            text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    require_broker()
    bin_dir = _postgres_bin()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        skip_or_fail("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    as_postgres: list[str] = []
    owner = None
    if os.geteuid() == 0:  # the server refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            skip_or_fail("running as root, and there is no postgres user to run a server as")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="goals-faults-"))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    found = Cluster(bin_dir, root / "data", _free_port(), as_postgres)
    initdb = [*as_postgres, str(bin_dir / "initdb"), "-D", str(found.data), "-U", "postgres"]
    subprocess.run([*initdb, "--auth=trust", "-E", "UTF8"], check=True, capture_output=True)
    options = f"-p {found.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        found.pg_ctl("-o", options, "start")
        found.execute("CREATE DATABASE goals", database="postgres")
        found.django("manage.py", "migrate", "--no-input", "-v", "0")
        yield found
    finally:
        try:
            found.pg_ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _writers_blocked(cluster: Cluster) -> bool:
    return cluster.execute(BLOCKED_WRITERS)[0][0] > 0


def test_postgresql_restarted_during_a_recompute_loses_nothing(
    cluster: Cluster,
    worker,  # noqa: F811
) -> None:
    seeded = json.loads(
        cluster.django("-c", "import django; django.setup(); from tests.hardening.test_faults "
                       "import seed_cluster; seed_cluster()").splitlines()[-1]
    )  # fmt: skip
    goal_id = seeded["goal"]
    before = cells(cluster.execute(CELLS, [goal_id]))
    assert len(before) == (1 + MANAGERS + MANAGERS * REPS_EACH) * DAYS
    reader = cluster.connect()  # a slow reader holds the last cycle's rows: the write stalls
    reader.cursor().execute(
        "SELECT 1 FROM achievements_achievement WHERE goal_id = %s AND cycle_index = %s FOR UPDATE",
        [goal_id, DAYS - 1],
    )
    worker(database=cluster.url)
    interrupted = recompute_goal.apply_async(args=[goal_id], ignore_result=False)
    wait_for(lambda: _writers_blocked(cluster), seconds=60)  # first batches written, uncommitted
    cluster.pg_ctl("-m", "fast", "restart")
    reader.close()
    wait_for(interrupted.ready, seconds=60)
    assert interrupted.failed()  # the write died with its connection
    assert cells(cluster.execute(CELLS, [goal_id])) == before  # none of it is visible
    count = "SELECT count(*) FROM crm_activity WHERE tenant_id = %s"
    assert cluster.execute(count, [seeded["tenant"]]) == [(2 * MANAGERS * REPS_EACH * DAYS,)]
    recompute_goal.apply_async(args=[goal_id], ignore_result=False).get(
        timeout=60
    )  # the worker reconnects
    after = cells(cluster.execute(CELLS, [goal_id]))
    [(root,)] = cluster.execute("SELECT team_id FROM goals_goal WHERE id = %s", [goal_id])
    tops = {numbers[1] for (_, member, _), numbers in after.items() if member == root}
    assert tops == {2 * MANAGERS * REPS_EACH}  # both calls of every rep, every day
    cluster.execute("DELETE FROM achievements_achievement WHERE goal_id = %s", [goal_id])
    recompute_goal.apply_async(args=[goal_id], ignore_result=False).get(timeout=60)
    assert cells(cluster.execute(CELLS, [goal_id])) == after  # as a recompute from nothing
