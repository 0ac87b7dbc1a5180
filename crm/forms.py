"""The Settings pages' forms: only the shape of the input. The services in ``crm.services``
validate it through the models, and their errors go next to the field they name."""

from __future__ import annotations

from django import forms

from hierarchy.forms import ServiceErrorsMixin

from .models import ActivityType, CustomField, PipelineStage


class StageForm(ServiceErrorsMixin, forms.Form):
    name = PipelineStage._meta.get_field("name").formfield(label="Stage name")


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
