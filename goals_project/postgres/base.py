"""Django's PostgreSQL backend, with each session's row-level security context kept in step
with the code that runs (``goals_project.rls``).

Before a statement runs, the connection compares the context the code is in (the django-scopes
scope) with the one its session carries and, when they differ, switches the session in one
round trip: ``app.tenant_id`` and the role (the platform role for ``scopes_disabled()``). The
session's context is forgotten whenever PostgreSQL may have undone it: a new connection, a
rollback (``SET`` inside a transaction is undone with it), a rollback to a savepoint.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base
from psycopg2 import errors

from goals_project import rls

_UNKNOWN = object()
_TENANT = "RESET ROLE; SELECT set_config('app.tenant_id', %s, false)"


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rls_session: object = _UNKNOWN
        self._rls_bypasses: bool | None = None  # a superuser or BYPASSRLS role: not bound
        self.execute_wrappers.append(self._in_context)

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        self._rls_session = _UNKNOWN
        self._rls_bypasses = None
        return connection

    def create_cursor(self, name: str | None = None) -> Any:
        # Also here, for what bypasses execute(): COPY, callproc.
        self._rls_sync()
        return super().create_cursor(name)

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._rls_session = _UNKNOWN

    def _savepoint_rollback(self, sid: str) -> None:
        try:
            super()._savepoint_rollback(sid)  # its statement syncs the session first...
        finally:
            self._rls_session = _UNKNOWN  # ...and then undoes what came after the savepoint

    def _in_context(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self._rls_sync()
        return execute(sql, params, many, context)

    def _rls_sync(self) -> None:
        wanted = rls.current_context()
        if (
            wanted == self._rls_session
            or self._rls_bypasses  # no policy binds this role: nothing to keep in step
            or self.connection is None
            or self.needs_rollback  # the statement itself raises Django's error
        ):
            return
        try:
            with self.connection.cursor() as cursor:
                if self._rls_bypasses is None:
                    cursor.execute(
                        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = session_user"
                    )
                    self._rls_bypasses = bool(cursor.fetchone()[0])
                    if self._rls_bypasses:
                        return
                cursor.execute(*self._rls_statement(wanted))
        except errors.InFailedSqlTransaction:
            return  # the statement about to run reports the failed transaction
        except (errors.UndefinedObject, errors.InsufficientPrivilege) as exc:
            raise ImproperlyConfigured(
                f"Cannot switch to the platform role {settings.DATABASE_PLATFORM_ROLE!r} for "
                f"scopes_disabled(): {exc}".strip()
                + " Create it with `manage.py database_roles` (DATABASE_PLATFORM_ROLE)."
            ) from exc
        self._rls_session = wanted

    def _rls_statement(self, wanted: rls.Context) -> tuple[str, list[str]]:
        if wanted == rls.PLATFORM:
            role = self.ops.quote_name(settings.DATABASE_PLATFORM_ROLE)
            return f"SET ROLE {role}; SELECT set_config('app.tenant_id', '', false)", []
        return _TENANT, ["" if wanted is None else str(wanted)]
