"""Shared fixtures: personas of two tenants, and the services check for CI."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client
from django_scopes import scopes_disabled

from hierarchy.models import Member
from tests.factories import MemberFactory, TenantFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _services_problems() -> list[str]:
    from redis import Redis
    from redis.exceptions import RedisError

    problems = []
    if settings.DATABASES["default"]["ENGINE"] != "goals_project.postgres":
        problems.append("DATABASE_URL does not point at PostgreSQL")
    if not settings.REDIS_URL:
        problems.append("REDIS_URL is not set")
    else:
        try:
            Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
        except RedisError as exc:
            problems.append(f"Redis at REDIS_URL does not answer: {exc}")
    return problems


def pytest_sessionstart(session: pytest.Session) -> None:
    """With REQUIRE_SERVICES=1 a missing database or broker fails the run, never skips."""
    if REQUIRE_SERVICES and (problems := _services_problems()):
        pytest.exit("REQUIRE_SERVICES=1 but " + "; ".join(problems), returncode=1)


@dataclass
class Personas:
    """Tenant A: an admin (root), a manager under them, a rep under the manager.
    Tenant B: its own admin, the outsider who must never see tenant A."""

    admin: Member
    manager: Member
    rep: Member
    outsider: Member


@pytest.fixture
def personas(db: None) -> Personas:
    admin = MemberFactory(role=Member.Role.ADMIN, tenant=TenantFactory(name="Acme"))
    manager = MemberFactory(role=Member.Role.MANAGER, reports_to=admin)
    rep = MemberFactory(role=Member.Role.REP, reports_to=manager)
    outsider = MemberFactory(role=Member.Role.ADMIN, tenant=TenantFactory(name="Globex"))
    with scopes_disabled():
        for member in (admin, manager, rep):
            member.refresh_from_db()  # later inserts moved their lft/rght
    return Personas(admin=admin, manager=manager, rep=rep, outsider=outsider)


def client_for(member: Member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def celery_worker_process():
    """A real Celery worker on a queue of its own, started for the session, stopped by PID.

    Only with REDIS_URL; skipped otherwise (failed instead under REQUIRE_SERVICES=1).
    """
    import uuid

    from goals_project.celery import app
    from goals_project.workers import worker_start, worker_stop

    if not settings.REDIS_URL:
        message = "REDIS_URL is not set: no broker for a real worker"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    queue = f"test-{uuid.uuid4().hex[:12]}"
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    process = worker_start(queue, env=os.environ)
    try:
        yield process
    finally:
        app.conf.task_default_queue = previous_queue
        worker_stop(process)
