"""Row-level security, the second wall between tenants (PostgreSQL; goals_project.rls).

These tests talk to the database in raw SQL, below the ORM's scoping, so only the policies
stand between tenant B's session and tenant A's rows. CI runs the whole suite as a role that
is neither superuser nor BYPASSRLS, so every other test runs under the policies too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from achievements.tasks import recompute_goal
from crm.models import Activity, ActivityType
from goals_project import rls
from tests.conftest import REQUIRE_SERVICES, Org, Personas, client_for

pytestmark = pytest.mark.django_db


def _session_role() -> tuple[str, bool]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolname, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = session_user"
        )
        return cursor.fetchone()


@pytest.fixture(autouse=True)
def _enforced() -> None:
    """Skip where the policies cannot be seen at work (fail instead under REQUIRE_SERVICES)."""
    if connection.vendor != "postgresql":
        pytest.skip("row-level security is PostgreSQL's; SQLite relies on the ORM's scoping")
    role, bypasses = _session_role()
    if bypasses:
        message = (
            f"the database role {role!r} bypasses row-level security: run the suite as a "
            "non-superuser role, as .ci/run does"
        )
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)


def _one(sql: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


@contextmanager
def _as_application_role() -> Iterator[None]:
    """Raw SQL as DATABASE_APP_ROLE, the role web and workers connect as in production."""
    _one("SELECT 1")  # the session takes the scope's context first
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {connection.ops.quote_name(settings.DATABASE_APP_ROLE)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


@pytest.fixture
def calls(personas: Personas) -> tuple[int, int]:
    """One call of each tenant's admin; their ids (A's, B's)."""
    ids = []
    for member in (personas.admin, personas.outsider):
        with scope(tenant=member.tenant):
            kind = ActivityType.objects.create(tenant=member.tenant, name="Call", category="call")
            activity = Activity.objects.create(
                tenant=member.tenant, external_id="same", type=kind, owner=member,
                occurred_at=timezone.now(),
            )  # fmt: skip
        ids.append(activity.pk)
    return ids[0], ids[1]


def test_every_tenant_owned_table_has_the_forced_policy() -> None:
    tables = rls.tenant_tables()
    # Found independently of the models: every table with a tenant_id column.
    with_column = _rows(
        "SELECT table_name FROM information_schema.columns WHERE column_name = 'tenant_id' "
        "AND table_schema = current_schema()",
        [],
    )
    assert sorted(name for (name,) in with_column) == tables
    assert {"crm_activity", "crm_account", "crm_spend", "hierarchy_member"} <= set(tables)
    assert "achievements_achievement" in tables
    rows = {
        name: (enabled, forced)
        for name, enabled, forced in _rows(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relname = ANY(%s) AND relkind = 'r'",
            [tables],
        )
    }
    assert rows == dict.fromkeys(tables, (True, True))
    policies = dict(
        _rows(
            "SELECT tablename, qual FROM pg_policies WHERE policyname = %s",
            [rls.POLICY],
        )
    )
    assert set(policies) == set(tables)
    assert all("current_setting('app.tenant_id'::text, true)" in qual for qual in policies.values())


def _rows(sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_the_application_role_is_neither_superuser_nor_owner(personas: Personas) -> None:
    with scope(tenant=personas.admin.tenant), _as_application_role():
        superuser, bypass = _rows(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user", []
        )[0]
        owned = _one(
            "SELECT count(*) FROM pg_class WHERE relowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
    assert (superuser, bypass, owned) == (False, False, 0)


def test_raw_sql_in_tenant_bs_context_reads_none_of_tenant_as_rows(
    personas: Personas, calls: tuple[int, int]
) -> None:
    a, b = personas.admin.tenant_id, personas.outsider.tenant_id
    with scope(tenant=personas.admin.tenant), _as_application_role():
        assert _one("SELECT count(*) FROM crm_activity WHERE tenant_id = %s", [a]) == 1
    with scope(tenant=personas.outsider.tenant), _as_application_role():
        assert _one("SELECT current_setting('app.tenant_id')") == str(b)
        assert _one("SELECT count(*) FROM crm_activity WHERE tenant_id = %s", [a]) == 0
        assert _one("SELECT count(*) FROM crm_activity WHERE id = %s", [calls[0]]) == 0
        assert _one("SELECT array_agg(DISTINCT tenant_id) FROM hierarchy_member") == [b]
        assert _one("SELECT count(*) FROM crm_activity") == 1  # B's own call


def test_raw_sql_in_tenant_bs_context_cannot_write_tenant_as_rows(
    personas: Personas, calls: tuple[int, int]
) -> None:
    a_call, b_call = calls
    a = personas.admin.tenant_id
    with scope(tenant=personas.outsider.tenant), _as_application_role():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE crm_activity SET duration_seconds = 99 WHERE id = %s", [a_call])
            assert cursor.rowcount == 0
            cursor.execute("DELETE FROM crm_activity WHERE id = %s", [a_call])
            assert cursor.rowcount == 0
        for sql in (
            # moving B's own row into tenant A
            f"UPDATE crm_activity SET tenant_id = {a} WHERE id = {b_call}",
            # a new row for tenant A
            "INSERT INTO crm_activity (tenant_id, external_id, type_id, owner_id, occurred_at, "
            "status, outcome, duration_seconds, attributes) SELECT "
            f"{a}, 'forged', type_id, owner_id, now(), status, outcome, 0, '{{}}' "
            f"FROM crm_activity WHERE id = {b_call}",
        ):
            refused = pytest.raises(DatabaseError, match="row-level security")
            with refused, transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
    with scopes_disabled():
        untouched = Activity.objects.get(pk=a_call)
        assert (untouched.tenant_id, untouched.duration_seconds) == (a, 0)
        assert not Activity.objects.filter(external_id="forged").exists()


def test_outside_any_scope_no_tenant_row_is_visible_and_the_platform_sees_all(
    personas: Personas, calls: tuple[int, int]
) -> None:
    assert _one("SELECT count(*) FROM crm_activity") == 0
    assert _one("SELECT count(*) FROM hierarchy_member") == 0
    with scopes_disabled():
        assert _one("SELECT count(*) FROM crm_activity") == 2
        assert _one("SELECT current_user") == settings.DATABASE_PLATFORM_ROLE
    assert _one("SELECT current_user") != settings.DATABASE_PLATFORM_ROLE


def _setting() -> str:
    return _one("SELECT current_setting('app.tenant_id') || ' ' || current_user")


@pytest.mark.django_db(transaction=True)  # a real rollback, not the test's savepoint
def test_a_switch_undone_by_a_rollback_is_applied_again(personas: Personas) -> None:
    """PostgreSQL undoes a SET made in a transaction that rolls back; the session must not go
    on believing it carries tenant B while PostgreSQL is back at tenant A."""
    with scope(tenant=personas.admin.tenant):
        in_a = _setting()
    with (
        pytest.raises(ZeroDivisionError),
        transaction.atomic(),
        scope(tenant=personas.outsider.tenant),
    ):
        in_b = _setting()
        1 / 0  # noqa: B018
    with scope(tenant=personas.outsider.tenant):
        assert _setting() == in_b != in_a


def test_a_switch_undone_by_a_savepoint_rollback_is_applied_again(personas: Personas) -> None:
    with scope(tenant=personas.admin.tenant):
        in_a = _setting()
        saved = transaction.savepoint()
    with scope(tenant=personas.outsider.tenant):
        in_b = _setting()
        transaction.savepoint_rollback(saved)  # PostgreSQL is back at tenant A
        assert _setting() == in_b != in_a
    with scopes_disabled():
        saved = transaction.savepoint()
        assert _setting().endswith(settings.DATABASE_PLATFORM_ROLE)
        with scope(tenant=personas.admin.tenant):
            transaction.savepoint_rollback(saved)
            assert _setting() == in_a


@contextmanager
def _contexts() -> Iterator[list[tuple[str, str]]]:
    """(app.tenant_id, current_user) of every statement that reads or writes a tenant table."""
    tables = tuple(f'"{table}"' for table in rls.tenant_tables())
    seen: list[tuple[str, str]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if any(table in sql for table in tables):
            with context["connection"].connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('app.tenant_id', true), current_user")
                seen.append(cursor.fetchone())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


def _only_tenant_or_platform(seen: list[tuple[str, str]], tenant_id: int) -> None:
    """Every statement ran in that tenant as the session's role, or as the platform."""
    assert seen, "no statement touched a tenant table"
    platform = settings.DATABASE_PLATFORM_ROLE
    assert {(setting, user) for setting, user in seen if user != platform} == {
        (str(tenant_id), _session_role()[0])
    }


def test_each_request_runs_in_its_members_tenant(org: Org) -> None:  # noqa: F811
    goal = org.goal()
    for member, path in (
        (org.rep, "/me/"),
        (org.east, "/team/"),
        (org.admin, f"/goals/{goal.pk}/"),
        (org.personas.outsider, "/me/"),
    ):
        with _contexts() as seen:
            assert client_for(member).get(path).status_code == 200
        _only_tenant_or_platform(seen, member.tenant_id)


def test_each_celery_task_runs_in_its_goals_tenant(org: Org) -> None:  # noqa: F811
    goal = org.goal()
    with _contexts() as seen:
        recompute_goal.apply(args=[goal.pk]).get()
    _only_tenant_or_platform(seen, goal.tenant_id)
    assert (
        "",
        settings.DATABASE_PLATFORM_ROLE,
    ) in seen  # the goal's tenant is looked up as the platform


def test_the_deploy_check_names_a_role_that_owns_the_tables() -> None:
    (warning,) = rls.check_application_role(databases=["default"])
    assert warning.id == "goals.W001" and "owns" in warning.msg
    assert rls.check_application_role(databases=None) == []


def test_database_roles_needs_a_superuser() -> None:
    with pytest.raises(CommandError, match="must connect as a superuser"):
        call_command("database_roles")
