"""The records behind a number: the CRM rows a dashboard value was computed from.

The page runs the rule's own filter (``rulesets.compiler.rule_records``) for the member (or
their whole team) and the cycle, so the count it shows is the count the engine counted.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.vary import vary_on_headers

from achievements.models import Achievement
from crm.listings import LISTING_OF_ENTITY, PAGE_SIZE
from goals.models import Goal
from hierarchy.decorators import member_required
from hierarchy.models import Member
from rulesets.compiler import Granularity, rule_parts, rule_records
from rulesets.parts import Parts
from rulesets.services import rules_parse, tenant_vocabulary
from rulesets.spec import Aggregation


def _number(request: HttpRequest, name: str) -> int:
    try:
        return int(request.GET.get(name, ""))
    except ValueError:
        raise Http404(f"{name} must be a whole number") from None


@member_required()
@vary_on_headers("HX-Request")
def achievement_records(request: HttpRequest) -> HttpResponse:
    """``?goal=&rule=&member=&cycle=<index>&scope=own|team[&side=denominator]``."""
    goals = Goal.objects.select_related("tenant", "team", "ruleset")
    goal = get_object_or_404(goals, pk=_number(request, "goal"))
    member = get_object_or_404(
        Member.objects.visible_to(request.member), pk=_number(request, "member")
    )
    team = goal.team
    if not (member.tree_id == team.tree_id and team.lft <= member.lft <= team.rght):
        raise Http404("not in this goal's team")
    rule = get_object_or_404(goal.ruleset.rules.all(), pk=_number(request, "rule"))
    cycles = goal.cycles()
    index = _number(request, "cycle")
    if not 0 <= index < len(cycles):
        raise Http404("no such cycle")
    cycle = cycles[index]
    whole_team = request.GET.get("scope") == "team"
    tenant = request.tenant
    custom, vocab = tenant_vocabulary(tenant)
    specs = {
        spec.key: spec
        for spec in rules_parse(
            tenant=tenant,
            rules=[r.definition() for r in goal.ruleset.rules.all()],
            custom=custom,
            vocab=vocab,
        )
    }
    spec = specs[rule.key]
    side = "denominator" if request.GET.get("side") == "denominator" else "numerator"
    shown = specs[getattr(spec, side)] if spec.aggregation == Aggregation.RATIO else spec
    members = (
        list(Member.objects.subtree(member).values_list("pk", flat=True))
        if whole_team
        else [member.pk]
    )
    window = {"tenant": tenant, "start": cycle.start, "end": cycle.end, "member_ids": members}
    listing = LISTING_OF_ENTITY[shown.entity]
    records = rule_records(shown, custom=custom, **window)
    records = records.select_related(*listing.related).order_by(f"-{shown.date_field}", "-pk")
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    counted = Parts()
    for parts in rule_parts(
        shown, custom=custom, granularity=Granularity.MONTH, cycle_of=lambda day: 0, **window
    ).values():
        counted.merge(parts)
    row = Achievement.objects.filter(goal=goal, rule=rule, member=member, cycle_index=index).first()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "goal": goal,
        "rule": rule,
        "shown": shown,
        "ratio_side": side if spec.aggregation == Aggregation.RATIO else None,
        "subject": member,
        "whole_team": whole_team,
        "cycle": cycle,
        "listing": listing,
        "page": page,
        "rows": [[cell(record) for _, cell in listing.columns] for record in page],
        "query": query.urlencode(),
        "counted": counted.value(shown.aggregation),
        "dashboard": (row.team_value if whole_team else row.value) if row else None,
        "computed_at": row.computed_at if row else None,
    }
    template = "dashboards/behind_number.html"
    if request.htmx and request.htmx.target == "records":
        template += "#records"
    return render(request, template, context)
