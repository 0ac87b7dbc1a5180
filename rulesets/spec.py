"""Goal rules as data: parsing and checking a ruleset's rules against the field catalogue.

Pure, no Django. Every problem is reported with the rule's key and the part at fault, so the
builder, the API (422) and the tests all say the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from .catalogue import (
    NUMERIC,
    Condition,
    ConditionError,
    CustomFieldDecl,
    FieldSpec,
    FieldType,
    Op,
    Vocabulary,
    condition_parse,
    fields_for,
)


class Aggregation(StrEnum):
    COUNT = "count"
    SUM = "sum"
    AVERAGE = "average"
    MIN = "min"
    MAX = "max"
    DISTINCT_COUNT = "distinct_count"
    RATIO = "ratio"


class Unit(StrEnum):
    NUMBER = "number"
    CURRENCY = "currency"
    DURATION = "duration"
    PERCENT = "percent"


class Direction(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


class Indicator(StrEnum):
    """Whether a rule predicts results (meetings booked) or shows them (deals won)."""

    LEADING = "leading"
    LAGGING = "lagging"


class Mode(StrEnum):
    """How records meet a cycle: placed in it by a date (a flow), or as they stood at its end
    (a snapshot: opportunities by the stage they were in then, from the stage history)."""

    IN_CYCLE = "in_cycle"
    CYCLE_END = "cycle_end"


SNAPSHOT_ENTITY = "opportunity"  # the one entity with a history of where each record stood


DEFAULT_DATE_FIELD = {
    "lead": "created_at",
    "activity": "occurred_at",
    "opportunity": "closed_at",
    "stage_change": "changed_at",
    "task": "due_at",
}
# Lead dates that mark a result rather than the work towards one.
_RESULT_DATES = {"converted_at", "disqualified_at"}
_NEEDS_NUMBER = {Aggregation.SUM, Aggregation.AVERAGE, Aggregation.MIN, Aggregation.MAX}
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


@dataclass(frozen=True)
class AnyOf:
    """Conditions of which at least one must hold (OR inside the group)."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class RuleSpec:
    key: str
    name: str
    aggregation: Aggregation
    unit: Unit
    direction: Direction
    entity: str | None = None  # None for ratios
    field: str | None = None
    date_field: str | None = None
    member_field: str | None = None
    currency: str | None = None
    conditions: tuple[Condition | AnyOf, ...] = ()
    numerator: str | None = None
    denominator: str | None = None
    indicator: Indicator = Indicator.LEADING
    mode: Mode = Mode.IN_CYCLE

    @property
    def snapshot(self) -> bool:
        """Counted as the records stood at each cycle's end, not placed in it by a date."""
        return self.mode is Mode.CYCLE_END


def indicator_default(raw: Mapping[str, Any]) -> Indicator:
    """The indicator of a rule that does not say: lagging for what shows results (a ratio,
    deals closed, leads converted or disqualified), leading for the work and the pipeline that
    predict them (activities, stage changes, new and contacted leads, open opportunities)."""
    if raw.get("aggregation") == Aggregation.RATIO:
        return Indicator.LAGGING
    entity, mode, date_field = (raw.get(part) for part in ("entity", "mode", "date_field"))
    if not isinstance(date_field, str) or not date_field:  # the parser names a wrong one
        date_field = DEFAULT_DATE_FIELD.get(entity) if isinstance(entity, str) else None
    mode = mode or Mode.IN_CYCLE
    if entity == "opportunity" and mode == Mode.IN_CYCLE and date_field == "closed_at":
        return Indicator.LAGGING
    if entity == "lead" and date_field in _RESULT_DATES:
        return Indicator.LAGGING
    return Indicator.LEADING


@dataclass(frozen=True)
class RuleProblem:
    key: str  # the rule's key, or "#<position>" when it has none
    field: str
    message: str

    def __str__(self) -> str:
        return f"rule {self.key}, {self.field}: {self.message}"


class RulesetError(ValueError):
    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class _Problems(Exception):
    """Raised inside one rule's check to stop at its first problem."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message


def _pick(specs: Mapping[str, FieldSpec], name: Any, role: str, ok: Any, what: str) -> FieldSpec:
    spec = specs.get(name) if isinstance(name, str) else None
    if spec is None or not ok(spec):
        choices = ", ".join(n for n, s in specs.items() if ok(s))
        raise _Problems(role, f"{name!r} is not {what} of this entity: use one of {choices}")
    return spec


def _conditions(raw: Any, specs: Mapping[str, FieldSpec], vocab: Mapping, time_zone: str) -> tuple:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _Problems("conditions", "conditions must be a list")
    parsed: list[Condition | AnyOf] = []
    for position, item in enumerate(raw):
        where = f"conditions[{position}]"
        try:
            if isinstance(item, Mapping) and "any" in item:
                group = item["any"]
                if not isinstance(group, list) or not group:
                    raise _Problems(f"{where}.any", "an any-of group needs a non-empty list")
                parsed.append(
                    AnyOf(tuple(condition_parse(c, specs, vocab, time_zone) for c in group))
                )
            elif isinstance(item, Mapping):
                parsed.append(condition_parse(item, specs, vocab, time_zone))
            else:
                raise _Problems(where, "a condition is an object with field, op and value")
        except ConditionError as exc:
            raise _Problems(f"{where}.{exc.field}", exc.message) from None
    return tuple(parsed)


E = TypeVar("E", bound=StrEnum)


def _choice(kind: type[E], value: Any, field: str, message: str) -> E:
    """``value`` as one of an enumeration's values, or the field's problem (a list or an object
    sent where a word belongs is a problem too, not a TypeError)."""
    try:
        return kind(value)
    except (ValueError, TypeError):
        raise _Problems(field, message) from None


def _unit(raw: Mapping[str, Any], default: Unit) -> Unit:
    return _choice(Unit, raw.get("unit") or default, "unit", f"unknown unit {raw.get('unit')!r}")


def _rule(
    raw: Mapping[str, Any],
    key: str,
    custom: Iterable[CustomFieldDecl],
    vocab: Mapping[Vocabulary, set[str]],
    default_currency: str,
    time_zone: str,
) -> RuleSpec:
    aggregation = _choice(
        Aggregation,
        raw.get("aggregation", "count"),
        "aggregation",
        f"unknown aggregation {raw.get('aggregation')!r}",
    )
    direction = _choice(
        Direction, raw.get("direction", "higher"), "direction", "direction is 'higher' or 'lower'"
    )
    name = str(raw.get("name") or key)
    indicator = _choice(
        Indicator,
        raw.get("indicator") or indicator_default(raw),
        "indicator",
        "indicator is 'leading' or 'lagging'",
    )
    mode = _choice(
        Mode,
        raw.get("mode") or Mode.IN_CYCLE,
        "mode",
        "mode is 'in_cycle' or 'cycle_end' (as the records stood at the end of each cycle)",
    )
    if aggregation is Aggregation.RATIO:
        if mode is not Mode.IN_CYCLE:
            raise _Problems("mode", "a ratio takes the mode of the rules it divides")
        for part in ("numerator", "denominator"):
            if not isinstance(raw.get(part), str):
                raise _Problems(part, f"a ratio needs the key of its {part} rule")
        return RuleSpec(
            key,
            name,
            aggregation,
            _unit(raw, Unit.PERCENT),
            direction,
            numerator=raw["numerator"],
            denominator=raw["denominator"],
            indicator=indicator,
        )
    entity = raw.get("entity")
    if not isinstance(entity, str) or entity not in DEFAULT_DATE_FIELD:
        raise _Problems(
            "entity",
            f"unknown entity {entity!r}: use one of {', '.join(DEFAULT_DATE_FIELD)}",
        )
    if mode is Mode.CYCLE_END and entity != SNAPSHOT_ENTITY:
        raise _Problems("mode", "only opportunities are counted as they stood at a cycle's end")
    specs = fields_for(entity, custom)
    measured = None
    if aggregation is not Aggregation.COUNT:
        if aggregation in _NEEDS_NUMBER:
            ok, what = (lambda s: s.type in NUMERIC), "a numeric field"
        else:
            ok, what = (lambda s: s.type is not FieldType.DATETIME), "a countable field"
        measured = _pick(specs, raw.get("field"), "field", ok, what)
    if mode is Mode.CYCLE_END:
        if raw.get("date_field"):
            raise _Problems(
                "date_field",
                "a rule counted at each cycle's end takes no date field: the stage history "
                "says where each opportunity stood then",
            )
        date = None
    else:
        date = _pick(
            specs,
            raw.get("date_field", DEFAULT_DATE_FIELD[entity]),
            "date_field",
            lambda s: s.places_in_cycle,
            "a date field",
        )
    member = _pick(
        specs,
        raw.get("member_field", "owner"),
        "member_field",
        lambda s: s.credits_member,
        "a member field",
    )
    measured_type = measured.type if measured else None
    if aggregation is Aggregation.DISTINCT_COUNT or measured_type is None:
        default_unit = Unit.NUMBER
    else:
        default_unit = {FieldType.MONEY: Unit.CURRENCY, FieldType.DURATION: Unit.DURATION}.get(
            measured_type, Unit.NUMBER
        )
    unit = _unit(raw, default_unit)
    money = measured_type is FieldType.MONEY
    currency = raw.get("currency") or (default_currency if money else None)
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", str(currency)):
        raise _Problems("currency", f"{currency!r} is not a three-letter currency code")
    conditions = _conditions(raw.get("conditions"), specs, vocab, time_zone)
    _placed_as_needed(conditions, specs, date)
    if money and measured.name == "value" and "currency" in specs:
        # Amounts in other currencies are not added in: a value rule counts its currency only.
        conditions += (Condition("currency", Op.EQ, currency),)
    return RuleSpec(
        key,
        name,
        aggregation,
        unit,
        direction,
        entity=entity,
        field=measured.name if measured else None,
        date_field=date.name if date else None,
        member_field=member.name,
        currency=currency,
        conditions=conditions,
        indicator=indicator,
        mode=mode,
    )


def _placed_as_needed(
    conditions: tuple[Condition | AnyOf, ...], specs: Mapping[str, FieldSpec], date: FieldSpec
) -> None:
    """A field that means something only for records placed by one date field (a task overdue
    at the end of the cycle its due date falls in) refuses a rule placed by another."""
    for position, item in enumerate(conditions):
        for condition in item.conditions if isinstance(item, AnyOf) else (item,):
            spec = specs[condition.field]
            if spec.placed_by and spec.placed_by != date.name:
                needed = specs[spec.placed_by].label
                raise _Problems(
                    f"conditions[{position}].field",
                    f"{spec.label} counts records in the cycle of their {needed.lower()} date: "
                    f"choose {needed} as the date field",
                )


def ruleset_parse(
    rules: Any,
    *,
    custom: Iterable[CustomFieldDecl] = (),
    vocab: Mapping[Vocabulary, set[str]] | None = None,
    default_currency: str = "USD",
    time_zone: str = "UTC",
) -> list[RuleSpec]:
    """Parse and check every rule of a ruleset; raise RulesetError listing every problem."""
    if not isinstance(rules, list):
        raise RulesetError([RuleProblem("#0", "rules", "rules must be a list")])
    custom, vocab = list(custom), vocab or {}
    problems: list[RuleProblem] = []
    parsed: dict[str, RuleSpec] = {}
    invalid: set[str] = set()  # keys of rules with problems of their own, reported already
    for position, raw in enumerate(rules):
        key = raw.get("key") if isinstance(raw, Mapping) else None
        label = key if isinstance(key, str) and key else f"#{position}"
        if not isinstance(raw, Mapping):
            problems.append(RuleProblem(label, "rule", "a rule is an object"))
            continue
        if not isinstance(key, str) or not _KEY.match(key):
            problems.append(RuleProblem(label, "key", "a key is lower_case letters, digits and _"))
            continue
        if key in parsed:
            problems.append(RuleProblem(key, "key", f"the key {key!r} is used twice"))
            continue
        try:
            parsed[key] = _rule(raw, key, custom, vocab, default_currency, time_zone)
        except _Problems as exc:
            invalid.add(key)
            problems.append(RuleProblem(key, exc.field, exc.message))
    for spec in parsed.values():
        if spec.aggregation is not Aggregation.RATIO:
            continue
        for part in ("numerator", "denominator"):
            target = getattr(spec, part)
            if target == spec.key:
                problems.append(RuleProblem(spec.key, part, "a ratio cannot point at itself"))
            elif target in invalid:
                continue
            elif target not in parsed:
                problems.append(
                    RuleProblem(spec.key, part, f"no rule with the key {target!r} in this ruleset")
                )
            elif parsed[target].aggregation is Aggregation.RATIO:
                problems.append(
                    RuleProblem(spec.key, part, f"{target!r} is a ratio; use a counted rule")
                )
    if problems:
        raise RulesetError(problems)
    return list(parsed.values())
