"""The rule builder's form: rule cards posted as flat inputs, turned into rules JSON and back.

A card's inputs are named ``rules-<i>-<part>`` and its condition rows
``rules-<i>-cond-<j>-<part>``; indices only order the cards and rows, so gaps left by removed
ones do not matter. Values are typed as text and become the JSON ``ruleset_parse`` expects,
which then says what is wrong, next to the card and row at fault.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms

from core.numbers import number_parse, whole_number
from hierarchy.models import Tenant

from .catalogue import (
    NUMERIC,
    Condition,
    CustomFieldDecl,
    FieldSpec,
    FieldType,
    Op,
    Vocabulary,
    fields_for,
)
from .presets import PRESETS, preset_needs
from .services import tenant_vocabulary
from .spec import (
    DEFAULT_DATE_FIELD,
    SNAPSHOT_ENTITY,
    Aggregation,
    Direction,
    Indicator,
    Mode,
    RuleProblem,
    RuleSpec,
    Unit,
    indicator_default,
)

ENTITIES = {
    "lead": "Lead",
    "activity": "Activity",
    "opportunity": "Opportunity",
    "stage_change": "Stage change",
    "task": "Task",
}
AGGREGATIONS = {
    Aggregation.COUNT: "Count",
    Aggregation.SUM: "Sum",
    Aggregation.AVERAGE: "Average",
    Aggregation.MIN: "Minimum",
    Aggregation.MAX: "Maximum",
    Aggregation.DISTINCT_COUNT: "Distinct count",
    Aggregation.RATIO: "Ratio of two rules",
}
OPERATORS = {
    Op.EQ: "is",
    Op.NE: "is not",
    Op.IN: "is one of",
    Op.NOT_IN: "is none of",
    Op.GT: "greater than",
    Op.GTE: "at least",
    Op.LT: "less than",
    Op.LTE: "at most",
    Op.BETWEEN: "between",
    Op.CONTAINS: "contains",
    Op.IS_EMPTY: "is empty",
    Op.IS_NOT_EMPTY: "is not empty",
}
UNITS = {
    Unit.NUMBER: "Number",
    Unit.CURRENCY: "Currency",
    Unit.DURATION: "Duration",
    Unit.PERCENT: "Percent",
}
DIRECTIONS = {Direction.HIGHER: "Higher is better", Direction.LOWER: "Lower is better"}
INDICATORS = {
    Indicator.LEADING: "Leading: predicts results",
    Indicator.LAGGING: "Lagging: shows results",
}
MODES = {
    Mode.IN_CYCLE: "In the cycle, by a date",
    Mode.CYCLE_END: "As they stood at the cycle's end",
}
PRESENCE = {Op.IS_EMPTY, Op.IS_NOT_EMPTY}
NEEDS_NUMBER = {Aggregation.SUM, Aggregation.AVERAGE, Aggregation.MIN, Aggregation.MAX}
BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
RULE_PARTS = (
    "key",
    "name",
    "entity",
    "aggregation",
    "field",
    "date_field",
    "member_field",
    "unit",
    "currency",
    "direction",
    "numerator",
    "denominator",
    "indicator",
    "mode",
)
ROW_PARTS = ("field", "op", "value", "any")
_INPUT = re.compile(r"^rules-(\d+)-(?:cond-(\d+)-)?([a-z_]+)$")
_CONDITION = re.compile(r"^conditions\[(\d+)\](?:\.(.+))?$")

Choices = list[tuple[str, str]]


class RulesetForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


@dataclass
class ConditionRow:
    rule: int  # the index of its card
    index: int
    field: str = ""
    op: str = ""
    value: str = ""
    any: str = ""  # an any-of group (from the API) kept as JSON: shown, not edited here
    errors: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    field_choices: Choices = dataclasses.field(default_factory=list)
    operators: Choices = dataclasses.field(default_factory=list)
    suggestions: Choices = dataclasses.field(default_factory=list)  # (value, label)
    hint: str = ""

    @property
    def prefix(self) -> str:
        return f"rules-{self.rule}-cond-{self.index}"

    @property
    def needs_value(self) -> bool:
        return self.op not in PRESENCE

    @property
    def other_errors(self) -> list[str]:
        return [m for part, ms in self.errors.items() if part not in ROW_PARTS for m in ms]


@dataclass
class RuleCard:
    index: int
    key: str = ""
    name: str = ""
    entity: str = "activity"
    aggregation: str = Aggregation.COUNT
    field: str = ""
    date_field: str = ""
    member_field: str = ""
    unit: str = ""
    currency: str = ""
    direction: str = Direction.HIGHER
    numerator: str = ""
    denominator: str = ""
    indicator: str = ""  # blank: the parser's default for what the rule counts
    mode: str = Mode.IN_CYCLE
    conditions: list[ConditionRow] = dataclasses.field(default_factory=list)
    errors: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    meaning: str = ""  # what a snapshot counts, in a sentence (RuleBuilder.dress)
    # What the card's selects offer, filled in by RuleBuilder.dress.
    measured_fields: Choices | None = None
    date_fields: Choices = dataclasses.field(default_factory=list)
    member_fields: Choices = dataclasses.field(default_factory=list)
    condition_fields: Choices = dataclasses.field(default_factory=list)
    # Each ratio part's options: (key, the rule's name, selected).
    ratio_choices: dict[str, list[tuple[str, str, bool]]] = dataclasses.field(default_factory=dict)
    money: bool = False  # it measures an amount of money: it counts one currency

    @property
    def prefix(self) -> str:
        return f"rules-{self.index}"

    @property
    def is_ratio(self) -> bool:
        return self.aggregation == Aggregation.RATIO

    @property
    def is_snapshot(self) -> bool:
        return self.mode == Mode.CYCLE_END and not self.is_ratio

    @property
    def other_errors(self) -> list[str]:
        return [m for part, ms in self.errors.items() if part not in RULE_PARTS for m in ms]

    def next_row(self) -> int:
        return max((row.index for row in self.conditions), default=-1) + 1


def cards_from_data(data: Mapping[str, Any]) -> list[RuleCard]:
    """The cards of a posted builder form, in the order of their indices."""
    cards: dict[int, RuleCard] = {}
    rows: dict[tuple[int, int], ConditionRow] = {}
    for name in data:
        match = _INPUT.match(name)
        if match is None:
            continue
        index, row_index, part = int(match[1]), match[2], match[3]
        card = cards.setdefault(index, RuleCard(index, entity="", aggregation=""))
        value = str(data.get(name) or "")
        if row_index is None:
            if part in RULE_PARTS:
                setattr(card, part, value)
        elif part in ROW_PARTS:
            row = rows.setdefault((index, int(row_index)), ConditionRow(index, int(row_index)))
            setattr(row, part, value)
    for (index, _), row in sorted(rows.items()):
        cards[index].conditions.append(row)
    for card in cards.values():
        card.aggregation = card.aggregation or Aggregation.COUNT
        card.direction = card.direction or Direction.HIGHER
        card.key = card.key.strip() or key_from_name(card.name)
    return [cards[index] for index in sorted(cards)]


def key_from_name(name: str) -> str:
    """A rule's key made from its name when none is typed: "Calls made" -> "calls_made"."""
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if key and not key[0].isalpha():
        key = f"rule_{key}"
    return key[:50].rstrip("_")


def next_index(cards: Iterable[RuleCard]) -> int:
    return max((card.index for card in cards), default=-1) + 1


def value_text(value: Any) -> str:
    """A condition's JSON value as the builder's text box shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(value_text(item) for item in value)
    return str(value)


def card_from_rule(index: int, raw: Mapping[str, Any]) -> RuleCard:
    """A card pre-filled from a rule definition (``GoalRule.definition()`` or a preset)."""
    card = RuleCard(index, entity="")
    for part in RULE_PARTS:
        if raw.get(part) is not None:
            setattr(card, part, str(raw[part]))
    for position, condition in enumerate(raw.get("conditions") or []):
        row = ConditionRow(index, position)
        if isinstance(condition, Mapping) and "any" in condition:
            row.any = json.dumps(condition["any"])
        elif isinstance(condition, Mapping):
            row.field = str(condition.get("field") or "")
            row.op = str(condition.get("op") or "")
            row.value = value_text(condition.get("value"))
        card.conditions.append(row)
    return card


def _scalar(text: str, spec: FieldSpec | None) -> Any:
    kind = spec.type if spec else FieldType.TEXT
    if kind in NUMERIC:
        number = number_parse(text)
        if number is None:
            return text  # the parser names the field and says a number is needed
        if number == number.to_integral_value():
            return int(number)
        return text  # kept exact as text; the parser reads it as a Decimal
    if kind is FieldType.BOOLEAN:
        return BOOLEANS.get(text.lower(), text)
    if kind is FieldType.MEMBER and (member := whole_number(text)) is not None:
        return member
    return text


def value_json(text: str, spec: FieldSpec | None, op: str) -> Any:
    """The typed text of a condition's value as JSON: ``a, b`` lists for in and not_in,
    ``low, high`` for between, true/false for booleans."""
    text = text.strip()
    if op in (Op.IN, Op.NOT_IN):
        return [_scalar(item.strip(), spec) for item in text.split(",") if item.strip()]
    if op == Op.BETWEEN:
        return [_scalar(item.strip(), spec) for item in text.split(",")] if text else []
    return _scalar(text, spec)


def _condition(row: ConditionRow, specs: Mapping[str, FieldSpec]) -> dict[str, Any]:
    if row.any:
        try:
            return {"any": json.loads(row.any)}
        except ValueError:
            return {"any": None}
    condition: dict[str, Any] = {"field": row.field, "op": row.op}
    if row.op not in PRESENCE:
        condition["value"] = value_json(row.value, specs.get(row.field), row.op)
    return condition


@dataclass
class RuleBuilder:
    """The tenant's custom fields and names, which decide what a card may offer."""

    custom: list[CustomFieldDecl]
    vocab: dict[Vocabulary, set[str]]

    @classmethod
    def for_tenant(cls, tenant: Tenant) -> RuleBuilder:
        custom, vocab = tenant_vocabulary(tenant)
        return cls(custom, vocab)

    def specs(self, entity: str) -> dict[str, FieldSpec]:
        return fields_for(entity, self.custom) if entity in ENTITIES else {}

    def rule(self, card: RuleCard) -> dict[str, Any]:
        """One card as a rule definition; blanks are left out so the parser's defaults apply."""
        raw: dict[str, Any] = {
            "key": card.key.strip(),
            "name": card.name.strip(),
            "aggregation": card.aggregation,
            "direction": card.direction,
        }
        if card.indicator:
            raw["indicator"] = card.indicator
        if card.unit:
            raw["unit"] = card.unit
        if card.is_ratio:
            for part in ("numerator", "denominator"):
                if getattr(card, part):
                    raw[part] = getattr(card, part)
            return raw
        raw["entity"] = card.entity
        if card.is_snapshot:
            raw["mode"] = card.mode
        parts = ("field", "date_field", "member_field")
        for part in parts:
            if card.is_snapshot and part == "date_field":
                continue  # the stage history places it, at each cycle's end
            if getattr(card, part):
                raw[part] = getattr(card, part)
        if card.currency.strip():
            raw["currency"] = card.currency.strip().upper()
        specs = self.specs(card.entity)
        raw["conditions"] = [_condition(row, specs) for row in card.conditions]
        return raw

    def rules(self, cards: Iterable[RuleCard]) -> list[dict[str, Any]]:
        return [self.rule(card) for card in cards]

    def offered(self, card: RuleCard) -> dict[str, Choices | None]:
        """What the card's field selects offer for its entity and aggregation (None: the
        aggregation measures no field)."""
        specs = self.specs(card.entity)
        measured = None
        if card.aggregation in NEEDS_NUMBER:
            measured = _choices(specs, lambda s: s.type in NUMERIC)
        elif card.aggregation == Aggregation.DISTINCT_COUNT:
            measured = _choices(specs, lambda s: s.type is not FieldType.DATETIME)
        return {
            "field": measured,
            "date_field": _choices(specs, lambda s: s.places_in_cycle),
            "member_field": _choices(specs, lambda s: s.credits_member),
        }

    def dress(self, cards: list[RuleCard]) -> None:
        """Fill in what each card's selects offer for its entity and aggregation; a choice
        that no longer fits (after the entity changed) falls back to the entity's default."""
        named = {c.key.strip(): c.name.strip() or c.key.strip() for c in cards if c.key.strip()}
        for card in cards:
            others = {key: name for key, name in named.items() if key != card.key.strip()}
            for part in ("numerator", "denominator"):
                chosen = getattr(card, part)
                options = [(key, name, key == chosen) for key, name in others.items()]
                if chosen and chosen not in others:
                    options.append((chosen, f"{chosen} (not in this ruleset)", True))
                card.ratio_choices[part] = options
            specs = self.specs(card.entity)
            offered = self.offered(card)
            card.measured_fields = offered["field"]
            card.date_fields = offered["date_field"] or []
            card.member_fields = offered["member_field"] or []
            card.condition_fields = _choices(specs, lambda s: s.type is not FieldType.MEMBER)
            if card.measured_fields is None or card.field not in dict(card.measured_fields):
                card.field = ""
            measured = specs.get(card.field)
            card.money = measured is not None and measured.type is FieldType.MONEY
            if card.entity != SNAPSHOT_ENTITY or card.mode not in MODES:
                card.mode = Mode.IN_CYCLE
            if card.entity in DEFAULT_DATE_FIELD:
                if card.date_field not in dict(card.date_fields):
                    card.date_field = DEFAULT_DATE_FIELD[card.entity]
                if card.member_field not in dict(card.member_fields):
                    card.member_field = "owner"
            if card.is_snapshot:
                card.date_field, card.date_fields = "", []
            if card.indicator not in INDICATORS:
                card.indicator = indicator_default(self.rule(card))
            for row in card.conditions:
                self.dress_row(row, card, specs)
            card.meaning = snapshot_sentence(card, specs) if card.is_snapshot else ""

    def dress_row(self, row: ConditionRow, card: RuleCard, specs: dict[str, FieldSpec]) -> None:
        """The operators of the row's field type, and the names its value may take."""
        row.field_choices = list(card.condition_fields)
        spec = specs.get(row.field)
        if row.field and row.field not in dict(row.field_choices):
            label = spec.label if spec else f"{row.field} (unknown)"
            row.field_choices.append((row.field, label))
        if spec is None:
            row.operators, row.suggestions, row.hint = [], [], ""
            return
        row.operators = [(op.value, OPERATORS[op]) for op in Op if op in spec.operators]
        if row.op not in dict(row.operators):
            row.op = row.operators[0][0]
        allowed = spec.choices or (
            self.vocab.get(spec.vocabulary, set()) if spec.vocabulary else ()
        )
        # The catalogue's own choices are stored words (follow_up): shown as "Follow up".
        row.suggestions = [
            (value, value.replace("_", " ").capitalize() if spec.choices else value)
            for value in sorted(allowed)
        ]
        row.hint = _hint(spec, row.op)


def _choices(specs: Mapping[str, FieldSpec], ok: Any) -> Choices:
    return [(name, spec.label) for name, spec in specs.items() if ok(spec)]


def _hint(spec: FieldSpec, op: str) -> str:
    example = {
        FieldType.BOOLEAN: "true or false",
        FieldType.DATETIME: "2027-01-31",
        FieldType.DATE: "2027-01-31",
        FieldType.MEMBER: "member id",
    }.get(spec.type, "a number" if spec.type in NUMERIC else "text")
    if op in (Op.IN, Op.NOT_IN):
        return f"{example}, {example}, … (comma-separated)"
    if op == Op.BETWEEN:
        return "low, high"
    return example


def snapshot_sentence(card: RuleCard, specs: Mapping[str, FieldSpec]) -> str:
    """What a rule counted at each cycle's end counts, in words: "Counts the opportunities
    that were in Proposal at the end of each cycle." (from its stage and status conditions)."""
    standing = []
    for row in card.conditions:
        named = [item.strip() for item in row.value.split(",") if item.strip()]
        if row.field == "stage" and row.op in (Op.EQ, Op.IN) and named:
            standing.append("in " + " or ".join(named))
        elif row.field == "status" and row.op in (Op.EQ, Op.IN) and named:
            standing.append(" or ".join(named))
    whom = "the opportunities" + (f" that were {' and '.join(standing)}" if standing else "")
    measured = specs.get(card.field)
    verb = "counts"
    if card.aggregation in SNAPSHOT_VERBS and measured is not None:
        verb = SNAPSHOT_VERBS[card.aggregation].format(measured.label.lower())
    return _sentence(f"{verb} {whom} at the end of each cycle")


SNAPSHOT_VERBS = {
    Aggregation.SUM: "adds up the {} of",
    Aggregation.AVERAGE: "averages the {} of",
    Aggregation.MIN: "takes the lowest {} of",
    Aggregation.MAX: "takes the highest {} of",
    Aggregation.DISTINCT_COUNT: "counts the distinct values of {} of",
}


AGGREGATED = {
    Aggregation.SUM: "add up",
    Aggregation.AVERAGE: "average",
    Aggregation.MIN: "take the minimum of",
    Aggregation.MAX: "take the maximum of",
    Aggregation.DISTINCT_COUNT: "count distinct values of",
}
RATIO_PARTS = {
    "numerator": "the rule to divide (numerator)",
    "denominator": "the rule to divide by",
}


def _clause(text: str) -> str:
    text = text.strip()
    return text + ("" if text.endswith((".", "?", "!")) else ".")


def _sentence(text: str) -> str:
    return _clause(text[:1].upper() + text[1:])


def _row_sentence(card: RuleCard, row: ConditionRow, part: str, message: str, specs: Any) -> str:
    """A condition's problem as what the admin did to its row ("Condition 1: choose a field.")."""
    where = f"Condition {card.conditions.index(row) + 1}"
    spec = specs.get(row.field)
    label = spec.label if spec else row.field
    if row.any:
        return f"{where}: its any-of group is not valid; edit it through the API."
    if part == "field" and not row.field:
        return f"{where}: choose a field."
    if part == "field" and spec is None:
        return f"{where}: choose a field from the list ({label} is not one of them)."
    if part == "op" and spec is not None and row.op not in spec.operators:
        return f"{where}: choose how to compare {label}."
    if part == "value" and not row.value.strip(" ,"):
        return f"{where}: type a value for {label}."
    if part == "value" and row.op == Op.BETWEEN:
        return (
            f"{where}: type two values for {label}, the lowest and the highest, "
            "separated by a comma."
        )
    return f"{where}: {_clause(message)}"


def problem_sentence(
    problem: RuleProblem, card: RuleCard | None, cards: list[RuleCard], builder: RuleBuilder
) -> str:
    """A parser's problem as a sentence about what the admin did (or left blank) in the card
    (one of ``cards``); no paths such as ``conditions[0].field`` and no catalogue keys."""
    match = _CONDITION.match(problem.field)
    if card is not None and match and int(match[1]) < len(card.conditions):
        row = card.conditions[int(match[1])]
        return _row_sentence(
            card, row, match[2] or "field", problem.message, builder.specs(card.entity)
        )
    part, blank = problem.field, card is None or not str(getattr(card, problem.field, "x")).strip()
    if part == "key":
        if blank:
            return "Give the rule a name."
        if sum(other.key.strip() == card.key.strip() for other in cards) > 1:
            return f"Another rule already has the key {card.key}: give this one another name."
        return "A key may hold only lower-case letters, digits and _, and starts with a letter."
    if part == "entity":
        return (
            "Choose what the rule counts: leads, activities, opportunities, stage changes or tasks."
        )
    offered = builder.offered(card).get(part) if card is not None else None
    if offered is not None and getattr(card, part) not in dict(offered):
        if part == "field":
            return f"Choose the field to {AGGREGATED.get(card.aggregation, 'measure')}."
        if part == "date_field":
            return "Choose the date that places a record in a cycle."
        return "Choose who gets the credit for a record."
    if part in RATIO_PARTS and card is not None:
        chosen = getattr(card, part)
        if blank:
            return f"Choose {RATIO_PARTS[part]}."
        if chosen == card.key.strip():
            return f"A ratio cannot divide itself: choose another rule as the {part}."
        target = next((c for c in cards if c.key.strip() == chosen), None)
        if target is None:
            return f"There is no rule {chosen} in this ruleset: choose one from the list."
        if target.is_ratio:
            name = target.name.strip() or chosen
            return f"{name} is itself a ratio: choose a rule that counts as the {part}."
    if part == "currency":
        return "Type the currency as its three-letter code, such as EUR."
    return _sentence(problem.message)


def _problem_cards(cards: list[RuleCard], problem: RuleProblem) -> list[RuleCard]:
    if problem.key.startswith("#") and problem.key[1:].isdigit():
        position = int(problem.key[1:])
        return cards[position : position + 1]
    return [card for card in cards if card.key.strip() == problem.key]


def problems_attach(
    cards: list[RuleCard], problems: Iterable[RuleProblem], builder: RuleBuilder
) -> list[str]:
    """Put each problem, as a sentence, next to its card's input or condition row; return
    those that fit no card (named by their rule)."""
    unplaced = []
    for problem in problems:
        targets = _problem_cards(cards, problem)
        if not targets:
            unplaced.append(
                f"Rule {problem.key}: {problem_sentence(problem, None, cards, builder)}"
            )
        match = _CONDITION.match(problem.field)
        for card in targets:
            sentence = problem_sentence(problem, card, cards, builder)
            if match and int(match[1]) < len(card.conditions):
                row = card.conditions[int(match[1])]
                row.errors.setdefault(match[2] or "field", []).append(sentence)
            else:
                card.errors.setdefault(problem.field, []).append(sentence)
    return unplaced


def problems_listed(
    card: RuleCard, cards: list[RuleCard], problems: Iterable[RuleProblem], builder: RuleBuilder
) -> list[str]:
    """The problems of a card's preview as sentences; those of another card (a ratio's
    parts) say which rule they are about."""
    listed = []
    for problem in problems:
        found = _problem_cards(cards, problem)
        other = found[0] if found else None
        sentence = problem_sentence(problem, other, cards, builder)
        if other is not card:
            name = (other.name.strip() or other.key.strip()) if other else problem.key
            sentence = f"In the rule {name}: {sentence}"
        listed.append(sentence)
    return listed


def preset_choices() -> list[tuple[str, str, str]]:
    """(slug, label, what it asks for: "stage", "types" or "") for every preset."""
    return [(slug, label, preset_needs(slug)) for slug, (label, _) in PRESETS.items()]


def currency_note(rule: RuleSpec) -> str:
    """What a value rule leaves out, as the builder says it: amounts in other currencies
    (``ruleset_parse`` adds the condition on the record's currency); "" for other rules."""
    kept = [
        c.value
        for c in rule.conditions
        if isinstance(c, Condition) and c.field == "currency" and c.op is Op.EQ
    ]
    if rule.unit is not Unit.CURRENCY or rule.currency not in kept:
        return ""
    return (
        f"Only amounts in {rule.currency} are counted: records in any other currency are "
        "left out, not converted."
    )
