"""The PostgreSQL write of an ingested batch: COPY into a temporary table, then one statement.

Per batch, the validated rows are copied (``COPY ... FROM STDIN``, text format) into a
temporary table shaped like the entity's table, and a single ``INSERT ... SELECT ... ON
CONFLICT (tenant_id, external_id) DO UPDATE`` locks the stored versions, fills in the stamped
moments from them, skips the rows that would not change, writes the others and returns, for
each written row, what its old and new versions mean to the recompute. Python never builds a
model instance nor quotes a value: that was most of a large import's time.

The temporary table lives until the end of the transaction (``ON COMMIT DROP``) and is emptied
before each batch, so the batches of one import share it. It has no row security of its own:
the statement reads and writes the entity's table for one tenant, inside that tenant's scope,
like every other query of the ingestion.

Each copied row carries the tenant's id, and the stored rows are matched column to column
(``t.tenant_id = i.tenant_id``), never to a constant: for a constant PostgreSQL reads the
tenant's share of the table from its statistics, which know nothing yet of a tenant being
imported ("one row"), and then scans all of that tenant's rows through the tenant index in
every batch, longer each time. Compared to a column, it probes the unique (tenant_id,
external_id) index once per row.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from django.db import OperationalError, connection, models, transaction

NULL = r"\N"


class Written(NamedTuple):
    """A row that the batch created or changed: its new version and, if stored, its old one."""

    pk: int
    created: bool
    owner_id: int | None
    moments: tuple[datetime | None, ...]  # the model's DATE_FIELDS
    old_owner_id: int | None
    old_moments: tuple[datetime | None, ...]
    # Opportunities (``stage_moves``) only:
    from_stage_id: int | None = None
    to_stage_id: int | None = None
    stage_changed_at: datetime | None = None
    created_at: datetime | None = None


def _escaped(text: str) -> str:
    """``text`` as a COPY text-format field: only these four characters need a backslash."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        text = text.replace("\r", "\\r")
    return text


def _plain(value: object) -> str:
    return NULL if value is None else str(value)


def _moment(value: datetime | None) -> str:
    return NULL if value is None else value.isoformat()


def _json(value: object) -> str:
    if value == {}:  # most rows: no custom field values
        return "{}"
    return _escaped(json.dumps(value))


def _text(value: str | None) -> str:
    return NULL if value is None else _escaped(value)


def copy_formatter(field: models.Field) -> Callable[[Any], str]:
    """How a value of ``field`` (as the ingestion holds it) is written in a COPY row."""
    if isinstance(field, models.JSONField):
        return _json
    if isinstance(field, models.DateTimeField):
        return _moment
    if isinstance(field, models.CharField | models.TextField):
        return _text
    return _plain  # numbers and foreign keys


@contextmanager
def foreign_keys_checked_per_statement() -> Iterator[None]:
    """Within a long import on PostgreSQL, check foreign keys as each statement writes, not
    all at commit (Django declares them DEFERRABLE INITIALLY DEFERRED).

    Deferred, a million rows leave millions of checks queued in the session until commit,
    and every TRUNCATE of the temporary table scans that queue, a little longer each batch.
    Deferred checking is restored at the end; on an error the transaction (or its savepoint,
    which restores the setting too) is rolled back instead."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


class _Statements(NamedTuple):
    prepare: str  # creates the temporary table once per transaction, empties it
    copy: str
    upsert: str


@cache
def _statements(
    model: type[models.Model],
    columns: tuple[str, ...],
    stamps: tuple[tuple[str, tuple[str, ...] | None], ...],
    stage_moves: bool,
) -> _Statements:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    temporary = f"pg_temp.{quote(model._meta.db_table + '_import')}"
    names = [quote(column) for column in columns]
    listed = ", ".join(names)
    # An opportunity's row also carries when it entered its stage, which no column stores.
    moved = moved_as = moved_in = ""
    if stage_moves:
        moved = ", stage_changed_at"
        moved_as = ", NULL::timestamptz AS stage_changed_at"
        moved_in = ", i.stage_changed_at"
    prepare = (
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {temporary} ON COMMIT DROP AS "
        f"SELECT tenant_id, external_id, {listed}{moved_as} FROM {table} WITH NO DATA; "
        f"TRUNCATE {temporary}"
    )
    copy = f"COPY {temporary} (tenant_id, external_id, {listed}{moved}) FROM STDIN"

    marks = dict(stamps)
    incoming = []
    for column, name in zip(columns, names, strict=True):
        if column not in marks:
            incoming.append(f"i.{name}")
        elif marks[column] is None:  # stamped whatever the status: created_at
            incoming.append(f"COALESCE(i.{name}, o.{name}, %(now)s) AS {name}")
        else:  # stamped when the status marks it: closed_at of a won or lost deal
            incoming.append(
                f"COALESCE(i.{name}, CASE WHEN i.status = ANY(%(marks_{column})s) "
                f"THEN COALESCE(o.{name}, %(now)s) END) AS {name}"
            )
    moments = [model._meta.get_field(name).column for name in model.DATE_FIELDS]
    # A record of a model not ``OWNED`` (an account, a spend) is credited to nobody.
    owner = ("w.owner_id", "o.owner_id") if model.OWNED else ("NULL", "NULL")
    returned = ["id", "external_id", *(["owner_id"] if model.OWNED else []), *moments]
    # Whether another transaction created the row after ``old`` was read (it committed while
    # this insert waited on it), then what Written holds, in its order.
    result = ["o.id IS NULL AND NOT w.inserted", "w.id", "o.id IS NULL", *owner]
    result += [f"w.{m}" for m in moments] + [f"o.{m}" for m in moments]
    joins = ""
    if stage_moves:
        returned += [column for column in ("stage_id", "created_at") if column not in returned]
        result += ["o.stage_id", "w.stage_id", "n.stage_changed_at", "w.created_at"]
        joins = "JOIN incoming n ON n.external_id = w.external_id"
    upsert = f"""
        WITH old AS (
            SELECT t.id, t.external_id, {", ".join(f"t.{n}" for n in names)}
            FROM {temporary} i JOIN {table} t
                ON t.tenant_id = i.tenant_id AND t.external_id = i.external_id
            FOR UPDATE OF t
        ), incoming AS (
            SELECT i.tenant_id, i.external_id, {", ".join(incoming)}{moved_in}
            FROM {temporary} i LEFT JOIN old o ON o.external_id = i.external_id
        ), written AS (
            INSERT INTO {table} (tenant_id, external_id, {listed})
            SELECT n.tenant_id, n.external_id, {", ".join(f"n.{n}" for n in names)}
            FROM incoming n LEFT JOIN old o ON o.external_id = n.external_id
            WHERE o.id IS NULL
                OR ROW({", ".join(f"n.{n}" for n in names)})
                    IS DISTINCT FROM ROW({", ".join(f"o.{n}" for n in names)})
            ON CONFLICT (tenant_id, external_id) DO UPDATE
            SET {", ".join(f"{n} = EXCLUDED.{n}" for n in names)}
            RETURNING {", ".join(quote(column) for column in returned)}, xmax = 0 AS inserted
        )
        SELECT {", ".join(result)}
        FROM written w LEFT JOIN old o ON o.external_id = w.external_id {joins}
    """
    return _Statements(prepare, copy, upsert)


RACES = 5
"""Attempts of one batch's upsert while writers of the same new records keep racing it."""


def upsert_by_copy(
    *,
    model: type[models.Model],
    tenant_id: int,
    columns: Sequence[str],
    rows: Iterable[str],
    stamps: Mapping[str, Sequence[str] | None],
    stage_moves: bool,
    now: datetime,
) -> list[Written]:
    """Create or update ``rows`` of ``model`` for one tenant by external_id; return the rows
    written (an unchanged row is not written, so not returned).

    ``rows`` are COPY text-format lines (``copy_formatter``, tab-separated, newline-ended) of
    external_id, then ``columns`` (column names), then, with ``stage_moves``, the moment the
    opportunity entered its stage. A NULL in a column named in ``stamps`` is stamped: with the
    stored value, else ``now``; when ``stamps`` names statuses, only for those statuses.
    ``model`` declares what each row returns for the recompute: the moments of its
    ``DATE_FIELDS`` and, when it is ``OWNED``, its owner.
    """
    marks = tuple(sorted((column, None if s is None else tuple(s)) for column, s in stamps.items()))
    statements = _statements(model, tuple(columns), marks, stage_moves)
    params: dict[str, object] = {"now": now}
    params |= {f"marks_{column}": list(statuses) for column, statuses in marks if statuses}
    with connection.cursor() as cursor:
        cursor.execute(statements.prepare)
        tenant = f"{tenant_id}\t"
        cursor.copy_expert(statements.copy, io.StringIO("".join(tenant + row for row in rows)))
        for _ in range(RACES):
            # A batch racing one with the same new records finds them created when it comes to
            # insert: its stamps and "created" would be wrong. Again, now seeing them stored.
            with transaction.atomic():
                cursor.execute(statements.upsert, params)
                written = cursor.fetchall()
                raced = any(row[0] for row in written)
                transaction.set_rollback(raced)
            if not raced:
                break
        else:
            raise OperationalError(f"{model._meta.verbose_name_plural}: {RACES} racing writers")
    k = len(model.DATE_FIELDS)
    return [
        Written(
            pk, created, owner, tuple(rest[:k]), old_owner, tuple(rest[k : 2 * k]), *rest[2 * k :]
        )
        for _raced, pk, created, owner, old_owner, *rest in written
    ]
