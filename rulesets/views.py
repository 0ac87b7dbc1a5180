from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    QueryDict,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from hierarchy.decorators import member_required
from hierarchy.models import Member, Tenant

from .catalogue import Vocabulary
from .compiler import Granularity, rule_parts
from .forms import (
    AGGREGATIONS,
    DIRECTIONS,
    ENTITIES,
    INDICATORS,
    MODES,
    SNAPSHOT_ENTITY,
    UNITS,
    ConditionRow,
    RuleBuilder,
    RuleCard,
    RulesetForm,
    card_from_rule,
    cards_from_data,
    currency_note,
    next_index,
    preset_choices,
    problems_attach,
    problems_listed,
)
from .models import Ruleset
from .parts import Parts
from .presets import PRESETS, preset_rules
from .services import rules_parse, ruleset_archive, ruleset_save
from .spec import Aggregation, Direction, RulesetError, RuleSpec, Unit

ADMIN = Member.Role.ADMIN
PREVIEW_DAYS = 30
PREVIEW_TOP = 5
PAGE = "rulesets/ruleset_form.html"
# What every card's fixed selects offer; the per-entity choices come from RuleBuilder.dress.
CHOICES = {
    "aggregations": list(AGGREGATIONS.items()),
    "entities": list(ENTITIES.items()),
    "units": list(UNITS.items()),
    "directions": list(DIRECTIONS.items()),
    "indicators": list(INDICATORS.items()),
    "modes": list(MODES.items()),
    "snapshot_entity": SNAPSHOT_ENTITY,
}
# The key a card is previewed under while it has neither key nor name: its count shows at once.
UNNAMED = "unnamed_rule"


@member_required(ADMIN)
def ruleset_list(request: HttpRequest) -> HttpResponse:
    rulesets = Ruleset.objects.prefetch_related("rules")
    return render(request, "rulesets/ruleset_list.html", {"rulesets": rulesets})


@member_required(Member.Role.ADMIN)
def ruleset_archive_view(request: HttpRequest, pk: int) -> HttpResponse:
    ruleset = get_object_or_404(Ruleset.objects, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    archived = request.POST.get("archived", "1") == "1"
    ruleset_archive(ruleset=ruleset, archived=archived, actor=request.member)
    return redirect("ruleset_list")


def _ruleset(pk: int | None) -> Ruleset | None:
    """The ruleset being edited; another tenant's id does not exist (the view runs scoped)."""
    return None if pk is None else get_object_or_404(Ruleset.objects, pk=pk)


def _base(pk: int | None) -> str:
    """The page's URL; the builder's partial endpoints hang below it."""
    return reverse("ruleset_edit", args=[pk]) if pk else reverse("ruleset_new")


def _data(request: HttpRequest) -> QueryDict:
    return request.POST if request.method == "POST" else request.GET


@member_required(ADMIN)
def ruleset_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    ruleset = _ruleset(pk)
    builder = RuleBuilder.for_tenant(request.tenant)
    if request.method == "POST":
        form = RulesetForm(request.POST)
        cards = cards_from_data(request.POST)
        saved = _save(request, form, cards, builder, ruleset)
        if saved is not None:
            verb = "Created" if ruleset is None else "Saved"
            messages.success(request, f"{verb} the ruleset {saved.name}.")
            return redirect("ruleset_list")
    elif ruleset is not None:
        form = RulesetForm(initial={"name": ruleset.name, "description": ruleset.description})
        rules = ruleset.rules.order_by("position")
        cards = [card_from_rule(i, rule.definition()) for i, rule in enumerate(rules)]
    else:
        form, cards = RulesetForm(), [RuleCard(0)]
    builder.dress(cards)
    context = CHOICES | {
        "title": f"Edit {ruleset.name}" if ruleset else "New ruleset",
        "ruleset": ruleset,
        "form": form,
        "cards": cards,
        "base": _base(pk),
        "presets": preset_choices(),
        "stages": sorted(builder.vocab.get(Vocabulary.STAGES, ())),
        "activity_types": sorted(builder.vocab.get(Vocabulary.ACTIVITY_TYPES, ()), key=str.lower),
    }
    return render(request, PAGE, context)


def _save(
    request: HttpRequest,
    form: RulesetForm,
    cards: list[RuleCard],
    builder: RuleBuilder,
    ruleset: Ruleset | None,
) -> Ruleset | None:
    """Save the posted ruleset, or put every problem next to its field and return None."""
    valid = form.is_valid()
    if not cards:
        form.add_error(None, "Add at least one rule.")
        return None
    rules = builder.rules(cards)
    try:
        if not valid:  # still check the rules, so every problem shows at once
            rules_parse(
                tenant=request.tenant, rules=rules, custom=builder.custom, vocab=builder.vocab
            )
            return None
        return ruleset_save(
            tenant=request.tenant,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            rules=rules,
            ruleset=ruleset,
            actor=request.member,
        )
    except RulesetError as exc:
        for sentence in problems_attach(cards, exc.problems, builder):
            form.add_error(None, sentence)
    except ValidationError as exc:
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    return None


def _partial(
    request: HttpRequest, pk: int | None, partial: str, context: dict[str, Any]
) -> HttpResponse:
    return render(request, f"{PAGE}#{partial}", CHOICES | {"base": _base(pk)} | context)


def _card(cards: list[RuleCard], index: int) -> RuleCard:
    for card in cards:
        if card.index == index:
            return card
    raise Http404("No such rule card in the form.")


@member_required(ADMIN)
def rule_new(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """An empty card, numbered after the cards of the posted form."""
    _ruleset(pk)
    cards = cards_from_data(_data(request))
    card = RuleCard(next_index(cards))
    RuleBuilder.for_tenant(request.tenant).dress([*cards, card])
    return _partial(request, pk, "rule-cards", {"cards": [card]})


@member_required(ADMIN)
def rule_card(request: HttpRequest, index: int, pk: int | None = None) -> HttpResponse:
    """One card again, with the fields and operators of its (changed) entity and aggregation."""
    _ruleset(pk)
    cards = cards_from_data(_data(request))
    card = _card(cards, index)
    RuleBuilder.for_tenant(request.tenant).dress(cards)
    return _partial(request, pk, "rule-card", {"card": card})


@member_required(ADMIN)
def condition_new(request: HttpRequest, index: int, pk: int | None = None) -> HttpResponse:
    _ruleset(pk)
    cards = cards_from_data(_data(request))
    card = _card(cards, index)
    row = ConditionRow(index, card.next_row())
    card.conditions.append(row)
    RuleBuilder.for_tenant(request.tenant).dress(cards)
    return _partial(request, pk, "condition-row", {"card": card, "row": row})


@member_required(ADMIN)
def condition_row(
    request: HttpRequest, index: int, row: int, pk: int | None = None
) -> HttpResponse:
    """One condition row again, with the operators of its field's type."""
    _ruleset(pk)
    cards = cards_from_data(_data(request))
    card = _card(cards, index)
    found = next((r for r in card.conditions if r.index == row), None)
    if found is None:
        raise Http404("No such condition row in the form.")
    RuleBuilder.for_tenant(request.tenant).dress(cards)
    return _partial(request, pk, "condition-row", {"card": card, "row": found})


@member_required(ADMIN)
def preset_cards(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The cards of a preset, numbered after the cards of the posted form."""
    _ruleset(pk)
    data = _data(request)
    slug = data.get("preset", "")
    if slug not in PRESETS:
        return HttpResponseBadRequest("Pick a preset.")
    cards = cards_from_data(data)
    first = next_index(cards)
    types = data.getlist("types")
    rules = preset_rules(slug, stage=data.get("stage") or None, types=types)
    added = [card_from_rule(first + i, rule) for i, rule in enumerate(rules)]
    RuleBuilder.for_tenant(request.tenant).dress(cards + added)
    return _partial(request, pk, "rule-cards", {"cards": added})


@dataclass
class Preview:
    """A rule run over the tenant's last days: the total and the best few members."""

    start: datetime | None = None
    end: datetime | None = None
    total: str = ""
    rows: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    note: str = ""  # what the rule leaves out (amounts in other currencies)


@member_required(ADMIN)
def rule_preview(request: HttpRequest, index: int, pk: int | None = None) -> HttpResponse:
    _ruleset(pk)
    cards = cards_from_data(_data(request))
    card = _card(cards, index)
    builder = RuleBuilder.for_tenant(request.tenant)
    builder.dress(cards)  # the rule as the re-drawn card shows it (an operator picked, ...)
    preview = _preview(request.tenant, card, cards, builder)
    return _partial(request, pk, "preview", {"card": card, "preview": preview})


def _preview(
    tenant: Tenant, card: RuleCard, cards: list[RuleCard], builder: RuleBuilder
) -> Preview:
    """Run the card's rule (a ratio with its two parts from the same form) with the compiler."""
    card = dataclasses.replace(card, key=card.key.strip() or UNNAMED)
    chosen = [card]
    if card.is_ratio:
        by_key = {other.key.strip(): other for other in cards if other.key.strip()}
        for key in (card.numerator, card.denominator):
            if key in by_key and by_key[key] not in chosen:
                chosen.append(by_key[key])
    try:
        parsed = rules_parse(
            tenant=tenant, rules=builder.rules(chosen), custom=builder.custom, vocab=builder.vocab
        )
        specs = {spec.key: spec for spec in parsed}
    except RulesetError as exc:
        return Preview(problems=problems_listed(card, chosen, exc.problems, builder))
    rule = specs[card.key]
    end = timezone.now()
    start = end - timedelta(days=PREVIEW_DAYS)
    names = dict(Member.objects.filter(is_active=True).values_list("pk", "name"))

    def parts_of(counted: RuleSpec) -> dict[int, Parts]:
        folded = rule_parts(
            counted,
            tenant=tenant,
            start=start,
            end=end,
            member_ids=list(names),
            granularity=Granularity.DAY,
            custom=builder.custom,
            cycle_of=lambda day: None,  # one total over the whole window
        )
        return {member: parts for (member, _), parts in folded.items()}

    if rule.aggregation is Aggregation.RATIO:
        top, bottom = specs[rule.numerator], specs[rule.denominator]
        above, below = parts_of(top), parts_of(bottom)
        scale = Decimal(100) if rule.unit is Unit.PERCENT else Decimal(1)

        def value(members: list[int]) -> Decimal | None:
            num = _merged(above, members).value(top.aggregation)
            den = _merged(below, members).value(bottom.aggregation)
            return None if num is None or not den else num / den * scale

        members = sorted(set(above) | set(below))
    else:
        counted = parts_of(rule)

        def value(members: list[int]) -> Decimal | None:
            return _merged(counted, members).value(rule.aggregation)

        members = sorted(counted)
    values = [(member, v) for member in members if (v := value([member])) is not None]
    values.sort(key=lambda mv: mv[1], reverse=rule.direction is Direction.HIGHER)
    return Preview(
        start=start,
        end=end,
        total=_shown(value(members), rule),
        rows=[(names[m], _shown(v, rule)) for m, v in values[:PREVIEW_TOP]],
        note=currency_note(rule),
    )


def _merged(parts: dict[int, Parts], members: list[int]) -> Parts:
    """The parts of several members folded into one (as roll-ups do: never a mean of means)."""
    merged = Parts()
    for member in members:
        if member in parts:
            merged.merge(parts[member])
    return merged


def _shown(value: Decimal | None, rule: RuleSpec) -> str:
    if value is None:
        return "—"
    if rule.unit is Unit.PERCENT:
        return f"{value:.1f}%"
    if rule.unit is Unit.DURATION:
        minutes = int(value.to_integral_value()) // 60
        return f"{minutes // 60}:{minutes % 60:02d}"
    if rule.unit is Unit.CURRENCY:
        return f"{value:,.2f} {rule.currency or ''}".strip()
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.2f}"
