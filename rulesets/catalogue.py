"""The field catalogue: which fields of which entity a goal rule may use, and how.

Pure data and checks, no Django. Nothing outside this catalogue reaches a query: a rule names
fields by their catalogue name, and only the catalogue's ``path`` (an ORM lookup path written
here, never by a user) is used to build the query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from core.dates import date_range_problem
from core.numbers import EXAMPLE, number_parse


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    DURATION = "duration"
    DATETIME = "datetime"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    MEMBER = "member"


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    CONTAINS = "contains"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"


_PRESENCE = {Op.IS_EMPTY, Op.IS_NOT_EMPTY}
_EQUALITY = {Op.EQ, Op.NE, Op.IN, Op.NOT_IN}
_ORDER = {Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN}

OPERATORS: Mapping[FieldType, frozenset[Op]] = {
    FieldType.TEXT: frozenset(_EQUALITY | {Op.CONTAINS} | _PRESENCE),
    FieldType.NUMBER: frozenset(_EQUALITY | _ORDER | _PRESENCE),
    FieldType.MONEY: frozenset(_EQUALITY | _ORDER | _PRESENCE),
    FieldType.DURATION: frozenset(_EQUALITY | _ORDER | _PRESENCE),
    FieldType.DATETIME: frozenset(_ORDER | _PRESENCE),
    FieldType.DATE: frozenset(_ORDER | _PRESENCE),
    FieldType.BOOLEAN: frozenset({Op.EQ, Op.NE} | _PRESENCE),
    FieldType.CHOICE: frozenset(_EQUALITY | _PRESENCE),
    FieldType.MEMBER: frozenset(_EQUALITY | _PRESENCE),
}
NUMERIC = frozenset({FieldType.NUMBER, FieldType.MONEY, FieldType.DURATION})


class Vocabulary(StrEnum):
    """Choices that come from the tenant's own data rather than from the code."""

    ACTIVITY_TYPES = "activity_types"
    TASK_TYPES = "task_types"  # the activity types of a task category
    STAGES = "stages"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    type: FieldType
    path: str  # the ORM lookup path; written here, never taken from input
    choices: tuple[str, ...] = ()
    vocabulary: Vocabulary | None = None
    nullable: bool = False
    places_in_cycle: bool = False  # a date field that can place a record in a cycle
    credits_member: bool = False  # a member field that can get the credit
    custom: bool = False
    # Derived from the record's other fields (``path`` then names the derivation, which the
    # compiler and the reference evaluator each implement); with ``placed_by``, only a rule
    # that places records by that date field may test it.
    derived: bool = False
    placed_by: str | None = None
    # Means the same on every entity that has it (the account a record names), unlike a lead's
    # status and a deal's: a ratio of two entities can be split by it.
    shared: bool = False

    @property
    def summable(self) -> bool:
        return self.type in NUMERIC

    @property
    def operators(self) -> frozenset[Op]:
        ops = OPERATORS[self.type]
        return ops if self.nullable else ops - _PRESENCE


def _date(name: str, label: str, path: str | None = None, nullable: bool = True) -> FieldSpec:
    return FieldSpec(
        name, label, FieldType.DATETIME, path or name, nullable=nullable, places_in_cycle=True
    )


def _member(name: str, label: str, path: str, nullable: bool = False) -> FieldSpec:
    return FieldSpec(name, label, FieldType.MEMBER, path, nullable=nullable, credits_member=True)


def _account(through: str = "") -> tuple[FieldSpec, ...]:
    """The fields of the account a record names (reached ``through`` a relation: a stage
    change's opportunity), to condition on and split by. A record that names no account has no
    value in any of them, as one whose account leaves its segment or channel blank."""
    path = f"{through}account__"
    fields = (
        ("account", "Account (its id in the CRM)", "external_id"),
        ("account_segment", "Account segment", "segment"),
        ("account_channel", "Account channel", "channel"),
    )
    return tuple(
        FieldSpec(name, label, FieldType.TEXT, path + column, nullable=True, shared=True)
        for name, label, column in fields
    )


LEAD_STATUSES = ("new", "contacted", "qualified", "converted", "disqualified")
ACTIVITY_STATUSES = ("planned", "completed", "cancelled")
ACTIVITY_CATEGORIES = ("call", "email", "meeting", "demo", "follow_up", "task", "campaign", "other")
OPPORTUNITY_STATUSES = ("open", "won", "lost")
TASK_STATUSES = ("open", "completed", "cancelled")
TASK_CATEGORIES = ("follow_up", "task")

ON_TIME, OVERDUE = "on_time", "overdue"
"""The derived fields of a task (see docs/crm-import.md, "Tasks"):

- completed on time: its status is completed and ``completed_at <= due_at``;
- overdue at the cycle's end: placed by its due date in a cycle ``[start, end)`` (so due
  before the end), and open, or completed after ``due_at``. Cancelled tasks are neither."""

ENTITIES: Mapping[str, tuple[FieldSpec, ...]] = {
    "lead": (
        _member("owner", "Owner", "owner_id"),
        FieldSpec("status", "Status", FieldType.CHOICE, "status", LEAD_STATUSES),
        FieldSpec("source", "Source", FieldType.TEXT, "source", nullable=True),
        FieldSpec("email", "Email", FieldType.TEXT, "email", nullable=True),
        *_account(),
        _date("created_at", "Created", nullable=False),
        _date("first_contacted_at", "First contacted"),
        _date("converted_at", "Converted"),
        _date("disqualified_at", "Disqualified"),
    ),
    "activity": (
        _member("owner", "Owner", "owner_id"),
        FieldSpec(
            "type",
            "Activity type",
            FieldType.CHOICE,
            "type__name",
            vocabulary=Vocabulary.ACTIVITY_TYPES,
        ),
        FieldSpec("category", "Category", FieldType.CHOICE, "type__category", ACTIVITY_CATEGORIES),
        FieldSpec("status", "Status", FieldType.CHOICE, "status", ACTIVITY_STATUSES),
        FieldSpec("outcome", "Outcome", FieldType.TEXT, "outcome", nullable=True),
        FieldSpec("duration", "Duration (seconds)", FieldType.DURATION, "duration_seconds"),
        _date("occurred_at", "Occurred", nullable=False),
        FieldSpec("lead", "Lead", FieldType.TEXT, "lead__external_id", nullable=True),
    ),
    "opportunity": (
        _member("owner", "Owner", "owner_id"),
        FieldSpec("stage", "Stage", FieldType.CHOICE, "stage__name", vocabulary=Vocabulary.STAGES),
        FieldSpec("status", "Status", FieldType.CHOICE, "status", OPPORTUNITY_STATUSES),
        FieldSpec("value", "Value", FieldType.MONEY, "value"),
        FieldSpec("currency", "Currency", FieldType.TEXT, "currency"),
        FieldSpec("lead", "Lead", FieldType.TEXT, "lead__external_id", nullable=True),
        *_account(),
        _date("created_at", "Created", nullable=False),
        _date("closed_at", "Closed"),
    ),
    "task": (
        _member("owner", "Owner", "owner_id"),
        FieldSpec(
            "type", "Task type", FieldType.CHOICE, "type__name", vocabulary=Vocabulary.TASK_TYPES
        ),
        FieldSpec("category", "Category", FieldType.CHOICE, "type__category", TASK_CATEGORIES),
        FieldSpec("status", "Status", FieldType.CHOICE, "status", TASK_STATUSES),
        FieldSpec("subject", "Subject", FieldType.TEXT, "subject"),
        FieldSpec("on_time", "Completed on time", FieldType.BOOLEAN, ON_TIME, derived=True),
        FieldSpec(
            "overdue",
            "Overdue at the cycle's end",
            FieldType.BOOLEAN,
            OVERDUE,
            derived=True,
            placed_by="due_at",
        ),
        _date("created_at", "Created", nullable=False),
        _date("due_at", "Due", nullable=False),
        _date("completed_at", "Completed"),
        FieldSpec("lead", "Lead", FieldType.TEXT, "lead__external_id", nullable=True),
        FieldSpec(
            "opportunity",
            "Opportunity",
            FieldType.TEXT,
            "opportunity__external_id",
            nullable=True,
        ),
    ),
    "stage_change": (
        _member("member", "Changed by", "member_id", nullable=True),
        _member("owner", "Opportunity owner", "opportunity__owner_id"),
        FieldSpec(
            "from_stage",
            "From stage",
            FieldType.CHOICE,
            "from_stage__name",
            vocabulary=Vocabulary.STAGES,
            nullable=True,
        ),
        FieldSpec(
            "to_stage",
            "To stage",
            FieldType.CHOICE,
            "to_stage__name",
            vocabulary=Vocabulary.STAGES,
        ),
        FieldSpec("value", "Opportunity value", FieldType.MONEY, "opportunity__value"),
        FieldSpec("currency", "Opportunity currency", FieldType.TEXT, "opportunity__currency"),
        *_account("opportunity__"),
        _date("changed_at", "Changed", nullable=False),
    ),
}

_CUSTOM_TYPES = {
    "text": FieldType.TEXT,
    "number": FieldType.NUMBER,
    "money": FieldType.MONEY,
    "date": FieldType.DATE,
    "boolean": FieldType.BOOLEAN,
    "choice": FieldType.CHOICE,
}
_CUSTOM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class CustomFieldDecl:
    """A field a tenant declared for an entity; its values live in ``attributes``."""

    entity: str
    name: str
    type: str
    choices: tuple[str, ...] = field(default=())


def fields_for(entity: str, custom: Iterable[CustomFieldDecl] = ()) -> dict[str, FieldSpec]:
    """The catalogue of one entity, the tenant's custom fields included (as ``custom.<name>``).

    Raises KeyError for an unknown entity."""
    specs = {spec.name: spec for spec in ENTITIES[entity]}
    for decl in custom:
        if decl.entity != entity or not _CUSTOM_NAME.match(decl.name):
            continue
        name = f"custom.{decl.name}"
        specs[name] = FieldSpec(
            name,
            decl.name.replace("_", " ").capitalize(),
            _CUSTOM_TYPES[decl.type],
            f"attributes__{decl.name}",
            choices=tuple(decl.choices),
            nullable=True,
            places_in_cycle=decl.type == "date",
            custom=True,
        )
    return specs


class ConditionError(ValueError):
    """A condition the catalogue refuses; ``field`` names the part of the condition at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _coerce_scalar(
    spec: FieldSpec, raw: Any, vocab: Mapping[Vocabulary, set[str]], time_zone: str
) -> Any:
    """One typed value for ``spec``, or ConditionError saying what was expected. A timestamp
    without an offset is read in the tenant's time zone."""
    kind = spec.type
    if kind in NUMERIC:
        if isinstance(raw, bool):
            raise ConditionError("value", f"{spec.label} needs a number, not {raw!r}")
        value = number_parse(raw)
        if value is None:
            raise ConditionError("value", f"{spec.label} needs a number ({EXAMPLE}), not {raw!r}")
        return value
    if kind is FieldType.BOOLEAN:
        if not isinstance(raw, bool):
            raise ConditionError("value", f"{spec.label} needs true or false, not {raw!r}")
        return raw
    if kind in (FieldType.DATETIME, FieldType.DATE):
        try:
            value = (datetime if kind is FieldType.DATETIME else date).fromisoformat(str(raw))
        except ValueError:
            raise ConditionError(
                "value", f"{spec.label} needs an ISO date such as 2027-01-31, not {raw!r}"
            ) from None
        if problem := date_range_problem(value):
            raise ConditionError("value", f"{spec.label}: {problem}")
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(time_zone))
        return value
    if kind is FieldType.MEMBER:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ConditionError("value", f"{spec.label} needs a member id, not {raw!r}")
        return raw
    if not isinstance(raw, str) or not raw:
        raise ConditionError("value", f"{spec.label} needs a non-empty text, not {raw!r}")
    allowed = set(spec.choices) or (vocab.get(spec.vocabulary, set()) if spec.vocabulary else None)
    if kind is FieldType.CHOICE and allowed is not None and raw not in allowed:
        shown = ", ".join(sorted(allowed)) or "none defined yet"
        noun = spec.label.lower()
        article = "an" if noun[0] in "aeiou" else "a"
        raise ConditionError("value", f"{raw!r} is not {article} {noun}: use one of {shown}")
    return raw


@dataclass(frozen=True)
class Condition:
    field: str
    op: Op
    value: Any = None


def condition_parse(
    raw: Mapping[str, Any],
    specs: Mapping[str, FieldSpec],
    vocab: Mapping[Vocabulary, set[str]] | None = None,
    time_zone: str = "UTC",
) -> Condition:
    """Check one ``{"field", "op", "value"}`` against the catalogue and type its value."""
    vocab = vocab or {}

    def coerce(value: Any) -> Any:
        return _coerce_scalar(spec, value, vocab, time_zone)

    name = raw.get("field")
    spec = specs.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ConditionError("field", f"unknown field {name!r}: use one of {', '.join(specs)}")
    try:
        op = Op(raw.get("op"))
    except ValueError:
        raise ConditionError("op", f"unknown operator {raw.get('op')!r}") from None
    if op not in spec.operators:
        allowed = ", ".join(sorted(spec.operators))
        raise ConditionError("op", f"{spec.label} does not allow {op}: use one of {allowed}")
    value = raw.get("value")
    if op in _PRESENCE:
        return Condition(spec.name, op)
    if op in (Op.IN, Op.NOT_IN):
        if not isinstance(value, list) or not value:
            raise ConditionError("value", f"{op} needs a non-empty list of values")
        return Condition(spec.name, op, tuple(coerce(v) for v in value))
    if op is Op.BETWEEN:
        if not isinstance(value, list) or len(value) != 2:
            raise ConditionError("value", "between needs a list of two values: [low, high]")
        low, high = (coerce(v) for v in value)
        if low > high:
            raise ConditionError("value", f"between needs low <= high, got {low} > {high}")
        return Condition(spec.name, op, (low, high))
    return Condition(spec.name, op, coerce(value))
