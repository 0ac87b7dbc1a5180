"""Freshness and faults with real processes: PostgreSQL, Redis and a Celery worker.

The worker is a separate process on the test database, so these tests commit their data
(``transactional_db``) and run only on PostgreSQL with REDIS_URL (CI); elsewhere they skip
with the reason, or fail under REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.test import Client
from django_scopes import scope

from achievements.freshness import goals_behind
from achievements.models import Achievement, GoalComputation
from achievements.services import goal_recompute
from achievements.tasks import sweep
from crm.ingest import records_upsert
from goals.models import Goal
from goals_project.celery import app
from hierarchy.services import api_token_create
from tests.conftest import REQUIRE_SERVICES
from tests.goals.conftest import Org

pytestmark = pytest.mark.django_db(transaction=True)


def _require_services() -> None:
    problem = None
    if connection.vendor != "postgresql":
        problem = "a worker process needs a shared PostgreSQL test database (DATABASE_URL)"
    elif not settings.REDIS_URL:
        problem = "REDIS_URL is not set: no broker for a real worker"
    if problem:
        if REQUIRE_SERVICES:
            pytest.fail(problem)
        pytest.skip(problem)


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(settings) -> Iterator[Callable[[], subprocess.Popen]]:  # noqa: ANN001
    """Start real workers on the test database and a queue of their own; stop them after."""
    _require_services()
    settings.RECOMPUTE_DEBOUNCE_SECONDS = 1
    queue = f"test-{uuid.uuid4().hex[:12]}"
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    env = os.environ | {"DATABASE_URL": _database_url(), "RECOMPUTE_DEBOUNCE_SECONDS": "1"}
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        command = [sys.executable, "-m", "celery", "-A", "goals_project", "worker"]
        command += ["--pool=solo", "--loglevel=WARNING", "-Q", queue, "-n", f"{queue}@%h"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        started.append(subprocess.Popen(command, cwd=settings.BASE_DIR, env=env))
        return started[-1]

    try:
        yield start
    finally:
        app.conf.task_default_queue = previous_queue
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def wait_for(check: Callable[[], bool], seconds: float = 30) -> float:
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        if check():
            return time.monotonic() - began
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


def team_value(goal: Goal, member_id: int) -> Decimal | None:
    with scope(tenant=goal.tenant_id):
        row = Achievement.objects.filter(goal=goal, member_id=member_id, cycle_index=0).first()
    return row.team_value if row else None


def call(org: Org, n: int) -> dict:
    return {
        "external_id": f"call-{n}",
        "owner_email": org.rep.email,
        "type": "Call",
        "occurred_at": datetime.now(UTC).isoformat(),
        "status": "completed",
    }


def test_a_record_posted_through_the_api_reaches_the_numbers_in_seconds(org: Org, worker) -> None:
    worker()
    goal = org.goal()  # its first recompute goes through the worker too
    wait_for(lambda: team_value(goal, org.east.pk) == 0)
    _, key = api_token_create(tenant=org.admin.tenant, name="CRM")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    response = api.post(
        "/api/v1/activities",
        {"records": [call(org, 1), call(org, 2)]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    took = wait_for(lambda: team_value(goal, org.east.pk) == 2, seconds=15)
    assert took < 15  # the debounce is 1 s here; CI's machine adds the worker's pick-up time


@contextmanager
def row_locked(pk: int, tenant_id: int) -> Iterator[None]:
    """Hold a row lock on one achievement from another connection, like a slow reader would
    (in the achievement's tenant: row-level security shows it no other rows)."""
    db = connection.settings_dict
    other = psycopg2.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None,
        host=db["HOST"], port=db["PORT"] or 5432,
    )  # fmt: skip
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT set_config('app.tenant_id', %s, false)", [str(tenant_id)])
            cursor.execute("SELECT 1 FROM achievements_achievement WHERE id = %s FOR UPDATE", [pk])
            assert cursor.rowcount == 1
            yield
    finally:
        other.rollback()
        other.close()


def blocked_writers() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'INSERT INTO \"achievements_achievement\"%%'"
        )
        return cursor.fetchone()[0]


def test_a_worker_killed_mid_recompute_leaves_the_old_numbers_and_the_next_run_completes(
    org: Org, worker
) -> None:
    goal = org.goal()
    records_upsert(tenant=org.admin.tenant, entity="activity", records=[call(org, 1)])
    goal_recompute(goal.pk)
    with scope(tenant=goal.tenant_id):
        rep_row = Achievement.objects.get(goal=goal, member=org.rep, rule__key="dialled_calls")
        before = sorted(Achievement.objects.filter(goal=goal).values_list("pk", "team_value"))
    with row_locked(rep_row.pk, goal.tenant_id):
        records_upsert(
            tenant=org.admin.tenant, entity="activity", records=[call(org, 2), call(org, 3)]
        )  # after commit, a recompute is queued for the worker
        process = worker()
        wait_for(lambda: blocked_writers() == 1)  # it has computed and is writing its rows
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    with scope(tenant=goal.tenant_id):
        after = sorted(Achievement.objects.filter(goal=goal).values_list("pk", "team_value"))
    assert after == before  # all old numbers: nothing of the killed transaction is visible
    settled = datetime.now(UTC) + timedelta(minutes=2)  # the sweep lets requests settle
    assert goals_behind(now=settled) == [goal.pk]  # the request is still recorded as waiting
    for goal_id in goals_behind(now=settled):
        goal_recompute(goal_id)
    assert team_value(goal, org.east.pk) == 3


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point this process's Celery producer at another broker URL (and back)."""
    previous = app.conf.broker_url

    def use(target: str) -> None:
        app.conf.broker_url = target
        app._pool = None
        app.amqp._producer_pool = None

    use(url)
    try:
        yield
    finally:
        use(previous)


def test_with_redis_down_ingestion_succeeds_and_the_sweep_restores_the_numbers(
    org: Org, worker
) -> None:
    worker()
    goal = org.goal()
    wait_for(lambda: team_value(goal, org.east.pk) == 0)  # computed by the worker
    _, key = api_token_create(tenant=org.admin.tenant, name="CRM")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    with broker_at("redis://127.0.0.1:1/0"):  # nothing listens there: the broker is down
        response = api.post(
            "/api/v1/activities", {"records": [call(org, 1)]}, content_type="application/json"
        )
        assert response.status_code == 200, response.content
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


def test_concurrent_recomputes_of_one_goal_do_not_interleave(org: Org) -> None:
    _require_services()
    goal = org.goal()
    records_upsert(tenant=org.admin.tenant, entity="activity", records=[call(org, 1)])
    errors: list[BaseException] = []

    def run() -> None:
        try:
            goal_recompute(goal.pk)
        except BaseException as exc:  # noqa: BLE001  (reported by the assert below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with scope(tenant=goal.tenant_id):
        assert Achievement.objects.filter(goal=goal).count() == 3
    assert team_value(goal, org.east.pk) == 1
