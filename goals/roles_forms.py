"""The forms of Settings, Role mapping: a sales role, a KPI of a role, a KPI's activity types."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms

from core.dates import validate_date_range
from core.numbers import number_parse
from crm.models import ActivityType
from hierarchy.forms import ServiceErrorsMixin
from rulesets.models import GoalRule

from .calendar import CycleKind
from .services import AMOUNT_LIMIT


class SalesRoleForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=200, help_text="SDR, Account executive, ...")
    description = forms.CharField(max_length=300, required=False)


class KpiForm(ServiceErrorsMixin, forms.Form):
    """A rule of a ruleset with a target per cycle, for a role's holders."""

    rule = forms.TypedChoiceField(label="KPI (ruleset rule)", coerce=int)
    amount = forms.CharField(label="Target per cycle", max_length=40)
    cycle = forms.ChoiceField(choices=[(k.value, k.value.capitalize()) for k in CycleKind])
    start = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_date_range],
        required=False,
        label="From",
        help_text="Empty: today.",
    )
    end = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_date_range],
        label="Until",
        help_text="The last day, inclusive.",
    )

    def __init__(
        self, *args: Any, today: date, rules: dict[int, GoalRule] | None = None, **kwargs: Any
    ) -> None:
        """``rules``: the rules to offer by id, read once for every form of a page."""
        super().__init__(*args, **kwargs)
        self.rules = rules if rules is not None else kpi_rules()
        self.fields["rule"].choices = [
            (pk, f"{rule.ruleset.name}: {rule.name}") for pk, rule in self.rules.items()
        ]
        self.fields["end"].initial = date(today.year, 12, 31)

    def clean_rule(self) -> GoalRule:
        return self.rules[self.cleaned_data["rule"]]

    def clean_amount(self) -> Decimal:
        raw = self.cleaned_data["amount"]
        number = number_parse(raw.replace(",", ""))
        if number is None or number < 0 or number >= AMOUNT_LIMIT:
            raise forms.ValidationError(
                f"{raw!r} is not a number from 0 to below {AMOUNT_LIMIT:,}."
            )
        return number


def kpi_rules() -> dict[int, GoalRule]:
    """The rules a KPI may be made of, by id: those of rulesets in use (one query)."""
    rules = GoalRule.objects.filter(ruleset__is_archived=False).select_related("ruleset")
    return {rule.pk: rule for rule in rules.order_by("ruleset__name", "position")}


def activity_type_names() -> list[str]:
    return list(ActivityType.objects.order_by("name").values_list("name", flat=True))


class ActivityTypesForm(ServiceErrorsMixin, forms.Form):
    activity_types = forms.MultipleChoiceField(
        choices=(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, names: list[str] | None = None, **kwargs: Any) -> None:
        """``names``: the tenant's activity types, read once for every form of a page."""
        super().__init__(*args, **kwargs)
        names = names if names is not None else activity_type_names()
        self.fields["activity_types"].choices = [(name, name) for name in names]
