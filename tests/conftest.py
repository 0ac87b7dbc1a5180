"""Shared fixtures: personas of two tenants, tenant A's CRM set-up and sales organization,
the embedded mode's in-process tasks, and the services check for CI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from crm.ingest import records_upsert
from crm.models import ActivityType, CustomField, PipelineStage
from goals.models import Goal, tenant_today
from goals.services import GoalDraft, TargetInput, goal_save
from hierarchy.models import Member, SalesRole, Tenant
from rulesets.models import Ruleset
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save
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


# --- tenant A's CRM set-up ------------------------------------------------------------------


@dataclass
class Crm:
    """Tenant A (Europe/Berlin, USD) with activity types, a pipeline and custom fields."""

    personas: Personas
    tenant: Tenant
    stages: dict[str, PipelineStage]

    @property
    def rep_email(self) -> str:
        return self.personas.rep.email

    def lead(self, **fields: Any) -> dict[str, Any]:
        return {
            "external_id": "L-1",
            "owner_email": self.rep_email,
            "name": "Ada Lovelace",
        } | fields

    def activity(self, **fields: Any) -> dict[str, Any]:
        base = {"external_id": "A-1", "owner_email": self.rep_email, "type": "Call"}
        return base | {"occurred_at": "2025-03-03T10:00:00"} | fields

    def opportunity(self, **fields: Any) -> dict[str, Any]:
        base = {"external_id": "O-1", "owner_email": self.rep_email, "name": "Big deal"}
        return base | {"stage": "Prospect", "value": "1000"} | fields

    def task(self, **fields: Any) -> dict[str, Any]:
        """A task of the type "To-do", which the caller declares (category task) first."""
        base = {"external_id": "T-1", "owner_email": self.rep_email, "type": "To-do"}
        return base | {"subject": "Send the quote", "due_at": "2025-03-03T17:00:00"} | fields


@pytest.fixture
def crm(personas: Personas) -> Crm:
    tenant = personas.admin.tenant
    with scope(tenant=tenant):
        for name, category in (("Call", "call"), ("Email", "email"), ("Demo", "demo")):
            ActivityType.objects.create(tenant=tenant, name=name, category=category)
        stages = {
            name: PipelineStage.objects.create(tenant=tenant, name=name, position=position)
            for position, name in enumerate(("Prospect", "Proposal", "Negotiation"))
        }
        for entity, name, kind, choices in (
            ("lead", "budget", "money", []),
            ("lead", "employees", "number", []),
            ("lead", "vip", "boolean", []),
            ("lead", "renewal", "date", []),
            ("lead", "tier", "choice", ["Gold", "Silver"]),
            ("lead", "notes", "text", []),
            ("activity", "campaign", "text", []),
        ):
            CustomField.objects.create(
                tenant=tenant, entity=entity, name=name, type=kind, choices=choices
            )
    # Tenant B has names of its own that tenant A must never resolve, and a Call too.
    other = personas.outsider.tenant
    with scope(tenant=other):
        for name in ("Call", "Carrier pigeon"):
            ActivityType.objects.create(tenant=other, name=name, category="other")
        PipelineStage.objects.create(tenant=other, name="Closing", position=0)
    return Crm(personas=personas, tenant=tenant, stages=stages)


# --- tenant A as a sales organization with a ruleset ----------------------------------------


@dataclass
class Org:
    personas: Personas
    ruleset: Ruleset
    east: Member
    west: Member
    rep: Member
    rep2: Member
    sdr: Member
    sdr_role: SalesRole

    @property
    def admin(self) -> Member:
        return self.personas.admin

    @property
    def today(self) -> date:
        return tenant_today(self.admin.tenant)

    def draft(self, **changes: Any) -> GoalDraft:
        """A monthly goal for east's team from today to the end of next month."""
        today = self.today
        end = (today.replace(day=1) + timedelta(days=62)).replace(day=1) - timedelta(days=1)
        fields: dict[str, Any] = {
            "name": "East calls",
            "ruleset": self.ruleset,
            "team": self.east,
            "cycle": "monthly",
            "start": today,
            "end": end,
            "targets": {"dialled_calls": TargetInput(Decimal(100))},
        }
        return GoalDraft(**(fields | changes))

    def goal(self, actor: Member | None = None, **changes: Any) -> Goal:
        return goal_save(draft=self.draft(**changes), actor=actor or self.east)

    def call(
        self, n: int, *, at: datetime | str | None = None, owner: Member | None = None
    ) -> dict:
        """The n-th completed call of ``owner`` (the rep) as the CRM API takes it, made ``at``
        (by default n + 1 minutes ago)."""
        email = (owner or self.rep).email
        moment = at or timezone.now() - timedelta(minutes=n + 1)
        return {"external_id": f"call-{email}-{n}", "owner_email": email, "type": "Call",
                "occurred_at": moment if isinstance(moment, str) else moment.isoformat(),
                "status": "completed"}  # fmt: skip

    def calls(self, *moments: str, owner: Member | None = None) -> None:
        """Store a completed call of ``owner`` (the rep) at each moment."""
        self.log(*(self.call(n, at=moment, owner=owner) for n, moment in enumerate(moments)))

    def log(self, *records: dict[str, Any], entity: str = "activity") -> None:
        """Store CRM records of tenant A, as the API would."""
        records_upsert(tenant=self.admin.tenant, entity=entity, records=list(records))


def refreshed(*members: Member) -> None:
    with scopes_disabled():
        for member in members:
            member.refresh_from_db()


@pytest.fixture
def org(crm: Crm) -> Org:
    personas = crm.personas
    tenant = personas.admin.tenant
    rules = (
        preset_rules("dialled_calls")
        + preset_rules("won_value", currency="USD")
        + preset_rules("conversion_rate")
    )
    ruleset = ruleset_save(tenant=tenant, name="Sales basics", rules=rules)
    east = personas.manager
    rep2 = MemberFactory(reports_to=east, name="Rita Rep")
    west = MemberFactory(reports_to=personas.admin, role=Member.Role.MANAGER, name="West")
    with scope(tenant=tenant):
        sdr_role = SalesRole.objects.create(tenant=tenant, name="SDR")
    sdr = MemberFactory(reports_to=west, title="SDR", name="Sam SDR", sales_role=sdr_role)
    refreshed(personas.admin, east, personas.rep, rep2, west, sdr)
    return Org(personas, ruleset, east, west, personas.rep, rep2, sdr, sdr_role)


@pytest.fixture
def at_noon() -> Iterator[datetime]:
    """Today at noon in tenant A's time zone, the clock ticking on from there: records made
    minutes before "now" fall in today's daily cycle whenever the suite runs."""
    zone = ZoneInfo(TenantFactory.time_zone)
    noon = datetime.combine(datetime.now(zone).date(), time(12), zone)
    with time_machine.travel(noon, tick=True):
        yield noon


@pytest.fixture
def mid_month() -> Iterator[datetime]:
    """The 10th of this month at noon in tenant A's time zone, the clock ticking on from there:
    a monthly goal starting today has three weeks left of its first cycle (its targets
    prorated to whole units), and last month ended more than a day ago, whenever the suite
    runs. Ask for it before ``org`` (``usefixtures``) so the org is made on that day too."""
    zone = ZoneInfo(TenantFactory.time_zone)
    tenth = datetime.now(zone).date().replace(day=10)
    with time_machine.travel(datetime.combine(tenth, time(12), zone), tick=True):
        yield tenth


@pytest.fixture
def eager(settings) -> Iterator[None]:  # noqa: ANN001
    """Tasks run in-process, as in the embedded mode, even where REDIS_URL is set (CI)."""
    from goals_project.celery import app

    previous = app.conf.task_always_eager  # read first: reading configures the app
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous
