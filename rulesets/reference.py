"""The reference evaluator: a goal rule computed in plain Python over a list of records.

It is deliberately simple and slow; the database compiler must agree with it exactly (a
hypothesis test checks that). Records are dicts keyed by catalogue field names. Nothing here
runs in production, and it imports nothing that does but the rule's own description (the
catalogue's operators, the parsed spec): the engine's parts and roll-up are ``parts.py``, its
spans of the reporting history ``hierarchy.history``.

``team_achievements`` gives every member's own and team value per cycle the plain way: for
each record, walk the reporting lines up from its member at the record's moment.

``evaluate_at_ends`` computes a snapshot rule (counted as the opportunities stood at each
cycle's end) from each opportunity's list of stage changes, end by end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from .catalogue import ON_TIME, OVERDUE, Condition, Op
from .spec import Aggregation, AnyOf, RuleSpec

Record = Mapping[str, Any]
_UTC = ZoneInfo("UTC")


def _empty(value: Any) -> bool:
    """No value: NULL, or an empty text (a blank cell of an import is stored as '')."""
    return value is None or value == ""


def _on_time(record: Record) -> bool:
    """Completed, and not after it was due."""
    done, due = record.get("completed_at"), record.get("due_at")
    return record.get("status") == "completed" and None not in (done, due) and done <= due


def _overdue(record: Record) -> bool:
    """Open, or completed after it was due (placed by its due date: due before the cycle's
    end)."""
    done, due = record.get("completed_at"), record.get("due_at")
    if record.get("status") == "open":
        return due is not None
    return record.get("status") == "completed" and None not in (done, due) and done > due


DERIVED: dict[str, Callable[[Record], bool]] = {ON_TIME: _on_time, OVERDUE: _overdue}


def value_in(record: Record, field: str) -> Any:
    """A field's value in a record: stored, or derived from the others (a task's on_time)."""
    derive = DERIVED.get(field)
    return derive(record) if derive is not None else record.get(field)


def condition_holds(condition: Condition, record: Record) -> bool:
    """SQL-like semantics: a missing value fails every comparison except the negative ones
    (ne, not_in, which it passes) and is_empty; text contains is case-insensitive."""
    value = value_in(record, condition.field)
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
    by: str | None = None,
) -> dict[tuple[Hashable, ...], Decimal | None]:
    """The rule's value per (member, bucket) over ``[start, end)`` and ``members``, for every
    (member, bucket) with at least one record counted; with ``by`` (a breakdown), per (member,
    bucket, the record's value of that field), None for no value (NULL or an empty text).

    A record without a value in the measured field (NULL or an empty text) is not counted by
    sum, average, min, max or distinct count (as SQL aggregates skip NULL). ``zone``: the
    tenant's, where a day of a date field begins."""
    measured: dict[tuple[Hashable, ...], list[Any]] = defaultdict(list)
    for record in records:
        member = record.get(rule.member_field)
        when = _moment(record.get(rule.date_field), zone)
        if member not in members or when is None or not (start <= when < end):
            continue
        if not matches(rule, record):
            continue
        value = value_in(record, rule.field) if rule.field else None
        if rule.field and _empty(value):
            continue
        measured[(member, bucket(when), *_split(record, by))].append(value)
    return {key: value_of(rule.aggregation, values) for key, values in measured.items()}


def _split(record: Record, by: str | None) -> tuple[Hashable, ...]:
    """The record's part of a breakdown's key: () without one, else its value of ``by``
    (None: no value, NULL or an empty text)."""
    if by is None:
        return ()
    value = record.get(by)
    return (None if _empty(value) else value,)


def stood_at(record: Record, end: datetime, outcomes: Mapping[str, str]) -> Record | None:
    """An opportunity as it stood at ``end``: in the stage its last change before ``end``
    entered (of two changes at one moment, the one listed later), its status that stage's
    outcome; None if it was created at or after ``end`` or had entered no stage by then.

    ``record["changes"]``: its stage changes as (moment, stage entered), in the order written.
    """
    if record["created_at"] >= end:
        return None
    before = [(when, n, stage) for n, (when, stage) in enumerate(record["changes"]) if when < end]
    if not before:
        return None
    stage = max(before)[2]
    return {**record, "stage": stage, "status": outcomes[stage]}


def evaluate_at_ends(
    rule: RuleSpec,
    records: Iterable[Record],
    *,
    ends: Sequence[tuple[datetime, Hashable]],
    members: set[int],
    outcomes: Mapping[str, str],
    by: str | None = None,
) -> dict[tuple[Hashable, ...], Decimal | None]:
    """A snapshot rule's value per (member, cycle) for each (end, cycle) of ``ends``: the
    opportunities as they stood at the end (``stood_at``; ``outcomes``: each stage's open, won
    or lost), credited to their owner, that meet the rule's conditions then; with ``by``, per
    (member, cycle, the value of that field then), as ``evaluate`` splits."""
    records = list(records)
    measured: dict[tuple[Hashable, ...], list[Any]] = defaultdict(list)
    for end, cycle in ends:
        for record in records:
            standing = stood_at(record, end, outcomes)
            if standing is None or standing.get(rule.member_field) not in members:
                continue
            if not matches(rule, standing):
                continue
            value = standing.get(rule.field) if rule.field else None
            if rule.field and _empty(value):
                continue
            measured[(standing[rule.member_field], cycle, *_split(standing, by))].append(value)
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


HistoryLine = tuple[int, int | None, datetime, datetime | None]
"""A reporting line: member, manager (None: the top), from, until (None: still)."""


def manager_at(lines: Iterable[HistoryLine], member: int, when: datetime) -> int | None:
    """Whom ``member`` reported to at ``when`` (None: nobody, or no line then)."""
    for who, manager, since, until in lines:
        if who == member and since <= when and (until is None or when < until):
            return manager
    return None


def chain_at(lines: list[HistoryLine], member: int, when: datetime) -> list[int]:
    """The member and everyone above them at ``when``, from the member up."""
    chain = [member]
    while (manager := manager_at(lines, chain[-1], when)) is not None:
        chain.append(manager)
    return chain


def team_at(lines: list[HistoryLine], head: int, when: datetime) -> set[int]:
    """Everyone in ``head``'s team at ``when``, the head included."""
    members = {line[0] for line in lines}
    return {member for member in members if head in chain_at(lines, member, when)}


def team_achievements(
    rule: RuleSpec,
    records: Iterable[Record],
    *,
    lines: list[HistoryLine],
    head: int,
    cycles: list[tuple[datetime, datetime]],
    zone: ZoneInfo = _UTC,
) -> dict[tuple[int, int], tuple[Decimal | None, Decimal | None]]:
    """(member, cycle index) -> (own value, team value) of a counted rule, for every member
    who was in ``head``'s team at some moment of the cycle (at its start or when a line
    began or ended in it). A record counts for its member while in the team, and for every
    member above them up to the head, as the lines stood at the record's moment."""
    own: dict[tuple[int, int], list[Any]] = defaultdict(list)
    team: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for record in records:
        member = record.get(rule.member_field)
        when = _moment(record.get(rule.date_field), zone)
        index = next((n for n, (a, b) in enumerate(cycles) if when and a <= when < b), None)
        if index is None or not matches(rule, record):
            continue
        value = value_in(record, rule.field) if rule.field else None
        if rule.field and _empty(value):
            continue
        chain = chain_at(lines, member, when)
        if head not in chain:
            continue
        own[(member, index)].append(value)
        for above in chain[: chain.index(head) + 1]:
            team[(above, index)].append(value)
    changes = sorted({moment for line in lines for moment in line[2:] if moment is not None})
    result = {}
    for index, (start, end) in enumerate(cycles):
        moments = [start, *(moment for moment in changes if start < moment < end)]
        for member in set().union(*(team_at(lines, head, moment) for moment in moments)):
            result[(member, index)] = (
                value_of(rule.aggregation, own[(member, index)]),
                value_of(rule.aggregation, team[(member, index)]),
            )
    return result
