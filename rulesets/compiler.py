"""The rule compiler: one goal rule becomes one grouped query over the entity table.

The query filters by tenant, the date window, the rule's conditions and the team's members,
and groups in the database by member and by a bucket of the tenant's local calendar: a month
for monthly, quarterly and yearly cycles (fiscal quarters and years are whole months), a week
when weeks start on Monday, otherwise a day. Every cycle boundary is a local midnight, so the
few rows per member and bucket then fold exactly into cycles. Only catalogue paths reach the
query; values travel as parameters.

A breakdown is the same query grouped by one field more (``by``, a choice or text field of the
rule's entity): each group's parts are then those of the records with that value, an empty
value (NULL or '') being one group, None.

A rule counted at each cycle's end (``Mode.CYCLE_END``, a snapshot) reads the stage history
instead: each StageChange is the opportunity's standing from its moment until the next change,
and stands at every cycle end in between (opportunities created after an end do not exist at
it). One grouped query gives, per member, the first and last cycle end a standing covers, so a
change that stood through a year of month ends is one row, not twelve; the fold adds it to each.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import EmptyResultSet
from django.db import transaction
from django.db.models import (
    Aggregate,
    BooleanField,
    Case,
    Count,
    DateField,
    DecimalField,
    Exists,
    Expression,
    F,
    Func,
    IntegerField,
    Lookup,
    Max,
    Min,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import (
    Cast,
    Coalesce,
    Greatest,
    TruncDate,
    TruncMonth,
    TruncWeek,
)
from django.db.models.lookups import Contains, GreaterThanOrEqual, In
from django.db.models.sql.compiler import SQLCompiler
from django_scopes import scope

from crm.models import Activity, Lead, Opportunity, StageChange, Task
from hierarchy.models import Tenant

from .catalogue import (
    NUMERIC,
    ON_TIME,
    OVERDUE,
    Condition,
    CustomFieldDecl,
    FieldSpec,
    FieldType,
    Op,
    fields_for,
)
from .parts import Parts
from .spec import Aggregation, AnyOf, RuleSpec

# Snapshot: an opportunity's field as it stood at a cycle's end, read from a StageChange row.
# Its stage and status are those of the stage it had entered then (a stage's outcome is
# open, won or lost: the status of a deal in it); the rest are the opportunity's own.
_STANDING_PATHS = {"stage": "to_stage__name", "status": "to_stage__outcome"}

MODELS: dict[str, type[Model]] = {
    "lead": Lead,
    "activity": Activity,
    "opportunity": Opportunity,
    "stage_change": StageChange,
    "task": Task,
}
_TEXTUAL = {FieldType.TEXT, FieldType.CHOICE}
BREAKDOWN_TYPES = frozenset(_TEXTUAL)
"""The types of the fields a rule's value can be split by (``by``)."""


class InArray(Lookup):
    """``lhs = ANY(%s)`` with the ids as one array parameter on PostgreSQL, an IN list
    elsewhere: a team's 2,000 member ids are then one value for Django and the database to
    read instead of 2,000 parameters, each prepared on its own."""

    prepare_rhs = False  # the ids stay one list

    def as_sql(self, compiler: SQLCompiler, connection: Any) -> tuple[str, list[Any]]:
        if not self.rhs:
            raise EmptyResultSet
        if connection.vendor != "postgresql":
            return compiler.compile(In(self.lhs, self.rhs))
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]


class UnicodeLower(Func):
    """LOWER() of every letter: SQLite's own lowers only ASCII ('CAFÉ' stayed 'cafÉ'), so
    there it is Python's str.lower, registered on each connection (``rulesets.apps``)."""

    function = "LOWER"
    output_field = TextField()

    def as_sqlite(self, compiler: SQLCompiler, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function=SQLITE_LOWER, **extra)


SQLITE_LOWER = "goals_lower"


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def granularity_for(cycle_kind: str, week_start: int) -> Granularity:
    """The coarsest local bucket whose boundaries are boundaries of every cycle of the kind."""
    if cycle_kind in ("monthly", "quarterly", "yearly"):
        return Granularity.MONTH
    if cycle_kind in ("weekly", "biweekly") and week_start == 0:
        return Granularity.WEEK
    return Granularity.DAY


# The derived fields' tests, as the catalogue defines them (``catalogue.ON_TIME``...).
DERIVED: dict[str, Q] = {
    ON_TIME: Q(status=Task.Status.COMPLETED, completed_at__lte=F("due_at")),
    OVERDUE: Q(status=Task.Status.OPEN)
    | Q(status=Task.Status.COMPLETED, completed_at__gt=F("due_at")),
}


def _expression(spec: FieldSpec) -> Expression:
    """The field's value in SQL. A custom field's is read from ``attributes`` as text and cast
    to its type, so that it compares as a column of that type would (a text compared with a
    JSON value fails on SQLite: "malformed JSON"). A derived field is true or false, never
    empty (a NULL moment fails its test)."""
    if spec.derived:
        return Case(When(DERIVED[spec.path], then=Value(True)), default=Value(False),
                    output_field=BooleanField())  # fmt: skip
    if not spec.custom:
        return F(spec.path)
    if spec.type is FieldType.BOOLEAN:
        return F(spec.path)  # compared as JSON true/false
    column, _, key = spec.path.rpartition("__")  # attributes (through a relation), its key
    text = KeyTextTransform(key, column)
    if spec.type in NUMERIC:
        return Cast(text, DecimalField(max_digits=28, decimal_places=6))
    if spec.type is FieldType.DATE:
        return Cast(text, DateField())
    return Cast(text, TextField())


def _no_value(alias: str, spec: FieldSpec) -> Q:
    """The rows where the field has no value: NULL, and for a text an empty one."""
    empty = Q(**{f"{alias}__isnull": True})
    if spec.type in _TEXTUAL:
        empty |= Q(**{alias: ""})
    return empty


def _q(alias: str, spec: FieldSpec, condition: Condition) -> Q:
    op, value = condition.op, condition.value
    empty = _no_value(alias, spec)
    match op:
        case Op.IS_EMPTY:
            return empty
        case Op.IS_NOT_EMPTY:
            return ~empty
        case Op.EQ:
            return Q(**{alias: value})
        case Op.NE:  # a missing value is "not equal", as in the reference evaluator
            return empty | ~Q(**{alias: value})
        case Op.IN:
            return Q(**{f"{alias}__in": value})
        case Op.NOT_IN:
            return empty | ~Q(**{f"{alias}__in": value})
        case Op.BETWEEN:
            return Q(**{f"{alias}__range": value})
        case Op.CONTAINS:  # ignoring case beyond ASCII, as str.lower() does
            return Q(Contains(UnicodeLower(F(alias)), str(value).lower()))
    return Q(**{f"{alias}__{op.value}": value})  # gt, gte, lt, lte


def _bucket(placed: Expression, day: bool, granularity: Granularity, zone: ZoneInfo) -> Expression:
    """The local calendar bucket of a record's date (``day``: a date, already local)."""
    if day:
        if granularity is Granularity.DAY:
            return placed
        trunc = TruncWeek if granularity is Granularity.WEEK else TruncMonth
        # A date again: PostgreSQL truncates a date as a timestamp with time zone, whose UTC
        # midnight read in a zone west of UTC is the day before.
        return Cast(trunc(placed, output_field=DateField()), DateField())
    trunc = {Granularity.DAY: TruncDate, Granularity.WEEK: TruncWeek, Granularity.MONTH: TruncMonth}
    return trunc[granularity](placed, tzinfo=zone)


def _local_days(start: datetime, end: datetime, zone: ZoneInfo) -> tuple[date, date]:
    """The days whose local midnight lies in ``[start, end)``, as a half-open range of dates:
    a custom date places its record at its local midnight in the tenant's time zone."""
    return _first_day_from(start, zone), _first_day_from(end, zone)


def _first_day_from(moment: datetime, zone: ZoneInfo) -> date:
    """The first day whose local midnight is at or after ``moment``."""
    day = moment.astimezone(zone).date()
    return day if datetime.combine(day, time(), tzinfo=zone) >= moment else day + timedelta(1)


def _local_date(bucket: date | datetime | str, zone: ZoneInfo) -> date:
    """A bucket's local day from what the database gives: a date, a local wall time (a naive
    datetime), an aware moment, or (SQLite) their text."""
    if isinstance(bucket, str):
        return date.fromisoformat(bucket[:10])
    if isinstance(bucket, datetime):
        return bucket.astimezone(zone).date() if bucket.tzinfo else bucket.date()
    return bucket


def rule_records(
    rule: RuleSpec,
    *,
    tenant: Tenant,
    start: datetime,
    end: datetime,
    member_ids: Iterable[int],
    custom: Iterable[CustomFieldDecl] = (),
    during: During | None = None,
) -> QuerySet:
    """The records a counted rule counts: its entity's rows in ``[start, end)``, credited to one
    of ``member_ids`` (with ``during``: within one of that member's stretches of time), that
    meet its conditions and (when it measures a field) have a value. For a snapshot: the
    opportunities as they stood at ``end``, of the members in the team just before it."""
    if not rule.snapshot:
        return _filtered(rule, tenant, start, end, member_ids, custom, during)[0]
    if during is not None:
        member_ids = [
            member
            for member, stretches in during.items()
            if any(since < end <= until for since, until in stretches)
        ]
    rows = _filtered(rule, tenant, start, end, member_ids, custom)[0]
    with scope(tenant=tenant):
        standing = rows.filter(_not_replaced_before(end))
        return Opportunity.objects.filter(pk__in=standing.values("opportunity_id"))


During = Mapping[int, Sequence[tuple[datetime, datetime]]]
"""Member id -> the stretches of time ``[since, until)`` in which their records count."""


def _filtered(
    rule: RuleSpec,
    tenant: Tenant,
    start: datetime,
    end: datetime,
    member_ids: Iterable[int],
    custom: Iterable[CustomFieldDecl],
    during: During | None = None,
) -> tuple[QuerySet, str | None]:
    """The rule's rows, and the alias of its measured field (None when it measures none).
    For a snapshot: the StageChange rows not replaced before ``start`` and begun before
    ``end`` (one replaced exactly at ``start`` too: it stands at no end, which the fold
    skips); which of the cycle ends in ``(start, end]`` each stands at the caller tells from
    its next change, read once a row (``during`` is applied by the fold, at each end)."""
    specs = _specs(rule, custom)
    with scope(tenant=tenant):
        model = StageChange if rule.snapshot else MODELS[rule.entity]
        rows = model.objects.filter(InArray(F(specs[rule.member_field].path), list(member_ids)))
    aliases: dict[str, str] = {}

    def alias_of(name: str) -> str:
        if name not in aliases:
            aliases[name] = f"_f{len(aliases)}"
            nonlocal rows
            rows = rows.alias(**{aliases[name]: _expression(specs[name])})
        return aliases[name]

    zone = ZoneInfo(tenant.time_zone)
    if rule.snapshot:
        # The moment the opportunity stood so from: the change, or its creation if later.
        since = Greatest(F("changed_at"), F("opportunity__created_at"))
        # A row changed again before the start stands at no end: one probe of the history,
        # which the window's own rows skip (most rows of a long history are older).
        with scope(tenant=tenant):
            stood = _not_replaced_before(start)
        rows = rows.alias(_since=since).filter(Q(_since__lt=end), Q(changed_at__gte=start) | stood)
    else:
        placed = specs[rule.date_field]
        if placed.custom:
            first, last = _local_days(start, end, zone)
            window = {"gte": first, "lt": last}
            date_alias = alias_of(rule.date_field)
        else:
            window, date_alias = {"gte": start, "lt": end}, placed.path
        rows = rows.filter(**{f"{date_alias}__{key}": bound for key, bound in window.items()})
    if during is not None and not rule.snapshot:
        rows = rows.filter(_during_q(during, specs[rule.member_field].path, date_alias,
                                     placed.custom, zone, (start, end)))  # fmt: skip
    for item in rule.conditions:
        group = item.conditions if isinstance(item, AnyOf) else (item,)
        q = Q()
        for condition in group:
            q |= _q(alias_of(condition.field), specs[condition.field], condition)
        rows = rows.filter(q)
    if rule.field is None:
        return rows, None
    measured = alias_of(rule.field)
    return rows.exclude(_no_value(measured, specs[rule.field])), measured


def _specs(rule: RuleSpec, custom: Iterable[CustomFieldDecl]) -> dict[str, FieldSpec]:
    """The catalogue the rule's query reads: its entity's, or for a snapshot the opportunity's
    as reached from a StageChange row (the stage and status of the stage it entered)."""
    specs = fields_for(rule.entity, custom)
    if not rule.snapshot:
        return specs
    return {
        name: replace(spec, path=_STANDING_PATHS.get(name, f"opportunity__{spec.path}"))
        for name, spec in specs.items()
    }


def _next_change() -> QuerySet:
    """The StageChanges that follow the outer one, the next first (none: it is the
    opportunity's last). Of two changes at one moment the later written stands."""
    later = StageChange.objects.filter(opportunity_id=OuterRef("opportunity_id")).filter(
        Q(changed_at__gt=OuterRef("changed_at"))
        | Q(changed_at=OuterRef("changed_at"), pk__gt=OuterRef("pk"))
    )
    return later.order_by("changed_at", "pk")


def _not_replaced_before(moment: datetime) -> Exists:
    """Whether the outer StageChange is not replaced before ``moment`` (a next change at
    ``moment`` itself does not count): if begun, it stands there."""
    return ~Exists(_next_change().filter(changed_at__lt=moment))


def _during_q(
    during: During,
    member: str,
    placed: str,
    day: bool,
    zone: ZoneInfo,
    window: tuple[datetime, datetime],
) -> Q:
    """Rows of a member of ``during`` placed in one of their stretches (``day``: ``placed`` is a
    date, at its local midnight); members in for the whole window are one list."""
    whole = [m for m, stretches in during.items() if list(stretches) == [window]]
    q = Q(InArray(F(member), whole)) if whole else Q(pk__in=[])
    for member_id, stretches in during.items():
        if list(stretches) == [window]:
            continue
        for since, until in stretches:
            if day:
                since, until = _first_day_from(since, zone), _first_day_from(until, zone)
            q |= Q(**{member: member_id, f"{placed}__gte": since, f"{placed}__lt": until})
    return q


# The part besides the count that an aggregation reads, and how the database computes it.
# The column is named after the part (``_total`` for ``Parts.total``).
_PARTS: dict[str, tuple[str, type[Aggregate]]] = {
    "sum": ("total", Sum),
    "average": ("total", Sum),
    "min": ("minimum", Min),
    "max": ("maximum", Max),
}
_PART_NAMES = frozenset(part for part, _function in _PARTS.values())


Splits = Mapping[int, Sequence[datetime]]
"""Member id -> the moments (ascending, inside the window) at which that member's records
begin another span: records before the first are span 0, from the first on span 1..."""


def _split_moments(splits: Splits) -> list[datetime]:
    """Every moment of ``splits`` once, ascending: the ``_span`` column gives its place + 1."""
    return sorted({moment for moments in splits.values() for moment in moments})


def _span(
    splits: Splits,
    member: Expression,
    placed: Expression,
    day: bool,
    zone: ZoneInfo,
    members: list[int],
) -> Expression:
    """The ``_span`` column: 0, or the place + 1 (in ``_split_moments``) of the latest of the
    record's member's moments at or before the record's date (``day``: a date, placed at its
    local midnight). One CASE, latest moment first; the date is tested before the member."""
    at: dict[datetime, list[int]] = {}
    for member_id, moments in splits.items():
        for moment in moments:
            at.setdefault(moment, []).append(member_id)
    moments = _split_moments(splits)
    whens = [
        When(
            Q(GreaterThanOrEqual(placed, _first_day_from(moment, zone) if day else moment))
            & _one_of(member, at[moment], members),
            then=Value(place + 1),
        )
        for place, moment in reversed(list(enumerate(moments)))
    ]
    return Case(*whens, default=Value(0), output_field=IntegerField())


def _one_of(member: Expression, chosen: list[int], members: list[int]) -> Q:
    """The record's member is one of ``chosen``, for records of ``members``: said by the
    shorter list (a reorganization moves most of a team at one moment), or not at all when
    every member is chosen. A list is tested row by row, so its length is the cost."""
    others = set(members).difference(chosen)
    if not others:
        return Q()
    if len(others) < len(chosen):
        return ~Q(InArray(member, sorted(others)))
    return Q(InArray(member, chosen))


def rule_queryset(
    rule: RuleSpec,
    *,
    tenant: Tenant,
    start: datetime,
    end: datetime,
    member_ids: Iterable[int],
    granularity: Granularity,
    custom: Iterable[CustomFieldDecl] = (),
    splits: Splits | None = None,
    during: During | None = None,
    by: str | None = None,
    cycle_of: Callable[[date], Hashable] = lambda day: day,
) -> QuerySet:
    """The grouped query of a counted rule: rows of ``_member``, ``_bucket`` (and with
    ``splits``, ``_span``; with ``by``, ``_by``: the value of that field) and the parts its
    aggregation reads (a count, and a sum, minimum or maximum of the measured field). A
    snapshot's rows have ``_first`` and ``_last`` instead of a bucket: the places of the first
    and last of ``cycle_ends(...)`` that each stands at (``_first`` > ``_last``: none),
    ``cycle_of`` telling which buckets make one cycle."""
    specs = _specs(rule, custom)
    zone = ZoneInfo(tenant.time_zone)
    member_ids = list(member_ids)
    rows, measured = _filtered(rule, tenant, start, end, member_ids, custom, during)
    member = F(specs[rule.member_field].path)
    if rule.snapshot:
        ends = [moment for moment, _day in cycle_ends(start, end, granularity, zone, cycle_of)]
        with scope(tenant=tenant):
            last = _last_end(ends)
        rows = rows.annotate(_member=member, _first=_first_end(ends), _last=last)
        groups = ["_member", "_first", "_last"]
        splits = None  # a snapshot's member spans are told at each end, by the fold
    else:
        placed = specs[rule.date_field]
        placed_at = _expression(placed) if placed.custom else F(placed.path)
        bucket = _bucket(placed_at, placed.custom, granularity, zone)
        rows = rows.annotate(_member=member, _bucket=bucket)
        groups = ["_member", "_bucket"]
    if splits:
        span = _span(splits, member, placed_at, placed.custom, zone, member_ids)
        rows = rows.annotate(_span=span)
        groups.append("_span")
    if by is not None:
        if specs[by].type not in BREAKDOWN_TYPES:
            raise ValueError(f"{specs[by].label} is not a choice or a text: nothing to split by")
        rows = rows.annotate(_by=_expression(specs[by]))
        groups.append("_by")
    if rule.aggregation == "distinct_count" and measured is not None:
        rows = rows.annotate(_value=F(measured))
        return rows.values(*groups, "_value").order_by().distinct()
    parts = {}
    if measured is not None and rule.aggregation in _PARTS:
        part, function = _PARTS[rule.aggregation]
        parts[f"_{part}"] = function(measured)
    # COUNT(*), not COUNT(id): the id is in no covering index, and reading it sent every
    # counted row back to the table (an index-only scan became a bitmap heap scan).
    return rows.values(*groups).order_by().annotate(_count=Count("*"), **parts)


def cycle_ends(
    start: datetime,
    end: datetime,
    granularity: Granularity,
    zone: ZoneInfo,
    cycle_of: Callable[[date], Hashable] = lambda day: day,
) -> list[tuple[datetime, date]]:
    """The end of each cycle in ``[start, end)``, with the local day of the last bucket before
    it (whose ``cycle_of`` names the cycle): consecutive buckets of one cycle are one cycle, so
    the end of a month of daily buckets is the end of its last day."""
    day = start.astimezone(zone).date()
    if granularity is Granularity.WEEK:
        day -= timedelta(days=day.weekday())
    elif granularity is Granularity.MONTH:
        day = day.replace(day=1)
    ends: list[tuple[datetime, date]] = []
    while datetime.combine(day, time(), tzinfo=zone) < end:
        following = _next_bucket(day, granularity)
        moment = min(end, datetime.combine(following, time(), tzinfo=zone))
        if ends and cycle_of(ends[-1][1]) == cycle_of(day):
            ends[-1] = (moment, day)
        else:
            ends.append((moment, day))
        day = following
    return ends


def _next_bucket(day: date, granularity: Granularity) -> date:
    if granularity is Granularity.DAY:
        return day + timedelta(days=1)
    if granularity is Granularity.WEEK:
        return day + timedelta(days=7)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _first_end(ends: list[datetime]) -> Expression:
    """The place of the first end after the standing began (``len(ends)``: none)."""
    whens = [When(_since__lt=moment, then=Value(at)) for at, moment in enumerate(ends)]
    return Case(*whens, default=Value(len(ends)), output_field=IntegerField())


def _last_end(ends: list[datetime]) -> Expression:
    """The place of the last end at or before the standing's next change (-1: none, as for
    a row changed again before the first end, which the fold skips). The place is worked out
    inside the subquery that finds the next change, and nothing else in the query reads that
    change, so that it runs once a row: a CASE over the change's moment, or a filter on it,
    would run it again for each end, or each test."""
    whens = [
        When(changed_at__gte=moment, then=Value(at))
        for at, moment in reversed(list(enumerate(ends)))
    ]
    place = Case(*whens, default=Value(-1), output_field=IntegerField())
    following = _next_change().annotate(_place=place).values("_place")[:1]
    return Coalesce(Subquery(following), Value(len(ends) - 1), output_field=IntegerField())


def rule_parts(
    rule: RuleSpec,
    *,
    tenant: Tenant,
    start: datetime,
    end: datetime,
    member_ids: Iterable[int],
    granularity: Granularity,
    custom: Iterable[CustomFieldDecl] = (),
    cycle_of: Callable[[date], Hashable] = lambda day: day,
    splits: Splits | None = None,
    credit_of: Callable[[int, int], Hashable] = lambda member, span: member,
    during: During | None = None,
    by: str | None = None,
) -> dict[tuple[Hashable, ...], Parts]:
    """Run the rule's query and fold its rows into Parts per (credit_of(member, span),
    cycle_of(local bucket)), where span numbers the member's spans of ``splits`` (0 without);
    with ``by``, per (credit, cycle, the field's value), an empty value being None.

    Only the parts that the rule's own aggregation reads are filled in: read the result with
    ``Parts.value(rule.aggregation)``."""
    zone = ZoneInfo(tenant.time_zone)
    query = rule_queryset(
        rule,
        tenant=tenant,
        start=start,
        end=end,
        member_ids=member_ids,
        granularity=granularity,
        custom=custom,
        splits=splits,
        during=during,
        by=by,
        cycle_of=cycle_of,
    )
    # Rows as the database gives them: Django's converters of every column cost more than the
    # fold. The bucket, which differs by database, is read by _local_date; the part goes
    # through its converters (SQLite sums money as floats, which they round back).
    compiler = query.query.get_compiler(query.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # no members: what iterating the queryset would give
        return {}
    with compiler.connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    distinct = "_value" in names
    count_at = None if distinct else names.index("_count")
    part_at, part = next(
        ((at, name[1:]) for at, name in enumerate(names) if name[1:] in _PART_NAMES), (0, None)
    )
    read = _converted(compiler, f"_{part}") if part else None

    def parts_of(row: Sequence[Any]) -> Parts:
        if distinct:
            return Parts(distinct={row[-1]})
        return _parts(row[count_at], part, read(row[part_at]) if read else None)

    def by_of(row: Sequence[Any]) -> tuple[Hashable, ...]:
        return () if by_at is None else (row[by_at] if row[by_at] != "" else None,)

    by_at = names.index("_by") if by is not None else None
    if rule.snapshot:
        ends = cycle_ends(start, end, granularity, zone, cycle_of)
        return _fold_standing(
            rows, names, parts_of, by_of, ends, cycle_of, splits, credit_of, during
        )
    member_at, bucket_at = names.index("_member"), names.index("_bucket")
    span_at = names.index("_span") if splits else None
    span_of = _span_numbers(splits or {})
    folded: dict[tuple[Hashable, ...], Parts] = {}
    cycles: dict[Any, Hashable] = {}  # a few buckets, each met in many rows
    credits: dict[tuple[int, int], Hashable] = {}  # a few spans a member
    for row in rows:
        bucket = row[bucket_at]
        if bucket not in cycles:
            cycles[bucket] = cycle_of(_local_date(bucket, zone))
        spanned = (row[member_at], 0 if span_at is None else row[span_at])
        if spanned not in credits:
            credits[spanned] = credit_of(spanned[0], span_of.get(spanned, 0))
        key = (credits[spanned], cycles[bucket], *by_of(row))
        parts = folded.get(key)
        if parts is None:
            folded[key] = parts_of(row)
        else:
            parts.merge(parts_of(row))
    return folded


def _fold_standing(
    rows: Iterable[Sequence[Any]],
    names: list[str],
    parts_of: Callable[[Sequence[Any]], Parts],
    by_of: Callable[[Sequence[Any]], tuple[Hashable, ...]],
    ends: list[tuple[datetime, date]],
    cycle_of: Callable[[date], Hashable],
    splits: Splits | None,
    credit_of: Callable[[int, int], Hashable],
    during: During | None,
) -> dict[tuple[Hashable, ...], Parts]:
    """A snapshot's rows folded into Parts at each cycle end they stand at: the member's
    place is the one they held just before the end (their span then, as a record dated
    then would be credited), and with ``during`` only inside one of their stretches; with a
    breakdown, by the value ``by_of`` reads too."""
    member_at, first_at, last_at = (names.index(n) for n in ("_member", "_first", "_last"))
    moments = {member: sorted(at) for member, at in (splits or {}).items()}
    folded: dict[tuple[Hashable, ...], Parts] = {}
    for row in rows:
        member = row[member_at]
        for at in range(row[first_at], min(row[last_at], len(ends) - 1) + 1):
            moment, day = ends[at]
            if during is not None and not any(
                since < moment <= until for since, until in during.get(member, ())
            ):
                continue
            credit = credit_of(member, bisect_left(moments.get(member, []), moment))
            key = (credit, cycle_of(day), *by_of(row))
            folded.setdefault(key, Parts()).merge(parts_of(row))
    return folded


def _span_numbers(splits: Splits) -> dict[tuple[int, int], int]:
    """(member, ``_span`` value) -> the member's span number: 1 + the moment's place among
    the member's own moments."""
    place = {moment: at + 1 for at, moment in enumerate(_split_moments(splits))}
    return {
        (member, place[moment]): number
        for member, moments in splits.items()
        for number, moment in enumerate(moments, start=1)
    }


class RuleNotCompiled(Exception):
    """A rule the database cannot run; ``field`` names the part of the rule at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def rule_check(rule: RuleSpec, *, tenant: Tenant, custom: Iterable[CustomFieldDecl] = ()) -> None:
    """Run a counted rule on the database in use over no member, at every granularity, part by
    part (its date field, what it measures, each condition), in a savepoint each; raise
    RuleNotCompiled naming the first part the database refuses."""
    now = datetime.now(ZoneInfo(tenant.time_zone))
    bare = replace(rule, aggregation=Aggregation.COUNT, field=None, conditions=())
    steps: list[tuple[str, RuleSpec, tuple[Granularity, ...]]] = [
        ("mode" if rule.snapshot else "date_field", bare, tuple(Granularity))
    ]
    if rule.field is not None:
        steps.append(("field", replace(rule, conditions=()), (Granularity.DAY,)))
    steps += [
        (f"conditions[{n}]", replace(bare, conditions=(item,)), (Granularity.DAY,))
        for n, item in enumerate(rule.conditions)
    ]
    for part, spec, granularities in steps:
        for granularity in granularities:
            try:
                with transaction.atomic():
                    rule_parts(
                        spec,
                        tenant=tenant,
                        start=now - timedelta(days=1),
                        end=now,
                        member_ids=[0],  # no member has it: the query runs and finds nothing
                        granularity=granularity,
                        custom=custom,
                    )
            except Exception as exc:  # noqa: BLE001  (whatever the database says, it is said)
                reason = str(exc).strip().splitlines()[:1] or [exc.__class__.__name__]
                raise RuleNotCompiled(part, f"the database cannot compute it: {reason[0]}") from exc


def _converted(compiler: SQLCompiler, alias: str) -> Callable[[Any], Any]:
    """How Django reads the column ``alias`` of the compiled query (its converters)."""
    expression = next(column for column, _sql, name in compiler.select if name == alias)
    connection = compiler.connection
    converters = [
        *connection.ops.get_db_converters(expression),
        *expression.get_db_converters(connection),
    ]

    def read(value: Any) -> Any:
        for converter in converters:
            value = converter(value, expression, connection)
        return value

    return read


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _parts(count: int, part: str | None, value: Any) -> Parts:
    """One row's parts: its count and the one other part its rule reads, if any."""
    parts = Parts(count=count)
    if part is not None:
        setattr(parts, part, _number(value))
    return parts
