"""Ingestion of CRM records: the one path by which the API and the CSV import write entities.

A record is a plain dict as JSON or CSV delivers it (see each model's ``RECORD_FIELDS``):
members by ``owner_email``, activity types and stages by name, leads and opportunities by
``external_id``, custom fields by their declared name in ``attributes``. Every record of a
batch is validated first and every problem collected with the record's position; writes are
upserts by (tenant, external_id), set-based, with one query per lookup per batch whatever its
size. Delivering the same batch again changes nothing.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from operator import attrgetter
from typing import Any, TextIO

from django.core.exceptions import ValidationError
from django.core.validators import (
    DecimalValidator,
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
)
from django.db import connection, models, reset_queries, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django_scopes import scope

from core.copy_upsert import (
    Written,
    copy_formatter,
    foreign_keys_checked_per_statement,
    upsert_by_copy,
)
from core.dates import date_range_problem
from core.limits import MAX_RECORDS
from core.numbers import EXAMPLE, number_parse
from core.problems import Problem
from hierarchy.models import Member, Tenant
from hierarchy.services import normalize_email

from . import signals
from .models import (
    ENTITY_MODELS,
    Account,
    ActivityType,
    CustomField,
    Entity,
    Lead,
    Opportunity,
    PipelineStage,
    StageChange,
    Task,
)
from .timeparse import DURATION_FORMATS, parse_duration, parse_timestamp

logger = logging.getLogger(__name__)

BATCH_SIZE = MAX_RECORDS  # records per CSV batch: what one API request may send

REQUIRED: dict[str, frozenset[str]] = {
    Entity.LEAD: frozenset({"external_id", "owner_email", "name"}),
    Entity.ACTIVITY: frozenset({"external_id", "owner_email", "type", "occurred_at"}),
    Entity.OPPORTUNITY: frozenset({"external_id", "owner_email", "name", "stage"}),
    Entity.ACCOUNT: frozenset({"external_id", "name"}),
    Entity.SPEND: frozenset({"external_id", "date", "channel", "amount"}),
    Entity.TASK: frozenset({"external_id", "owner_email", "type", "subject", "due_at"}),
}

# A status that marks a moment stamps it when the record does not say when: the stored moment
# if the record already had it, else the time of ingestion, so a resend keeps the first stamp.
STATUS_STAMPS: dict[str, dict[str, str]] = {
    Entity.LEAD: {
        Lead.Status.CONVERTED: "converted_at",
        Lead.Status.DISQUALIFIED: "disqualified_at",
    },
    Entity.OPPORTUNITY: {Opportunity.Status.WON: "closed_at", Opportunity.Status.LOST: "closed_at"},
    Entity.TASK: {Task.Status.COMPLETED: "completed_at"},
}

# How CRM exports write yes and no, read trimmed and in any case; anything else is refused.
BOOLEANS = {
    **dict.fromkeys(("yes", "y", "true", "1"), True),
    **dict.fromkeys(("no", "n", "false", "0"), False),
}
BOOLEAN_FORMATS = "yes/no, y/n, true/false or 1/0"


class RecordsInvalid(Exception):
    """Nothing was written: these problems, each with its record's position, stand in the way."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Problem] = field(default_factory=list)  # partial mode only

    def add(self, other: UpsertResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected


class _Bad(Exception):
    """One value's problem, in a message that names the field."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 42 else text[:40] + "…"


def _text(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Bad(f"{name} {_shown(value)} is not text")
    if isinstance(value, str) and "\x00" in value:
        raise _Bad(f"{name} contains a NUL character, which cannot be stored")
    return str(value).strip()


def _decimal(name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _Bad(f"{name} {_shown(value)} is not a number")
    number = number_parse(value)
    if number is None:
        raise _Bad(f"{name} {_shown(value)} is not a number ({EXAMPLE})")
    return number


def _whole_number(name: str, value: object) -> int:
    number = _decimal(name, value)
    if number != number.to_integral_value():
        raise _Bad(f"{name} {_shown(value)} is not a whole number")
    return int(number)


def _duration(name: str, value: object) -> int:
    """Whole seconds, or a clock duration (``hh:mm:ss``, ``mm:ss``) as CRM exports write it."""
    if isinstance(value, str) and ":" in value:
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise _Bad(f"{name} {exc}") from None
    try:
        return _whole_number(name, value)
    except _Bad:
        raise _Bad(f"{name} {_shown(value)} is not a duration: use {DURATION_FORMATS}") from None


def _boolean(name: str, value: object) -> bool:
    flag = value if isinstance(value, bool) else BOOLEANS.get(str(value).strip().lower())
    if flag is None:
        raise _Bad(f"{name} {_shown(value)} is not yes or no: use {BOOLEAN_FORMATS}")
    return flag


def _date(name: str, value: object) -> date:
    text = _text(name, value)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise _Bad(f"{name} {_shown(value)} is not a date (YYYY-MM-DD)") from None
    if problem := date_range_problem(day):
        raise _Bad(f"{name} {problem}")
    return day


def _timestamp(name: str, value: object, *, time_zone: str) -> datetime:
    if not isinstance(value, str):
        raise _Bad(f"{name} {_shown(value)} is not an ISO 8601 timestamp")
    try:
        return parse_timestamp(value, time_zone)
    except ValueError as exc:
        raise _Bad(f"{name} {exc}") from None


def _validated(
    name: str, raw: object, value: object, validators: Iterable[Callable[[Any], None]]
) -> None:
    """Run a model field's validators; the message shows the value as it was sent."""
    try:
        for validator in validators:
            validator(value)
    except ValidationError as exc:
        raise _Bad(f"{name} {_shown(raw)} is not valid: {' '.join(exc.messages)}") from None


def _field_reader(name: str, model_field: models.Field, time_zone: str) -> Callable[[Any], Any]:
    """How a record value for a model field of the same name is read and checked by the
    field's validators, worked out once per batch: this runs for every value of an import."""
    if isinstance(model_field, models.DateTimeField):
        return partial(_timestamp, name, time_zone=time_zone)
    if isinstance(model_field, models.DateField):
        return partial(_date, name)
    parse: Callable[[Any], Any]
    if name == "duration_seconds":
        parse = partial(_duration, name)
    elif isinstance(model_field, models.DecimalField):
        parse = partial(_decimal, name)
    elif isinstance(model_field, models.PositiveIntegerField):
        parse = partial(_whole_number, name)
    elif model_field.choices:
        allowed = [choice for choice, _ in model_field.choices]
        known, listed = frozenset(allowed), ", ".join(allowed)

        def parse(raw: Any) -> str:
            value = _text(name, raw).lower()
            if value not in known:
                raise _Bad(f"{name} {_shown(raw)} is not one of {listed}")
            return value

    elif name == "currency":

        def parse(raw: Any) -> str:
            return _text(name, raw).upper()

    else:
        parse = partial(_text, name)
    validators = model_field.validators
    passes = _passes(validators)

    def read(raw: Any) -> Any:
        value = parse(raw)
        if not passes(value):  # the validators tell why
            _validated(name, raw, value, validators)
        return value

    return read


def _passes(validators: Sequence[Callable[[Any], None]]) -> Callable[[Any], bool]:
    """A quick test that a value passes these validators, for the common ones (lengths and
    bounds): calling them costs more than the rest of reading a value. A value that fails the
    test, or any value when a validator is of another kind, goes through them all."""
    tests = [_quick_test(validator) for validator in validators]
    if any(test is None for test in tests):
        return lambda value: False
    if len(tests) == 1:
        return tests[0]  # type: ignore[return-value]
    return lambda value: all(test(value) for test in tests)  # type: ignore[misc]


def _quick_test(validator: Callable[[Any], None]) -> Callable[[Any], bool] | None:
    limit = getattr(validator, "limit_value", None)
    if callable(limit):
        return None
    if type(validator) is MaxLengthValidator:
        return lambda value: len(value) <= limit
    if type(validator) is MinValueValidator:
        return lambda value: value >= limit
    if type(validator) is MaxValueValidator:
        return lambda value: value <= limit
    return None


def _custom_value(declared: CustomField, raw: object) -> object:
    """A custom field's value as stored in ``attributes`` (JSON: money as an exact string)."""
    name, kind = declared.name, CustomField.Type(declared.type)
    if kind is CustomField.Type.NUMBER:
        number = _decimal(name, raw)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind is CustomField.Type.MONEY:
        number = _decimal(name, raw)
        value = Opportunity._meta.get_field("value")  # money has the shape of a deal's value
        _validated(name, raw, number, [DecimalValidator(value.max_digits, value.decimal_places)])
        return str(number.quantize(Decimal("0.01")))
    if kind is CustomField.Type.BOOLEAN:
        return _boolean(name, raw)
    if kind is CustomField.Type.DATE:
        return _date(name, raw).isoformat()
    text = _text(name, raw)
    if kind is CustomField.Type.CHOICE:
        by_key = {choice.lower(): choice for choice in declared.choices}
        if text.lower() not in by_key:
            raise _Bad(f"{name} {_shown(raw)} is not one of {', '.join(declared.choices)}")
        return by_key[text.lower()]
    return text


@dataclass(frozen=True)
class _Reference:
    """A record field that names another row by what the sender knows about it."""

    attname: str
    missing: str  # completes "<field> <value> ..." when nothing matches
    key: Callable[[str], str]  # how a value matches: emails and names ignore case
    rows: Callable[[set[str]], Iterable[tuple[str, int]]]  # (key, pk) rows for those keys
    lists_known: bool = False  # a tenant's types and stages are few: name them in the message
    declared: str = ""  # where an admin declares a missing one


REFERENCES: dict[str, _Reference] = {
    "owner_email": _Reference(
        "owner_id",
        "is not the email of a member of this organization",
        normalize_email,
        lambda keys: Member.objects.filter(user__email__in=keys).values_list("user__email", "pk"),
    ),
    # Types and stages are read whole: they are few, and a miss lists what exists.
    "type": _Reference(
        "type_id",
        "is not an activity type of this organization",
        str.lower,
        lambda keys: ActivityType.objects.values_list("name", "pk"),
        lists_known=True,
        declared="Settings → Activity types, manage.py declare_settings or "
        "POST /api/v1/settings/activity-types",
    ),
    "stage": _Reference(
        "stage_id",
        "is not a pipeline stage of this organization",
        str.lower,
        lambda keys: PipelineStage.objects.values_list("name", "pk"),
        lists_known=True,
        declared="Settings → Pipeline stages, manage.py declare_settings or "
        "PUT /api/v1/settings/stages",
    ),
    "lead_external_id": _Reference(
        "lead_id",
        "is not the external_id of a lead of this organization",
        str,
        lambda keys: Lead.objects.filter(external_id__in=keys).values_list("external_id", "pk"),
    ),
    "opportunity_external_id": _Reference(
        "opportunity_id",
        "is not the external_id of an opportunity of this organization",
        str,
        lambda keys: Opportunity.objects.filter(external_id__in=keys).values_list(
            "external_id", "pk"
        ),
    ),
    "account_external_id": _Reference(
        "account_id",
        "is not the external_id of an account of this organization",
        str,
        lambda keys: Account.objects.filter(external_id__in=keys).values_list("external_id", "pk"),
    ),
}
REFERENCES["team_email"] = replace(REFERENCES["owner_email"], attname="team_id")  # a spend's


# A task's type is an activity type of a task category: another one is refused, by name.
_TASK_CATEGORY_NAMES = " or ".join(
    str(ActivityType.Category(category).label).lower() for category in Task.TYPE_CATEGORIES
)
ENTITY_REFERENCES: dict[str, dict[str, _Reference]] = {
    Entity.TASK: {
        "type": _Reference(
            "type_id",
            f"is not an activity type of this organization in the category {_TASK_CATEGORY_NAMES}",
            str.lower,
            lambda keys: ActivityType.objects.filter(category__in=Task.TYPE_CATEGORIES).values_list(
                "name", "pk"
            ),
            lists_known=True,
            declared=REFERENCES["type"].declared,
        )
    }
}


def _references(entity: str) -> dict[str, _Reference]:
    """How the record fields of ``entity`` that name other rows are matched."""
    return REFERENCES | ENTITY_REFERENCES.get(entity, {})


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class _Record:
    __slots__ = ("position", "values", "references", "errors")  # one per row of an import

    def __init__(self, position: int) -> None:
        self.position = position
        self.values: dict[str, Any] = {}  # model attnames, stage_changed_at
        self.references: dict[str, str] = {}  # record field -> text sent
        self.errors: list[tuple[str | None, str]] = []


class _Parser:
    """Checks records of one entity on their own, each field's reading worked out once; their
    references are resolved later for the whole batch (``_resolve``)."""

    def __init__(self, entity: str, custom: dict[str, CustomField], time_zone: str) -> None:
        model = ENTITY_MODELS[entity]
        self.entity, self.custom = entity, custom
        self.known = frozenset((*model.RECORD_FIELDS, "attributes"))
        self.references = _references(entity)
        self.required = sorted(REQUIRED[entity])
        # (record field, model attname or None for a reference, reader)
        self.fields: list[tuple[str, str | None, Callable[[Any], Any]]] = []
        for name in model.RECORD_FIELDS:
            if name in self.references:
                self.fields.append((name, None, partial(_text, name)))
            elif name == "stage_changed_at":
                self.fields.append((name, name, partial(_timestamp, name, time_zone=time_zone)))
            else:
                model_field = model._meta.get_field(name)
                reader = _field_reader(name, model_field, time_zone)
                self.fields.append((name, model_field.attname, reader))

    def parse(self, position: int, raw: Mapping[str, Any]) -> _Record:
        record = _Record(position)
        errors, values, references = record.errors, record.values, record.references
        if not self.known.issuperset(raw):
            for name in raw:
                if name not in self.known:
                    errors.append((name, f"{name!r} is not a field of {self.entity} records"))
        for name in self.required:
            if _blank(raw.get(name)):
                errors.append((name, f"{name} is required"))
        for name, attname, read in self.fields:
            value = raw.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):  # _blank, inline
                continue
            try:
                if attname is None:
                    references[name] = read(value)
                else:
                    values[attname] = read(value)
            except _Bad as exc:
                errors.append((name, str(exc)))
        values["attributes"] = _parse_attributes(
            self.entity, raw.get("attributes"), self.custom, record
        )
        return record


def _parse_attributes(
    entity: str, raw: object, custom: dict[str, CustomField], record: _Record
) -> dict[str, object]:
    if _blank(raw):
        return {}
    if not isinstance(raw, Mapping):
        record.errors.append(("attributes", "attributes must be an object of custom field values"))
        return {}
    attributes: dict[str, object] = {}
    for name, value in raw.items():
        declared = custom.get(name)
        if declared is None:
            known = ", ".join(sorted(custom)) or "none"
            message = f"{name!r} is not a custom field of {entity} records (declared: {known})"
            record.errors.append((f"attributes.{name}", message))
        elif not _blank(value):
            try:
                attributes[name] = _custom_value(declared, value)
            except _Bad as exc:
                record.errors.append((f"attributes.{name}", str(exc)))
    return attributes


def _resolve(records: list[_Record], references: Mapping[str, _Reference]) -> None:
    """Turn every reference of the batch into a row id, with one query per kind of reference.

    Each text sent is matched once, however many records send it (an import's owners)."""
    senders: dict[str, dict[str, list[_Record]]] = {name: {} for name in references}
    for record in records:
        for name, text in record.references.items():
            senders[name].setdefault(text, []).append(record)
    for name, by_text in senders.items():
        if not by_text:
            continue
        reference = references[name]
        rows = list(reference.rows({reference.key(text) for text in by_text}))
        found = {reference.key(key): pk for key, pk in rows}
        for text, sent in by_text.items():
            if (pk := found.get(reference.key(text))) is not None:
                for record in sent:
                    record.values[reference.attname] = pk
                continue
            message = f"{name} {_shown(text)} {reference.missing}"
            if reference.lists_known:
                message += f" (known: {', '.join(key for key, _ in rows) or 'none'})"
            if reference.declared:
                message += f"; an admin declares it first: {reference.declared}"
            for record in sent:
                record.errors.append((name, message))


def _check(
    *,
    tenant: Tenant,
    entity: str,
    records: Sequence[Mapping[str, Any]],
    positions: Sequence[int] | None,
    unit: str,
    earlier: dict[str, int] | None,
) -> tuple[list[_Record], list[Problem]]:
    """Parse and resolve a batch: the valid records, and every problem of the others."""
    if entity not in ENTITY_MODELS:
        raise ValueError(f"Unknown entity {entity!r}; use one of {', '.join(ENTITY_MODELS)}.")
    positions = range(len(records)) if positions is None else positions
    custom: dict[str, CustomField] = {}
    if any(record.get("attributes") for record in records):
        custom = {f.name: f for f in CustomField.objects.filter(entity=entity)}
    parser = _Parser(entity, custom, tenant.time_zone)
    parsed = [parser.parse(position, raw) for position, raw in zip(positions, records, strict=True)]
    _resolve(parsed, parser.references)
    # Two records of one delivery with the same external_id: which should win is a guess.
    earlier = {} if earlier is None else earlier
    for record in parsed:
        external_id = record.values.get("external_id")
        if external_id in earlier:
            first = earlier[external_id]
            message = f"external_id {external_id!r} is repeated (first on {unit} {first})"
            record.errors.append(("external_id", message))
        elif external_id is not None:
            earlier[external_id] = record.position
    problems = [
        Problem(record.position, message, name, unit)
        for record in parsed
        for name, message in record.errors
    ]
    return [record for record in parsed if not record.errors], problems


def records_validate(
    *,
    tenant: Tenant,
    entity: str,
    records: Sequence[Mapping[str, Any]],
    positions: Sequence[int] | None = None,
    unit: str = "record",
    earlier: dict[str, int] | None = None,
) -> list[Problem]:
    """Every problem of a batch of records, without writing anything.

    ``positions`` name the records in messages (default: their index from 0) and ``unit``
    what a position is ("record" in the API, "line" in a CSV file). ``earlier`` maps the
    external ids of earlier batches of the same delivery to their positions; this batch's ids
    are added to it, so a repeat across batches is reported like one within a batch.
    """
    with scope(tenant=tenant):
        _, problems = _check(
            tenant=tenant,
            entity=entity,
            records=records,
            positions=positions,
            unit=unit,
            earlier=earlier,
        )
    return sorted(problems, key=lambda p: p.line)


def records_upsert(
    *,
    tenant: Tenant,
    entity: str,
    records: Sequence[Mapping[str, Any]],
    partial: bool = False,
    positions: Sequence[int] | None = None,
    unit: str = "record",
    earlier: dict[str, int] | None = None,
) -> UpsertResult:
    """Create or update a batch of records of ``entity`` ("lead", "activity", "opportunity",
    "task", "account", "spend") by (tenant, external_id), in one transaction.

    All or nothing: any problem raises RecordsInvalid listing every problem and writes
    nothing. With ``partial`` the valid records are written and the others reported in
    ``rejected``. A record replaces what was stored; a missing ``created_at``, or the moment a
    status marks (``converted_at``, ``closed_at``...), keeps its stored value or becomes now.
    A new opportunity, or one whose stage changed, gets a StageChange at
    ``stage_changed_at`` (default: its ``created_at`` when new, otherwise now). The number of
    queries does not depend on the batch size. ``positions``, ``unit`` and ``earlier``: see
    ``records_validate``.
    """
    with scope(tenant=tenant):
        valid, problems = _check(
            tenant=tenant,
            entity=entity,
            records=records,
            positions=positions,
            unit=unit,
            earlier=earlier,
        )
        if problems and not partial:
            raise RecordsInvalid(problems)  # before anything of the batch is written
        # No savepoint inside an import's transaction: a thousand batches would be a thousand
        # PostgreSQL subtransactions, which slow every later statement of the transaction.
        with transaction.atomic(savepoint=False):
            result = _write(tenant, entity, [record.values for record in valid])
    result.rejected = sorted(problems, key=lambda p: p.line)
    return result


def _missing_values(tenant: Tenant, entity: str) -> dict[str, Any]:
    """What a record that leaves a field empty gets, beyond the model's defaults."""
    if "currency" in ENTITY_MODELS[entity].RECORD_FIELDS:  # money in the tenant's currency
        return {"currency": tenant.default_currency}
    return {}


def _stamps(entity: str) -> dict[str, list[str] | None]:
    """The moments stamped when a record leaves them empty: each with the statuses that mark
    it, or None for one stamped whatever the status (``created_at``)."""
    stamps: dict[str, list[str] | None] = {}
    if "created_at" in ENTITY_MODELS[entity].RECORD_FIELDS:
        stamps["created_at"] = None
    for status, stamp in STATUS_STAMPS.get(entity, {}).items():
        stamps[stamp] = [*(stamps.get(stamp) or []), status]
    return stamps


def _columns(model: type[models.Model]) -> list[models.Field]:
    """The fields a record writes, beside the tenant and the external_id it is matched by."""
    return [f for f in model._meta.concrete_fields if f.name not in ("id", "tenant", "external_id")]


def _write(tenant: Tenant, entity: str, batch: list[dict[str, Any]]) -> UpsertResult:
    now = timezone.now()
    read = _accounts_read(batch) if entity == Entity.ACCOUNT else {}
    if connection.vendor == "postgresql":
        written = _write_by_copy(tenant, entity, batch, now)
    else:
        written = _write_by_orm(tenant, entity, batch, now)
    created = sum(1 for row in written if row.created)
    result = UpsertResult(created, len(written) - created, len(batch) - len(written))
    if entity == Entity.ACCOUNT:  # a new account is named by nothing yet
        _accounts_notify(tenant.pk, _accounts_edited(read, written))
    if not written or not ENTITY_MODELS[entity].OWNED:  # credited to nobody: no rule measures it
        return result
    _notify(
        tenant.pk,
        entity,
        [owner for row in written for owner in (row.owner_id, row.old_owner_id)],
        [moment for row in written for moment in (*row.moments, *row.old_moments)],
    )
    if entity != Entity.OPPORTUNITY:
        return result
    # A rule on stage changes reads their deal (its account, value...): a changed deal changes
    # what its old moves count, as the new moves count.
    moves = [
        StageChange(
            tenant=tenant,
            opportunity_id=row.pk,
            from_stage_id=row.from_stage_id,
            to_stage_id=row.to_stage_id,
            changed_at=row.stage_changed_at or (row.created_at if row.created else now),
            member_id=row.owner_id,
        )
        for row in written
        if row.created or row.from_stage_id != row.to_stage_id
    ]
    StageChange.objects.bulk_create(moves)
    _stage_changes_notify(tenant.pk, opportunity_id__in=[row.pk for row in written])
    return result


def _write_by_copy(
    tenant: Tenant, entity: str, batch: list[dict[str, Any]], now: datetime
) -> list[Written]:
    """PostgreSQL: the batch as COPY rows, written by one statement (``core.copy_upsert``)."""
    model = ENTITY_MODELS[entity]
    fields = _columns(model)
    stamps = _stamps(entity)
    defaults = {f.attname: f.get_default() for f in fields if f.attname not in stamps}
    defaults |= _missing_values(tenant, entity)
    cells = [("external_id", None, copy_formatter(model._meta.get_field("external_id")))]
    cells += [(f.attname, defaults.get(f.attname), copy_formatter(f)) for f in fields]
    stage_moves = entity == Entity.OPPORTUNITY
    if stage_moves:
        cells.append(("stage_changed_at", None, copy_formatter(models.DateTimeField())))
    rows = (
        "\t".join([write(values.get(name, default)) for name, default, write in cells]) + "\n"
        for values in batch
    )
    return upsert_by_copy(
        model=model,
        tenant_id=tenant.pk,
        columns=[f.column for f in fields],
        rows=rows,
        stamps=stamps,
        stage_moves=stage_moves,
        now=now,
    )


def _write_by_orm(
    tenant: Tenant, entity: str, batch: list[dict[str, Any]], now: datetime
) -> list[Written]:
    """Other databases (SQLite): the stored rows read, compared and upserted through Django."""
    model = ENTITY_MODELS[entity]
    # Locked so that two deliveries of one opportunity agree on the stage it moved from.
    stored = {
        row.external_id: row
        for row in model.objects.select_for_update().filter(
            external_id__in=[values["external_id"] for values in batch]
        )
    }
    columns = _columns(model)
    stamps = _stamps(entity)
    missing = _missing_values(tenant, entity)
    owner: Callable[[models.Model], int | None] = (
        attrgetter("owner_id") if model.OWNED else lambda row: None
    )
    changed: list[tuple[models.Model, models.Model | None, datetime | None]] = []
    for values in batch:
        stage_changed_at = values.pop("stage_changed_at", None)
        old = stored.get(values["external_id"])
        row = model(tenant=tenant, **(missing | values))
        for stamp, statuses in stamps.items():
            if stamp not in values and (statuses is None or row.status in statuses):
                setattr(row, stamp, (old and getattr(old, stamp)) or now)
        if old is None or any(getattr(row, f.attname) != getattr(old, f.attname) for f in columns):
            changed.append((row, old, stage_changed_at))
    if not changed:
        return []
    model.objects.bulk_create(
        [row for row, _, _ in changed],
        update_conflicts=True,
        unique_fields=["tenant", "external_id"],
        update_fields=[f.name for f in columns],
    )
    return [
        Written(
            row.pk,
            old is None,
            owner(row),
            tuple(getattr(row, name) for name in model.DATE_FIELDS),
            old and owner(old),
            tuple(old and getattr(old, name) for name in model.DATE_FIELDS),
            old and getattr(old, "stage_id", None),
            getattr(row, "stage_id", None),
            stage_changed_at,
            getattr(row, "created_at", None),
        )
        for row, old, stage_changed_at in changed
    ]


def records_delete(*, tenant: Tenant, entity: str, external_ids: Iterable[str]) -> int:
    """Delete the tenant's records of ``entity`` with these external ids; return how many.

    Unknown ids are skipped, and so is every other tenant's record with the same id. A deleted
    opportunity's stage changes go with it; the activities and opportunities of a deleted lead,
    the activities of a deleted opportunity, and the leads and opportunities of a deleted
    account, stay without the link.
    """
    model = ENTITY_MODELS[entity]
    owned = model.OWNED  # rules measure it: the owner and dates tell which goals to tell
    with scope(tenant=tenant), transaction.atomic():
        rows = list(
            model.objects.filter(external_id__in=set(external_ids)).only(
                "pk", *(("owner", *model.DATE_FIELDS) if owned else ())
            )
        )
        if not rows:
            return 0
        if entity == Entity.ACCOUNT:  # told before its records lose the link
            _accounts_notify(tenant.pk, [row.pk for row in rows])
        if entity == Entity.OPPORTUNITY:  # told before its stage changes go with it
            _stage_changes_notify(tenant.pk, opportunity_id__in=[row.pk for row in rows])
        _, deleted = model.objects.filter(pk__in=[row.pk for row in rows]).delete()
        if owned:
            moments = [getattr(row, name) for row in rows for name in model.DATE_FIELDS]
            _notify(tenant.pk, entity, [row.owner_id for row in rows], moments)
    return deleted.get(model._meta.label, 0)


def _accounts_read(batch: list[dict[str, Any]]) -> dict[int, list[Any]]:
    """What rules read (``READ_FIELDS``) of the batch's stored accounts, by pk, locked until
    the batch is written: ``_accounts_edited`` compares it to what was written."""
    stored = Account.objects.select_for_update().filter(
        external_id__in=[values["external_id"] for values in batch]
    )
    return {pk: read for pk, *read in stored.values_list("pk", *Account.READ_FIELDS)}


def _accounts_edited(read: dict[int, list[Any]], written: list[Written]) -> list[int]:
    """The stored accounts the batch wrote with other values where rules read them (``read``
    before the batch; one the batch found created by a racing writer is taken as edited)."""
    updated = [row.pk for row in written if not row.created]
    if not updated:
        return []
    now = Account.objects.filter(pk__in=updated).values_list("pk", *Account.READ_FIELDS)
    return [pk for pk, *fields in now if fields != read.get(pk)]


def _accounts_notify(tenant_id: int, account_ids: list[int]) -> None:
    """Have ``entities_changed`` told about the leads, opportunities and stage changes that
    name one of these accounts (an opportunity's stage changes through it): rules read an
    account's fields through them (``account_segment``...), so an edited or deleted account
    changes what they count. A fixed number of queries, however many records name them."""
    if not account_ids:
        return
    _records_notify(
        tenant_id, Entity.LEAD, Lead.objects.filter(account_id__in=account_ids), "owner_id"
    )
    _records_notify(
        tenant_id,
        Entity.OPPORTUNITY,
        Opportunity.objects.filter(account_id__in=account_ids),
        "owner_id",
    )
    _stage_changes_notify(tenant_id, opportunity__account_id__in=account_ids)


def _stage_changes_notify(tenant_id: int, **where: object) -> None:
    """Have ``entities_changed`` told about the stage changes ``where`` selects (by their
    deal): rules on stage changes read their deal's fields, so a changed or deleted deal, or
    its account, changes what they count."""
    _records_notify(tenant_id, "stage_change", StageChange.objects.filter(**where), "member_id")


def _records_notify(tenant_id: int, entity: str, rows: models.QuerySet, owner: str) -> None:
    """Have ``entities_changed`` told about ``rows`` of ``entity`` as they stand, by one query
    that returns each ``owner`` with the first and last of each of its rows' dates: as many
    rows back as owners, however long the records' history."""
    dates = rows.model.DATE_FIELDS
    spans = list(
        rows.order_by()
        .values_list(owner)
        .annotate(*(Min(name) for name in dates), *(Max(name) for name in dates))
    )
    if spans:
        _notify(tenant_id, entity, [row[0] for row in spans], [m for row in spans for m in row[1:]])


def _notify(
    tenant_id: int,
    entity: str,
    owner_ids: Iterable[int | None],
    moments: Iterable[datetime | None],
) -> None:
    """Have ``entities_changed`` told, after commit, about rows of ``entity`` with these owners
    and attribution moments (of their old and new versions; None is no owner, no moment).

    ``robust``: the rows are committed by then, so a failure to pass the news on is logged and
    left to the scheduled recomputes; it never fails the request that saved them."""
    moments = [moment for moment in moments if moment is not None]
    owner_ids = sorted(set(owner_ids) - {None})
    start, end = min(moments), max(moments)  # not the rows: a long import holds every callback

    def tell() -> None:
        entities_changed(tenant_id, entity, owner_ids=owner_ids, start=start, end=end)

    transaction.on_commit(tell, robust=True)


def entities_changed(
    tenant_id: int, entity: str, *, owner_ids: list[int], start: datetime, end: datetime
) -> None:
    """Run after a commit that created, changed or deleted rows of ``entity`` ("lead",
    "activity", "opportunity", "task" or "stage_change") of a tenant.

    ``owner_ids`` are the members credited with those rows before or after the change, and
    ``start``..``end`` (inclusive) spans all their attribution dates before and after: the
    achievements that can be affected belong to the tenant's goals whose window meets the span
    and whose team holds one of the owners: ``crm.signals.entities_changed`` tells the
    achievements app, which asks for their recompute.
    """
    logger.debug(
        "%s rows of tenant %s changed for members %s between %s and %s",
        entity,
        tenant_id,
        owner_ids,
        start.isoformat(),
        end.isoformat(),
    )
    signals.entities_changed.send(
        sender=entities_changed,
        tenant_id=tenant_id,
        entity=entity,
        owner_ids=owner_ids,
        start=start,
        end=end,
    )


Progress = Callable[[str, int, int], None]  # (phase, rows done, rows in the file)


@dataclass
class _CsvBatch:
    lines: list[int] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # rows that are not records at all
    rows: int = 0


def _count_rows(file: TextIO) -> int:
    file.seek(0)
    count = sum(1 for row in csv.reader(file) if row) - 1  # the header; empty lines are no rows
    file.seek(0)
    return max(count, 0)


def _csv_batches(file: TextIO, entity: str, custom: set[str]) -> Iterator[_CsvBatch]:
    """The file's rows as records, ``BATCH_SIZE`` at a time, with their line numbers.

    A bad header raises RecordsInvalid at once: no row can be read without it.
    """
    file.seek(0)
    reader = csv.reader(file)
    header = [name.strip().lower() for name in next(reader, [])]
    standard = ENTITY_MODELS[entity].RECORD_FIELDS
    problems = []
    if missing := sorted(REQUIRED[entity] - set(header)):
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown := [n for n in header if n not in standard and n not in custom]:
        known = ", ".join(sorted(custom)) or "none"
        problems.append(f"unknown column(s) {', '.join(unknown)} (custom fields: {known})")
    if repeated := sorted({n for n in header if header.count(n) > 1}):
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        raise RecordsInvalid([Problem(1, "; ".join(problems), None, "line")])
    declared = [name for name in header if name not in standard]
    batch = _CsvBatch()
    for values in reader:
        if not values:
            continue  # an empty line is no row
        batch.rows += 1
        if len(values) > len(header):
            message = f"more values than the {len(header)} columns of the header"
            batch.problems.append(Problem(reader.line_num, message, None, "line"))
        else:
            record: dict[str, Any] = dict(zip(header, values, strict=False))  # short rows too
            record["attributes"] = {n: record.pop(n) for n in declared if n in record}
            batch.lines.append(reader.line_num)
            batch.records.append(record)
        if batch.rows == BATCH_SIZE:
            yield batch
            batch = _CsvBatch()
    if batch.rows:
        yield batch


def records_import(
    *,
    tenant: Tenant,
    entity: str,
    file: TextIO,
    partial: bool = False,
    progress: Progress | None = None,
) -> UpsertResult:
    """Upsert records of ``entity`` from a CSV file: a header of record fields and declared
    custom fields, then one record a row. Problems are reported by line (the header is line 1).

    All or nothing: one pass writes the file batch by batch inside one transaction; from the
    first bad row on it only validates, and at the end raises RecordsInvalid with every problem,
    which rolls back what was written. With ``partial`` the valid rows are written and the rest
    reported in ``rejected``.
    The file is streamed; only the external ids seen so far are kept, to report repeats.
    ``file`` must be seekable (it is read more than once).
    """
    with scope(tenant=tenant):
        custom = set(CustomField.objects.filter(entity=entity).values_list("name", flat=True))
        total = _count_rows(file)

        result, problems, done = UpsertResult(), [], 0
        earlier: dict[str, int] = {}
        with transaction.atomic(), foreign_keys_checked_per_statement():
            for batch in _csv_batches(file, entity, custom):
                reset_queries()  # with DEBUG on, its query log would keep every batch's SQL
                done += batch.rows
                if progress is not None:
                    progress("Importing", done, total)
                result.rejected += batch.problems
                problems += batch.problems
                if problems and not partial:
                    # The import has failed already: only validate, to report everything.
                    problems += records_validate(
                        tenant=tenant,
                        entity=entity,
                        records=batch.records,
                        positions=batch.lines,
                        unit="line",
                        earlier=earlier,
                    )
                    continue
                try:
                    result.add(
                        records_upsert(
                            tenant=tenant,
                            entity=entity,
                            records=batch.records,
                            partial=partial,
                            positions=batch.lines,
                            unit="line",
                            earlier=earlier,
                        )
                    )
                except RecordsInvalid as exc:
                    problems += exc.problems
            if problems and not partial:
                raise RecordsInvalid(problems)  # rolls back every batch written so far
        result.rejected.sort(key=lambda p: p.line)
        return result
