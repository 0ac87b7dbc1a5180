"""Real processes for tests: Celery workers on the test database, the broker, a blocked writer.

A worker is a separate process, so tests that use one commit their data (``transactional_db``)
and run only on PostgreSQL with REDIS_URL (CI); elsewhere they skip with the reason, or fail
under REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TypeVar

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django_scopes import scope

from achievements.models import Achievement
from goals.models import Goal
from goals_project.celery import app
from goals_project.workers import database_url, worker_start, worker_stop
from tests.conftest import REQUIRE_SERVICES

T = TypeVar("T")


def skip_or_fail(problem: str) -> None:
    """Skip with the reason; under REQUIRE_SERVICES=1 (CI) a missing service fails instead."""
    if REQUIRE_SERVICES:
        pytest.fail(problem)
    pytest.skip(problem)


def require_broker() -> None:
    if not settings.REDIS_URL:
        skip_or_fail("REDIS_URL is not set: no broker for a real worker")


def require_services() -> None:
    if connection.vendor != "postgresql":
        skip_or_fail("a worker process needs a shared PostgreSQL test database (DATABASE_URL)")
    require_broker()


@pytest.fixture
def worker(settings) -> Iterator[Callable[..., subprocess.Popen]]:  # noqa: ANN001
    """Start real workers on a queue of their own, on the test database unless told another;
    stop them after."""
    require_broker()
    settings.RECOMPUTE_DEBOUNCE_SECONDS = 1
    queue = f"test-{uuid.uuid4().hex[:12]}"
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    started: list[subprocess.Popen] = []

    def start(database: str | None = None) -> subprocess.Popen:
        if database is None:
            require_services()
        env = os.environ | {"DATABASE_URL": database or database_url()}
        env |= {"RECOMPUTE_DEBOUNCE_SECONDS": "1"}
        started.append(worker_start(queue, env=env))
        return started[-1]

    try:
        yield start
    finally:
        app.conf.task_default_queue = previous_queue
        for process in started:
            worker_stop(process)


def shared_database_url() -> str:
    """The test database as a URL, for a server process to use the same one."""
    if connection.vendor == "postgresql":
        return database_url()
    return f"sqlite:///{connection.settings_dict['NAME']}"  # an absolute path: sqlite:////...


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn() -> Iterator[Callable[..., str]]:
    """Start a real gunicorn (one sync worker, as in production) on 127.0.0.1 and the test
    database, with extra environment variables; its URL. Stopped by PID after the test."""
    started: list[subprocess.Popen] = []

    def start(**env: str) -> str:
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "goals_project.wsgi"]
        command += [
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            "/dev/null",
        ]
        environ = os.environ | {"DATABASE_URL": shared_database_url()} | env
        started.append(subprocess.Popen(command, cwd=settings.BASE_DIR, env=environ))
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(port), seconds=30)
        return url

    try:
        yield start
    finally:
        for process in started:
            worker_stop(process)


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def wait_for(check: Callable[[], bool], seconds: float = 30) -> float:
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        if check():
            return time.monotonic() - began
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


def at_once(work: Callable[[], T], times: int) -> list[T | BaseException]:
    """Run ``work`` in ``times`` threads at once, each on its own database connection; what
    each returned or raised."""
    outcomes: list[T | BaseException] = []

    def run() -> None:
        try:
            outcomes.append(work())
        except BaseException as exc:  # noqa: BLE001  (returned to the caller, who asserts)
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def team_value(goal: Goal, member_id: int) -> Decimal | None:
    with scope(tenant=goal.tenant_id):
        row = Achievement.objects.filter(
            goal=goal, member_id=member_id, cycle_index=0, rule__key="dialled_calls"
        ).first()
    return row.team_value if row else None


@contextmanager
def row_locked(pk: int, tenant_id: int) -> Iterator[None]:
    """Hold a row lock on one achievement from another connection, like a slow reader would
    (in the tenant's row-level security context, where there is one)."""
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


BLOCKED_WRITERS = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
    "AND query LIKE 'INSERT INTO \"achievements_achievement\"%%'"
)


def blocked_writers() -> int:
    """Sessions waiting on a lock to write achievements: a recompute in the middle of its write."""
    with connection.cursor() as cursor:
        cursor.execute(BLOCKED_WRITERS)
        return cursor.fetchone()[0]


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point this process's Celery producer and result backend at another Redis URL (and
    back), as one Redis is both in services mode."""
    previous = app.conf.broker_url, app.conf.result_backend

    def use(broker: str, results: str | None) -> None:
        app.conf.broker_url = broker
        app.conf.result_backend = results
        app._pool = None
        app.amqp._producer_pool = None
        app._backend_cache = None
        app._local.__dict__.pop("backend", None)

    use(url, url)
    try:
        yield
    finally:
        use(*previous)
