"""The Settings pages' forms: only the shape of the input. The services in ``crm.services``
validate it through the models, and their errors go next to the field they name."""

from __future__ import annotations

from datetime import date
from zoneinfo import available_timezones

from django import forms

from hierarchy.forms import ServiceErrorsMixin
from hierarchy.models import Weekday

from .models import ActivityType, CustomField, PipelineStage


class StageForm(ServiceErrorsMixin, forms.Form):
    name = PipelineStage._meta.get_field("name").formfield(label="Stage name")
    outcome = forms.ChoiceField(
        choices=PipelineStage.Outcome.choices,
        initial=PipelineStage.Outcome.OPEN,
        required=False,
        label="Marks",
        help_text="Won or lost: a deal in this stage has ended.",
    )

    def clean_outcome(self) -> str | None:
        return self.cleaned_data["outcome"] or None  # left out: as it was (open when new)


class ActivityTypeForm(ServiceErrorsMixin, forms.Form):
    name = ActivityType._meta.get_field("name").formfield(label="Activity type name")
    category = ActivityType._meta.get_field("category").formfield()


class ChoicesField(forms.CharField):
    """The allowed values of a choice field, one a line."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value: str | None) -> list[str]:  # type: ignore[override]
        return [line.strip() for line in (value or "").splitlines() if line.strip()]

    def prepare_value(self, value: object) -> object:
        return "\n".join(value) if isinstance(value, list) else value


class CustomFieldEditForm(ServiceErrorsMixin, forms.Form):
    type = CustomField._meta.get_field("type").formfield()
    choices = ChoicesField(
        required=False, label="Choices", help_text="A choice field's values, one a line."
    )


class CustomFieldForm(CustomFieldEditForm):
    entity = CustomField._meta.get_field("entity").formfield(label="Records")
    name = CustomField._meta.get_field("name").formfield(
        label="Field name", help_text="The CSV column and API key: lowercase, digits, _."
    )

    field_order = ["entity", "name", "type", "choices"]


class HolidaysField(forms.CharField):
    """Dates without working time, one a line (YYYY-MM-DD)."""

    widget = forms.Textarea(attrs={"rows": 4})

    def to_python(self, value: str | None) -> list[date]:  # type: ignore[override]
        days, problems = [], []
        lines = [line.strip() for line in (value or "").splitlines() if line.strip()]
        for number, line in enumerate(lines, start=1):
            try:
                days.append(date.fromisoformat(line))
            except ValueError:
                problems.append(f"line {number}: {line!r} is not a date (YYYY-MM-DD).")
        if problems:
            raise forms.ValidationError(problems)
        return days

    def prepare_value(self, value: object) -> object:
        return "\n".join(str(day) for day in value) if isinstance(value, list) else value


class WorkingTimeForm(ServiceErrorsMixin, forms.Form):
    """When people work: what pace expects of them (checked by ``working_time_set``)."""

    working_days = forms.TypedMultipleChoiceField(
        choices=Weekday.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one working day."},
    )
    working_hours_start = forms.TimeField(
        label="Working day starts", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    working_hours_end = forms.TimeField(
        label="Working day ends", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    holidays = HolidaysField(
        required=False, help_text="Days without working time, one a line: 2026-12-25."
    )


MONTHS = [(n, date(2000, n, 1).strftime("%B")) for n in range(1, 13)]


class CompanyForm(ServiceErrorsMixin, forms.Form):
    """The tenant's calendar and currency (checked by ``company_set``)."""

    time_zone = forms.ChoiceField(
        choices=[(zone, zone.replace("_", " ")) for zone in sorted(available_timezones())],
        help_text="Where a day, a week and a month start, and how times without a zone are read.",
    )
    week_start = forms.TypedChoiceField(choices=Weekday.choices, coerce=int)
    fiscal_year_start_month = forms.TypedChoiceField(
        label="Fiscal year starts in",
        choices=MONTHS,
        coerce=int,
        help_text="Quarters and years of goals count from it.",
    )
    default_currency = forms.CharField(
        label="Default currency",
        max_length=3,
        help_text="Three letters (ISO 4217), e.g. USD: the currency of records that name none.",
    )

    def clean_default_currency(self) -> str:
        return self.cleaned_data["default_currency"].strip().upper()
