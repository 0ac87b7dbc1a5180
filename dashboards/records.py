"""The records behind a number: the CRM rows a dashboard value was computed from.

The page runs the rule's own filter (``rulesets.compiler.rule_records``) for the member (or
their whole team, as the reporting lines stood at each record's time) and the cycle, so the
count it shows is the count the engine counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.vary import vary_on_headers

from achievements.models import Achievement
from achievements.services import TeamOverTime
from core.csvcells import NeutralDictWriter
from crm.listings import LISTING_OF_ENTITY, PAGE_SIZE, Listing
from goals.calendar import Cycle
from goals.models import Goal
from hierarchy.decorators import member_required
from hierarchy.models import Member
from rulesets.compiler import Granularity, rule_parts, rule_records
from rulesets.models import GoalRule
from rulesets.parts import Parts
from rulesets.services import rule_specs, tenant_vocabulary
from rulesets.spec import Aggregation, RuleSpec


def _whole(request: HttpRequest, name: str) -> int:
    try:
        return int(request.GET.get(name, ""))
    except ValueError:
        raise Http404(f"{name} must be a whole number") from None


@dataclass(frozen=True)
class Number:
    """What a link to the records behind a number names: a goal's rule, a member (or their
    team), a cycle, and for a ratio which side."""

    goal: Goal
    rule: GoalRule
    member: Member
    cycle: Cycle
    whole_team: bool
    side: str


def _number_asked(request: HttpRequest) -> Number:
    """The number of ``?goal=&rule=&member=&cycle=<index>&scope=own|team[&side=denominator]``,
    or 404 for anything the viewer may not see or that does not exist."""
    goals = Goal.objects.select_related("tenant", "team", "ruleset")
    goal = get_object_or_404(goals, pk=_whole(request, "goal"))
    member = get_object_or_404(
        Member.objects.visible_to(request.member), pk=_whole(request, "member")
    )
    rule = get_object_or_404(goal.ruleset.rules.all(), pk=_whole(request, "rule"))
    cycles = goal.cycles()
    index = _whole(request, "cycle")
    if not 0 <= index < len(cycles):
        raise Http404("no such cycle")
    side = "denominator" if request.GET.get("side") == "denominator" else "numerator"
    whole_team = request.GET.get("scope") == "team"
    return Number(goal, rule, member, cycles[index], whole_team, side)


def _counted(shown: RuleSpec, custom: list, window: dict) -> Decimal | None:
    """The value of the listed records, computed by the engine's own query."""
    counted = Parts()
    found = rule_parts(
        shown, custom=custom, granularity=Granularity.MONTH, cycle_of=lambda day: 0, **window
    )
    for parts in found.values():
        counted.merge(parts)
    return counted.value(shown.aggregation)


@member_required()
@vary_on_headers("HX-Request")
def achievement_records(request: HttpRequest) -> HttpResponse:
    """The records behind one number, a page at a time, with the value they make."""
    number = _number_asked(request)
    tenant = request.tenant
    custom, vocab = tenant_vocabulary(tenant)
    specs, _failed = rule_specs(
        tenant=tenant, rules=number.goal.ruleset.rules.all(), custom=custom, vocab=vocab
    )
    spec = specs.get(number.rule.key)
    if spec is None:  # no longer computable: the goal's page says why
        raise Http404("this rule cannot be computed")
    ratio = spec.aggregation == Aggregation.RATIO
    shown = specs[getattr(spec, number.side)] if ratio else spec
    cycle = number.cycle
    # Whose records count for the number and when: as the reporting lines stood then.
    team = TeamOverTime.of(number.goal.team_id, cycle.start, cycle.end)
    if number.member.pk not in team.listed(cycle):
        raise Http404("not in this goal's team in this cycle")
    during = team.during(number.member.pk, whole_team=number.whole_team)
    window = {"tenant": tenant, "start": cycle.start, "end": cycle.end, "member_ids": list(during),
              "during": during}  # fmt: skip
    listing = LISTING_OF_ENTITY[shown.entity]
    records = rule_records(shown, custom=custom, **window)
    newest = shown.date_field or "created_at"  # a snapshot's opportunities, newest first
    records = records.select_related(*listing.related).order_by(f"-{newest}", "-pk")
    if request.GET.get("format") == "csv":
        return _records_csv(records, listing, f"{number.rule.key}-{cycle.local_start}")
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    row = Achievement.objects.filter(
        goal=number.goal, rule=number.rule, member=number.member, cycle_index=cycle.index
    ).first()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "goal": number.goal,
        "rule": number.rule,
        "shown": shown,
        "ratio_side": number.side if ratio else None,
        "subject": number.member,
        "whole_team": number.whole_team,
        "cycle": cycle,
        "listing": listing,
        "page": page,
        "rows": [[cell(record) for _, cell in listing.columns] for record in page],
        "query": query.urlencode(),
        "counted": _counted(shown, custom, window),
        "dashboard": (row.team_value if number.whole_team else row.value) if row else None,
        "computed_at": row.computed_at if row else None,
    }
    template = "dashboards/behind_number.html"
    if request.htmx and request.htmx.target == "records":
        template += "#records"
    return render(request, template, context)


def _records_csv(records: QuerySet, listing: Listing, name: str) -> HttpResponse:
    """Every record behind the number (no page), with the columns the page shows and each
    record's id in the CRM; cells a spreadsheet would run are neutralized."""
    columns = ["external_id", *(title for title, _ in listing.columns)]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="records-{name}.csv"'
    writer = NeutralDictWriter(response, fieldnames=columns)
    writer.writeheader()
    for record in records.iterator(chunk_size=2000):
        cells = [record.external_id, *(cell(record) for _, cell in listing.columns)]
        writer.writerow(dict(zip(columns, cells, strict=True)))
    return response
