"""The rule builder speaks to the admin: every error a sentence about what they did, fields
and rules chosen by their names, and a preview that follows every change by itself."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from rulesets.models import Ruleset
from rulesets.services import ruleset_save
from tests.conftest import Personas, client_for
from tests.rulesets.test_builder import NEW, card, condition

pytestmark = pytest.mark.django_db


def errors(html: str) -> list[str]:
    return re.findall(r'class="(?:field|form)-error"[^>]*>([^<]+)<', html)


def preview(client, posted: dict[str, str], index: int = 0, base: str = NEW) -> str:  # noqa: ANN001
    response = client.post(f"{base}rules/{index}/preview/", posted)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("posted", "sentence"),
    [
        (condition(0, 0, "", ""), "Condition 1: choose a field."),
        (condition(0, 0, "outcome", "eq", ""), "Condition 1: type a value for Outcome."),
        (
            condition(0, 0, "category", "eq", "call") | condition(0, 1, "duration", "between", "5"),
            "Condition 2: type two values for Duration (seconds), the lowest and the highest, "
            "separated by a comma.",
        ),
        (
            condition(0, 0, "duration", "gt", "long"),
            "Condition 1: Duration (seconds) needs a number",
        ),
        (card(0, aggregation="sum"), "Choose the field to add up."),
        (card(0, entity=""), "Choose what the rule counts"),
        (card(0, currency="euro"), "Type the currency as its three-letter code, such as EUR."),
    ],
)
def test_the_preview_says_what_to_fix_in_a_sentence(personas: Personas, posted, sentence):
    form = card(0, name="Calls", entity="activity") | posted
    html = preview(client_for(personas.admin), form)
    assert "does not run yet" in html
    assert sentence in html
    assert "conditions[" not in html and "unknown field" not in html and "rule calls" not in html


def test_an_empty_condition_on_save_is_a_sentence_next_to_its_field(personas: Personas):
    form = {"name": "Calling"} | card(0, name="Calls", entity="activity")
    form |= condition(0, 0, "", "")
    response = client_for(personas.admin).post(NEW, form)
    assert response.status_code == 200
    assert errors(response.content.decode()) == ["Condition 1: choose a field."]
    with scopes_disabled():
        assert not Ruleset.objects.exists()


def test_a_ratio_names_its_parts_and_their_problems_by_name(personas: Personas):
    form = card(0, name="Calls made", entity="activity")
    form |= card(1, name="Leads", entity="lead") | condition(1, 0, "", "")
    form |= card(2, name="Calls per lead", aggregation="ratio")
    form |= card(2, numerator="calls_made", denominator="leads")
    admin = client_for(personas.admin)
    html = preview(admin, form, index=2)
    assert "In the rule Leads: Condition 1: choose a field." in html

    page = admin.post(f"{NEW}rules/2/", form).content.decode()
    assert '<option value="calls_made" selected>Calls made</option>' in page
    assert '<option value="leads">Leads</option>' in page

    blank = card(0, name="Calls", entity="activity") | card(1, name="Rate", aggregation="ratio")
    html = preview(admin, blank, index=1)
    assert "Choose the rule to divide (numerator)." in html  # the first problem of the rule


def test_a_key_is_made_from_the_name_when_none_is_typed(personas: Personas):
    form = {"name": "Calling"} | card(0, name="Calls made (all)", entity="activity")
    response = client_for(personas.admin).post(NEW, form)
    assert response.status_code == 302
    with scopes_disabled():
        assert Ruleset.objects.get().rules.get().key == "calls_made_all"


def test_a_rule_without_a_name_is_previewed_at_once_and_asked_for_on_save(personas: Personas):
    admin = client_for(personas.admin)
    html = preview(admin, card(0, entity="activity"))
    assert "does not run yet" not in html and "<strong>0</strong>" in html
    response = admin.post(NEW, {"name": "Calling"} | card(0, entity="activity"))
    assert errors(response.content.decode()) == ["Give the rule a name."]


def test_the_preview_follows_every_change_and_drops_stale_answers(personas: Personas):
    html = client_for(personas.admin).get(NEW).content.decode()
    [tag] = re.findall(r'<div id="rule-0-preview"[^>]*>', html)
    assert 'hx-post="/rulesets/new/rules/0/preview/"' in tag
    assert "load, change from:closest .rule-card, input delay:500ms" in tag
    assert 'hx-sync="this:replace"' in tag
    assert ">Preview<" not in html  # nothing to click


def test_fields_and_operators_are_offered_by_their_labels(personas: Personas):
    posted = card(0, name="Calls", entity="activity") | condition(0, 0, "category", "")
    html = client_for(personas.admin).post(f"{NEW}rules/0/conditions/0/", posted).content.decode()
    assert '<option value="category" selected>Category</option>' in html
    assert '<option value="duration">Duration (seconds)</option>' in html
    assert '<option value="in">is one of</option>' in html
    assert 'type="text" id="rules-0-cond-0-field"' not in html
    assert '<option value="follow_up">Follow up</option>' in html  # the value's suggestions


def test_another_tenant_gets_404_from_the_preview_of_an_edit(personas: Personas):
    ruleset = ruleset_save(
        tenant=personas.admin.tenant,
        name="Basics",
        rules=[{"key": "calls", "name": "Calls", "entity": "activity"}],
    )
    edit = reverse("ruleset_edit", args=[ruleset.pk])
    posted = card(0, name="Calls", entity="activity") | condition(0, 0, "", "")
    assert client_for(personas.outsider).post(f"{edit}rules/0/preview/", posted).status_code == 404
    assert "Condition 1: choose a field." in preview(client_for(personas.admin), posted, base=edit)
