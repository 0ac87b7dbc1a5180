"""The reference evaluator: a goal rule computed in plain Python over a list of records.

It is deliberately simple and slow; the database compiler must agree with it exactly (a
hypothesis test checks that). Records are dicts keyed by catalogue field names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
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


@dataclass
class Parts:
    """What a member's value in one cycle is made of; roll-ups combine parts, never values."""

    count: int = 0
    total: Decimal = Decimal(0)
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    distinct: set[Hashable] = field(default_factory=set)

    def add(self, measured: Any) -> None:
        self.count += 1
        if isinstance(measured, int | Decimal) and not isinstance(measured, bool):
            number = Decimal(measured)
            self.total += number
            self.minimum = number if self.minimum is None else min(self.minimum, number)
            self.maximum = number if self.maximum is None else max(self.maximum, number)
        if measured is not None:
            self.distinct.add(measured)

    def merge(self, other: Parts) -> None:
        """Fold another group's parts in (a finer bucket, or a member of the team)."""
        self.count += other.count
        self.total += other.total
        for name, pick in (("minimum", min), ("maximum", max)):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(
                self,
                name,
                theirs if mine is None else mine if theirs is None else pick(mine, theirs),
            )
        self.distinct |= other.distinct

    def value(self, aggregation: Aggregation) -> Decimal | None:
        return aggregate(
            aggregation, self.count, self.total, self.minimum, self.maximum, len(self.distinct)
        )


def aggregate(
    aggregation: Aggregation,
    count: int,
    total: Decimal,
    minimum: Decimal | None,
    maximum: Decimal | None,
    distinct: int,
) -> Decimal | None:
    """A counted rule's value from its parts (``distinct``: how many different values)."""
    match aggregation:
        case Aggregation.COUNT:
            return Decimal(count)
        case Aggregation.SUM:
            return total
        case Aggregation.AVERAGE:
            return total / count if count else None
        case Aggregation.MIN:
            return minimum
        case Aggregation.MAX:
            return maximum
        case Aggregation.DISTINCT_COUNT:
            return Decimal(distinct)
    raise ValueError(f"{aggregation} is not computed from one rule's records")


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
) -> dict[tuple[int, Hashable], Parts]:
    """Parts per (member, bucket) for a counted rule over ``[start, end)`` and ``members``.

    A record without a value in the measured field (NULL or an empty text) is not counted by
    sum, average, min, max or distinct count (as SQL aggregates skip NULL). ``zone``: the
    tenant's, where a day of a date field begins."""
    result: dict[tuple[int, Hashable], Parts] = defaultdict(Parts)
    for record in records:
        member = record.get(rule.member_field)
        when = _moment(record.get(rule.date_field), zone)
        if member not in members or when is None or not (start <= when < end):
            continue
        if not matches(rule, record):
            continue
        measured = record.get(rule.field) if rule.field else None
        if rule.field and _empty(measured):
            continue
        result[(member, bucket(when))].add(measured)
    return dict(result)
