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

    rule = forms.ModelChoiceField(queryset=GoalRule.objects.none(), label="KPI (ruleset rule)")
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

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = GoalRule.objects.filter(ruleset__is_archived=False).select_related("ruleset")
        self.fields["rule"].queryset = rules.order_by("ruleset__name", "position")
        self.fields["rule"].label_from_instance = lambda r: f"{r.ruleset.name}: {r.name}"
        self.fields["end"].initial = date(today.year, 12, 31)

    def clean_amount(self) -> Decimal:
        raw = self.cleaned_data["amount"]
        number = number_parse(raw.replace(",", ""))
        if number is None or number < 0 or number >= AMOUNT_LIMIT:
            raise forms.ValidationError(
                f"{raw!r} is not a number from 0 to below {AMOUNT_LIMIT:,}."
            )
        return number


class ActivityTypesForm(ServiceErrorsMixin, forms.Form):
    activity_types = forms.MultipleChoiceField(
        choices=(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = ActivityType.objects.order_by("name").values_list("name", flat=True)
        self.fields["activity_types"].choices = [(name, name) for name in names]
