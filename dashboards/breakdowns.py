"""Breakdowns: a rule's value in a cycle split by a field (lead source, activity type, stage, a
custom choice or text...), as bars and a table whose rows link to the records behind each bar.

One grouped query per counted rule (``rulesets.compiler.rule_parts`` with ``by``) over the
records the number counts (``records.Window``: the member's, or their team's as the reporting
lines stood at each record's time), so the bars add up to the number on the dashboard. A
ratio splits as sum over sum per bucket: its numerator and denominator are each grouped and
divided bar by bar. The first ``top`` values get a bar each, the rest one "Other" bar, and an
empty value (NULL or '') is its own bar, "(none)". Bars are ranked by their value for counts,
sums and distinct counts, by how many records they hold for averages, minimums and maximums,
and by the denominator for a ratio: a bucket of one deal does not top an average.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.vary import vary_on_headers

from core.formatting import in_unit
from core.numbers import whole_number
from hierarchy.decorators import member_required
from hierarchy.models import Tenant
from rulesets.catalogue import CustomFieldDecl, FieldSpec, fields_for
from rulesets.compiler import BREAKDOWN_TYPES
from rulesets.models import GoalRule
from rulesets.parts import Parts
from rulesets.spec import Aggregation, RuleSpec

from .records import (
    Bucket,
    Rules,
    RulesetRead,
    Window,
    counted_parts,
    number_asked,
    number_window,
    records_link,
)

TOP = 8
"""Values with a bar of their own, by default; the others share the "Other" bar."""
MOST = 50
_RANKED_BY_VALUE = {Aggregation.COUNT, Aggregation.SUM, Aggregation.DISTINCT_COUNT}


def breakdown_fields(
    spec: RuleSpec, specs: Mapping[str, RuleSpec], custom: Iterable[CustomFieldDecl]
) -> list[FieldSpec]:
    """The fields a rule's value can be split by: the choice and text fields of its entity, in
    catalogue order. A ratio of two entities (deals won per lead) splits only by a custom field
    the tenant declared on both under one name, or by a field of the account both name (leads
    won per lead by the account's segment): the other built-in fields of two entities that
    share a name (a lead's status, a deal's) do not mean the same thing."""
    sides = [specs[spec.numerator], specs[spec.denominator]] if spec.entity is None else [spec]
    entities = {side.entity or "" for side in sides}
    custom = list(custom)
    catalogues = [fields_for(entity, custom) for entity in sorted(entities)]
    return [
        field
        for name, field in catalogues[0].items()
        if field.type in BREAKDOWN_TYPES
        and (len(catalogues) == 1 or field.custom or field.shared)
        and all(name in other and other[name].type == field.type for other in catalogues[1:])
    ]


def rule_split_fields(
    tenant: Tenant, rule: GoalRule, read: RulesetRead | None = None
) -> list[FieldSpec] | None:
    """The fields a ruleset's rule can be split by; None when it cannot be computed
    (``read``: its ruleset as ``records.ruleset_read`` gave it, for a page of several)."""
    try:
        rules = Rules.of(tenant, rule, read)
    except Http404:
        return None
    return breakdown_fields(rules.spec, rules.specs, rules.custom)


@dataclass(frozen=True)
class Bar:
    """One bar: its bucket (None: every record, "All"), the parts of each counted rule (one,
    or a ratio's two sides) and the value they make."""

    bucket: Bucket | None
    parts: tuple[Parts, ...]
    value: Decimal | None

    @property
    def label(self) -> str:
        return "All" if self.bucket is None else self.bucket.label()


@dataclass(frozen=True)
class Breakdown:
    """A rule's value split by a field: bars in the order shown, and the value of them all."""

    field: FieldSpec
    bars: list[Bar]
    total: Bar


def _merged(parts: Iterable[Parts]) -> Parts:
    merged = Parts()
    for part in parts:
        merged.merge(part)
    return merged


def bars_split(
    rules: Rules, by: str, sides: Sequence[Mapping[str | None, Parts]], top: int
) -> tuple[list[Bar], Bar]:
    """The bars of a breakdown from each counted rule's parts by value (None: no value), and
    the bar of everything. Pure: ranks the values, keeps ``top`` of them, folds the rest into
    "Other" and the empty value into "(none)"."""
    spec = rules.spec
    empty = Parts()

    def bar(bucket: Bucket | None, values: Iterable[str | None]) -> Bar:
        values = list(values)
        parts = tuple(_merged(side.get(value, empty) for value in values) for side in sides)
        return Bar(bucket, parts, rules.value(parts))

    def weight(value: str) -> Decimal:
        if spec.aggregation == Aggregation.RATIO:
            side, parts = rules.sides()[1], sides[1].get(value, empty)
            return parts.value(side.aggregation) or Decimal(0)
        parts = sides[0].get(value, empty)
        if spec.aggregation in _RANKED_BY_VALUE:
            return parts.value(spec.aggregation) or Decimal(0)
        return Decimal(parts.count)

    named = sorted({value for side in sides for value in side if value is not None})
    ranked = sorted(named, key=lambda value: -weight(value))  # ties stay in name order
    shown, rest = ranked[:top], ranked[top:]
    bars = [bar(Bucket(by, value=value), [value]) for value in shown]
    if any(None in side for side in sides):
        bars.append(bar(Bucket(by), [None]))
    if rest:
        bars.append(bar(Bucket(by, others=tuple(shown)), rest))
    everything = bar(None, [*named, None])
    return bars, everything


def rule_breakdown(rules: Rules, window: Window, by: str, top: int = TOP) -> Breakdown:
    """The rule's value over ``window`` split by the field ``by`` (one grouped query per
    counted rule)."""
    fields = {
        field.name: field for field in breakdown_fields(rules.spec, rules.specs, rules.custom)
    }
    if by not in fields:
        raise ValueError(f"{rules.spec.name} cannot be split by {by!r}")
    sides = []
    for side in rules.sides():
        grouped = counted_parts(side, rules.custom, window, by=by)
        sides.append({value: parts for (_cycle, value), parts in grouped.items()})
    bars, total = bars_split(rules, by, sides, top)
    return Breakdown(fields[by], bars, total)


def breakdown_rows(
    breakdown: Breakdown, rules: Rules, rule: GoalRule, records: str
) -> list[dict[str, Any]]:
    """What the template shows of each bar, and of all of them last: its label, value, width
    (of the widest bar) and links to its records (``records``: the records page's URL of the
    whole number, to which a bar adds its bucket; a ratio links to each side); and,
    unformatted for the API, its value (``number``) and how many records each counted rule
    holds (``counts``)."""
    highest = max((bar.value or 0 for bar in breakdown.bars), default=0)
    rows = []
    for bar in [*breakdown.bars, breakdown.total]:
        whole = bar.bucket is None
        url = records if bar.bucket is None else f"{records}&{bar.bucket.query()}"
        links = []
        suffixes = ("", "&side=denominator")
        for side, parts, suffix in zip(rules.sides(), bar.parts, suffixes, strict=False):
            if rules.spec.aggregation == Aggregation.RATIO:
                text = in_unit(parts.value(side.aggregation), side.unit, side.currency or "")
            else:
                text = f"{parts.count:,} record{'s' if parts.count != 1 else ''}"
            links.append({"text": text, "url": url + suffix})
        width = max(int((bar.value or 0) * 100 / highest), 0) if highest > 0 else 0
        rows.append(
            {
                "label": bar.label,
                "value": in_unit(bar.value, rule.unit, rule.currency),
                "width": min(width, 100),
                "links": links,
                "whole": whole,
                "number": bar.value,
                "counts": [parts.count for parts in bar.parts],
            }
        )
    return rows


def _top(request: HttpRequest) -> int:
    wanted = whole_number(request.GET.get("top"))
    return TOP if wanted is None else min(max(wanted, 1), MOST)


@member_required()
@vary_on_headers("HX-Request")
def rule_breakdown_view(request: HttpRequest) -> HttpResponse:
    """A number (as the records page names it, ``records.number_asked``) split by a field:
    ``&by=<field>[&top=N]``; an HTMX request gets the breakdown alone (what goal progress
    swaps in)."""
    number = number_asked(request)
    rules = Rules.of(request.tenant, number.rule)
    fields = breakdown_fields(rules.spec, rules.specs, rules.custom)
    if not fields:
        raise Http404("this rule has no field to split by")
    by = request.GET.get("by") or fields[0].name
    if by not in {field.name for field in fields}:
        raise Http404("no such field to split by")
    window = number_window(request.tenant, number)
    top = _top(request)
    breakdown = rule_breakdown(rules, window, by, top)
    context = {
        "number": number,
        "number_fields": parse_qsl(number.query()),
        "rule": number.rule,
        "goal": number.goal,
        "subject": number.member,
        "cycle": number.cycle,
        "whole_team": number.whole_team,
        "ratio": rules.spec.aggregation == Aggregation.RATIO,
        "sides": [side.name for side in rules.sides()],
        "fields": fields,
        "by": breakdown.field,
        "top": top,
        "rows": breakdown_rows(breakdown, rules, number.rule, records_link(number)),
    }
    template = "dashboards/breakdown.html"
    if request.htmx:
        template += "#breakdown"
    return render(request, template, context)
