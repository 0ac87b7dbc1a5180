"""Row-level security on PostgreSQL: the database's own wall between tenants.

Every tenant-owned table (a model with a ``tenant`` foreign key to ``hierarchy.Tenant``) gets
one policy, forced on the table's owner too, that lets a session read and write only the rows
whose ``tenant_id`` is the session's ``app.tenant_id``. ``migrate`` applies it to every such
table after each run (``policies_apply``), so a new model is covered without anyone writing a
migration for it.

The setting follows django-scopes (``goals_project.postgres``), which the middleware, the API,
the Celery tasks and the services already enter:

- ``scope(tenant=X)``: ``app.tenant_id`` is X, as the connection's own role;
- ``scopes_disabled()``: the platform's cross-tenant reads (a login's member, an API token,
  beat's fan-out, the Django admin) run as ``DATABASE_PLATFORM_ROLE``, a role with BYPASSRLS;
- no scope: ``app.tenant_id`` is empty and no tenant row is visible or writable.

SQLite has none of this; the ORM's scoping (django-scopes) is then the only wall.
"""

from __future__ import annotations

from typing import Any, Final

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django_scopes import get_scope

POLICY: Final = "tenant_isolation"
SETTING: Final = "app.tenant_id"
CONDITION: Final = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::int"

PLATFORM: Final = "platform"
"""The context of ``scopes_disabled()``: every tenant, through the platform role."""

Context = int | str | None
"""A tenant's id, PLATFORM, or None: no tenant at all."""


def current_context() -> Context:
    """What the database session must carry for the code running now (see the module)."""
    state = get_scope()
    if not state.get("_enabled", True):
        return PLATFORM
    tenant = state.get("tenant")
    tenant = getattr(tenant, "pk", tenant)
    # scope(tenant=None) or a list of tenants cannot be one setting: nothing is visible then.
    return tenant if isinstance(tenant, int) else None


def tenant_tables() -> list[str]:
    """The tables of every model that belongs to one tenant, sorted."""
    tenant_model = apps.get_model("hierarchy", "Tenant")
    tables = set()
    for model in apps.get_models():
        field = next((f for f in model._meta.concrete_fields if f.name == "tenant"), None)
        if field is not None and field.related_model is tenant_model:
            tables.add(model._meta.db_table)
    return sorted(tables)


def _uncovered(cursor: Any, tables: list[str]) -> list[str]:
    """The tables among ``tables`` that exist here without the forced policy, sorted."""
    cursor.execute(
        """
        SELECT c.relname FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
        WHERE c.relkind = 'r' AND c.relname = ANY(%s)
          AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                   AND EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = n.nspname
                               AND p.tablename = c.relname AND p.policyname = %s))
        ORDER BY c.relname
        """,
        [tables, POLICY],
    )
    return [name for (name,) in cursor.fetchall()]


def policies_apply(connection: BaseDatabaseWrapper) -> list[str]:
    """Enable, force and (re)create the tenant policy on every tenant table that lacks it, and
    grant the application and platform roles (where they exist) what they need; returns the
    tables changed. Idempotent; does nothing on other databases."""
    if connection.vendor != "postgresql":
        return []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        missing = _uncovered(cursor, tenant_tables())
        for table in missing:
            cursor.execute(
                f"ALTER TABLE {quote(table)} ENABLE ROW LEVEL SECURITY;"
                f"ALTER TABLE {quote(table)} FORCE ROW LEVEL SECURITY;"
                f"DROP POLICY IF EXISTS {POLICY} ON {quote(table)};"
                f"CREATE POLICY {POLICY} ON {quote(table)} "
                f"USING ({CONDITION}) WITH CHECK ({CONDITION})"
            )
        roles = [settings.DATABASE_APP_ROLE, settings.DATABASE_PLATFORM_ROLE]
        cursor.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [roles])
        for (role,) in cursor.fetchall():
            cursor.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                f"TO {quote(role)}; GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public "
                f"TO {quote(role)}"
            )
    return missing


def apply_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: every app's tables exist by then; run once a migrate (for the
    app that defines tenants: apps without models get no post_migrate)."""
    if sender.name == "hierarchy":
        policies_apply(connections[using])


@checks.register(checks.Tags.database, deploy=True)
def check_application_role(databases: list[str] | None = None, **kwargs: Any) -> list[Any]:
    """``check --deploy --database default``: the web and worker role must not escape RLS."""
    problems: list[Any] = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT r.rolname, r.rolsuper, r.rolbypassrls,
                       array(SELECT c.relname FROM pg_class c
                             WHERE c.relowner = r.oid AND c.relname = ANY(%s))
                FROM pg_roles r WHERE r.rolname = session_user
                """,
                [tenant_tables()],
            )
            role, superuser, bypass, owned = cursor.fetchone()
        reasons = [
            *(["is a superuser"] if superuser else []),
            *(["has BYPASSRLS"] if bypass else []),
            *([f"owns {', '.join(sorted(owned))}"] if owned else []),
        ]
        if reasons:
            problems.append(
                checks.Warning(
                    f"The database role {role!r} {' and '.join(reasons)}.",
                    hint="Run web, workers and beat as the application role "
                    f"({settings.DATABASE_APP_ROLE!r}, made by `manage.py database_roles`), "
                    "and migrate as the owner.",
                    id="goals.W001",
                )
            )
    return problems
