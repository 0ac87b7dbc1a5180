"""The reference evaluator: a goal rule computed in plain Python over a list of records.

It is deliberately simple and slow; the database compiler must agree with it exactly (a
hypothesis test checks that). Records are dicts keyed by catalogue field names. Nothing here
runs in production, and it imports nothing that does but the rule's own description (the
catalogue's operators, the parsed spec): the engine's parts and roll-up are ``parts.py``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from .catalogue import Condition, Op
from .spec import Aggregation, AnyOf, RuleSpec

Record = Mapping[str, Any]
_UTC = ZoneInfo("UTC")


def _empty(value: Any) -> bool:
    """No value: NULL, or an empty text (a blank cell of an import is stored as '')."""
    return value is None or value == ""


def condition_holds(condition: Condition, record: Record) -> bool:
    """SQL-like semantics: a missing value fails every comparison except the negative ones
    (ne, not_in, which it passes) and is_empty; text contains is case-insensitive."""
    value = record.get(condition.field)
    op, wanted = condition.op, condition.value
    if op is Op.IS_EMPTY:
        return _empty(value)
    if op is Op.IS_NOT_EMPTY:
        return not _empty(value)
    if op is Op.NE:
        return _empty(value) or value != wanted
    if op is Op.NOT_IN:
        return _empty(value) or value not in wanted
    if _empty(value):
        return False
    match op:
        case Op.EQ:
            return value == wanted
        case Op.IN:
            return value in wanted
        case Op.GT:
            return value > wanted
        case Op.GTE:
            return value >= wanted
        case Op.LT:
            return value < wanted
        case Op.LTE:
            return value <= wanted
        case Op.BETWEEN:
            return wanted[0] <= value <= wanted[1]
        case Op.CONTAINS:
            return str(wanted).lower() in str(value).lower()
    raise ValueError(f"unhandled operator {op}")


def matches(rule: RuleSpec, record: Record) -> bool:
    for condition in rule.conditions:
        if isinstance(condition, AnyOf):
            if not any(condition_holds(c, record) for c in condition.conditions):
                return False
        elif not condition_holds(condition, record):
            return False
    return True


def _moment(when: date | datetime | None, zone: ZoneInfo) -> datetime | None:
    """Where a date field places a record: a moment as it is, a day (a custom date field) at
    its local midnight in the tenant's time zone."""
    if when is None or isinstance(when, datetime):
        return when
    return datetime.combine(when, time(), tzinfo=zone)


def evaluate(
    rule: RuleSpec,
    records: Iterable[Record],
    *,
    start: datetime,
    end: datetime,
    members: set[int],
    bucket: Callable[[datetime], Hashable],
    zone: ZoneInfo = _UTC,
) -> dict[tuple[int, Hashable], Decimal | None]:
    """The rule's value per (member, bucket) over ``[start, end)`` and ``members``, for every
    (member, bucket) with at least one record counted.

    A record without a value in the measured field (NULL or an empty text) is not counted by
    sum, average, min, max or distinct count (as SQL aggregates skip NULL). ``zone``: the
    tenant's, where a day of a date field begins."""
    measured: dict[tuple[int, Hashable], list[Any]] = defaultdict(list)
    for record in records:
        member = record.get(rule.member_field)
        when = _moment(record.get(rule.date_field), zone)
        if member not in members or when is None or not (start <= when < end):
            continue
        if not matches(rule, record):
            continue
        value = record.get(rule.field) if rule.field else None
        if rule.field and _empty(value):
            continue
        measured[(member, bucket(when))].append(value)
    return {key: value_of(rule.aggregation, values) for key, values in measured.items()}


def value_of(aggregation: Aggregation, measured: list[Any]) -> Decimal | None:
    """A counted rule's value from the measured values of its records, the plain way."""
    if aggregation is Aggregation.COUNT:
        return Decimal(len(measured))
    if aggregation is Aggregation.DISTINCT_COUNT:
        return Decimal(len(set(measured)))
    numbers = [Decimal(value) for value in measured]
    match aggregation:
        case Aggregation.SUM:
            return sum(numbers, Decimal(0))
        case Aggregation.AVERAGE:
            return sum(numbers, Decimal(0)) / len(numbers) if numbers else None
        case Aggregation.MIN:
            return min(numbers, default=None)
        case Aggregation.MAX:
            return max(numbers, default=None)
    raise ValueError(f"{aggregation} is not computed from one rule's records")
