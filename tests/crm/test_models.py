from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope

from crm.models import ActivityType, CustomField, PipelineStage
from tests.conftest import Crm

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"name": "Budget"},
            {"name": ["Use lowercase letters, digits and underscores, starting with a letter."]},
        ),
        ({"name": "owner_email"}, {"name": ["Every lead already has a field owner_email."]}),
        ({"name": "attributes"}, {"name": ["Every lead already has a field attributes."]}),
        (
            {"name": "budget"},
            {"__all__": ["Custom field with this Tenant, Entity and Name already exists."]},
        ),
        ({"type": "choice"}, {"choices": ["List the allowed values, as text."]}),
        (
            {"type": "choice", "choices": ["Gold", 3]},
            {"choices": ["List the allowed values, as text."]},
        ),
        ({"choices": ["Gold"]}, {"choices": ["Only a choice field has a list of values."]}),
    ],
)
def test_it_checks_a_custom_field_declaration(crm: Crm, fields: dict, errors: dict) -> None:
    field = CustomField(tenant=crm.tenant, entity="lead", **({"name": "size"} | fields))
    with scope(tenant=crm.tenant), pytest.raises(ValidationError) as exc:
        field.full_clean()
    assert exc.value.message_dict == errors


def test_it_accepts_a_custom_field_named_like_another_entity_field(crm: Crm) -> None:
    field = CustomField(tenant=crm.tenant, entity="activity", name="source", type="text")
    with scope(tenant=crm.tenant):
        field.full_clean()


@pytest.mark.parametrize(
    ("model", "name", "message"),
    [
        (ActivityType, "DEMO", "This organization already has an activity type with this name."),
        (PipelineStage, "proposal", "This organization already has a stage with this name."),
    ],
)
def test_it_keeps_type_and_stage_names_unique_in_any_case(
    crm: Crm, model: type[ActivityType | PipelineStage], name: str, message: str
) -> None:
    with scope(tenant=crm.tenant), pytest.raises(ValidationError) as exc:
        model(tenant=crm.tenant, name=name).full_clean()
    assert exc.value.messages == [message]
    # Another tenant's names are no obstacle.
    other = crm.personas.outsider.tenant
    with scope(tenant=other):
        model(tenant=other, name=name.title()).full_clean()
