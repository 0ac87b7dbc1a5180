"""What a target might be: the team's value in its last completed cycles of the goal's kind,
as the wizard suggests it ("Last 4 weeks averaged 52; +10%: 57")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django_scopes import scope

from core.formatting import in_unit
from hierarchy.models import Member
from rulesets.compiler import granularity_for, rule_parts
from rulesets.models import GoalRule
from rulesets.parts import Parts, ratio_value
from rulesets.services import rule_specs, tenant_vocabulary
from rulesets.spec import Aggregation, Unit

from .calendar import cycle_index_of, cycles
from .models import tenant_calendar
from .targets import quantum_for

PAST_CYCLES = 4
STEP = Decimal("0.10")  # the suggestion: the past average 10% better (up, or down for a
# rule where lower is better)
# Days enough to hold one more cycle of each kind than asked for, whatever its alignment.
_DAYS = {"daily": 1, "weekly": 7, "biweekly": 14, "monthly": 31, "quarterly": 92, "yearly": 366}
_NAMES = {"daily": "days", "weekly": "weeks", "biweekly": "fortnights", "monthly": "months",
          "quarterly": "quarters", "yearly": "years"}  # fmt: skip


@dataclass(frozen=True)
class Suggestion:
    """A rule's average over the team's last ``cycles`` completed cycles, and that 10% better."""

    average: Decimal
    cycles: int
    kind: str
    value: Decimal
    unit: str
    currency: str
    lower_is_better: bool = False

    def __str__(self) -> str:
        average = in_unit(self.average, self.unit, self.currency)
        value = in_unit(self.value, self.unit, self.currency)
        step = f"{'-' if self.lower_is_better else '+'}{STEP * 100:.0f}%"
        return f"Last {self.cycles} {_NAMES[self.kind]} averaged {average}; {step}: {value}"


def target_suggestions(
    *, team: Member, rules: list[GoalRule], kind: str, start: date
) -> dict[str, Suggestion]:
    """By rule key, for the rules with data: the team (as it is now) over the last completed
    cycles of ``kind`` before ``start``. One query per counted rule, whatever the team's size."""
    tenant = team.tenant
    calendar = tenant_calendar(tenant)
    back = start - timedelta(days=_DAYS[kind] * (PAST_CYCLES + 1))
    past = [c for c in cycles(calendar, kind, back, start - timedelta(days=1)) if not c.partial]
    past = past[-PAST_CYCLES:]
    if not past:
        return {}
    custom, vocab = tenant_vocabulary(tenant)
    specs, _failed = rule_specs(tenant=tenant, rules=rules, custom=custom, vocab=vocab)
    with scope(tenant=tenant.pk):
        members = list(Member.objects.subtree(team).values_list("pk", flat=True))
    index = cycle_index_of(past)
    per_cycle: dict[str, list[Parts]] = {}
    for key, spec in specs.items():
        if spec.aggregation == Aggregation.RATIO:
            continue
        parts = [Parts() for _ in past]
        found = rule_parts(
            spec,
            tenant=tenant,
            start=past[0].start,
            end=past[-1].end,
            member_ids=members,
            granularity=granularity_for(kind, tenant.week_start),
            custom=custom,
            cycle_of=index,
        )
        for (_member, place), found_parts in found.items():
            parts[place].merge(found_parts)
        per_cycle[key] = parts
    suggestions = {}
    for rule in rules:
        spec = specs.get(rule.key)
        if spec is None:
            continue
        if spec.aggregation == Aggregation.RATIO:
            sides = (per_cycle[spec.numerator], per_cycle[spec.denominator])
            percent = spec.unit == Unit.PERCENT
            values = [
                ratio_value(top.value(specs[spec.numerator].aggregation),
                            bottom.value(specs[spec.denominator].aggregation), percent=percent)
                for top, bottom in zip(*sides, strict=True)
            ]  # fmt: skip
        else:
            values = [parts.value(spec.aggregation) for parts in per_cycle[rule.key]]
        known = [value for value in values if value is not None]
        if not known or not any(known):
            continue
        average = sum(known, Decimal(0)) / len(known)
        quantum = quantum_for(rule.aggregation, rule.unit)
        lower = rule.direction == "lower"
        better = average * (1 - STEP if lower else 1 + STEP)
        suggestions[rule.key] = Suggestion(
            average=average.quantize(quantum, rounding=ROUND_HALF_UP),
            cycles=len(past),
            kind=kind,
            value=better.quantize(quantum, rounding=ROUND_HALF_UP),
            unit=rule.unit,
            currency=rule.currency,
            lower_is_better=lower,
        )
    return suggestions
