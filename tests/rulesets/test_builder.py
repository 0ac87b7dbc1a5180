"""The rule builder: one page form of rule cards, its HTMX partials and the preview."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from crm.ingest import records_upsert
from rulesets.catalogue import CustomFieldDecl
from rulesets.forms import RuleBuilder, cards_from_data
from rulesets.models import GoalRule, Ruleset
from rulesets.services import ruleset_save
from tests.conftest import Crm, Personas, client_for

pytestmark = pytest.mark.django_db

NEW = "/rulesets/new/"


def card(index: int, **parts: str) -> dict[str, str]:
    return {f"rules-{index}-{name}": value for name, value in parts.items()}


def condition(index: int, row: int, field: str, op: str, value: str = "") -> dict[str, str]:
    prefix = f"rules-{index}-cond-{row}"
    return {f"{prefix}-field": field, f"{prefix}-op": op, f"{prefix}-value": value}


def _select(html: str, name: str) -> str:
    match = re.search(rf'<select [^>]*name="{name}"[^>]*>(.*?)</select>', html, re.DOTALL)
    assert match, f"no select {name}"
    return match[1]


def options(html: str, name: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)"', _select(html, name))


def selected(html: str, name: str) -> str | None:
    match = re.search(r'<option value="([^"]*)" selected>', _select(html, name))
    return match[1] if match else None


def preview_of(html: str) -> tuple[str, list[tuple[str, str]]]:
    total = re.search(r"<strong>(.*?)</strong>", html)
    rows = re.findall(r'<tr><td>(.*?)</td><td class="num">(.*?)</td></tr>', html)
    return (total[1] if total else ""), rows


def a_ruleset(personas: Personas) -> Ruleset:
    rules = [
        {"key": "calls", "name": "Calls", "entity": "activity"},
        {"key": "deals", "name": "Deals", "entity": "opportunity", "date_field": "closed_at"},
    ]
    return ruleset_save(tenant=personas.admin.tenant, name="Basics", rules=rules)


def rules_of(ruleset: Ruleset) -> dict[str, GoalRule]:
    with scope(tenant=ruleset.tenant):
        return {rule.key: rule for rule in ruleset.rules.all()}


# Permissions


def test_it_lets_admins_build_and_nobody_else(personas: Personas):
    ruleset = a_ruleset(personas)
    edit = reverse("ruleset_edit", args=[ruleset.pk])
    admin = client_for(personas.admin)
    assert admin.get(NEW).status_code == 200
    assert admin.get(edit).status_code == 200
    assert admin.post(f"{NEW}rules/").status_code == 200
    for member in (personas.manager, personas.rep):
        client = client_for(member)
        assert client.get(NEW).status_code == 403
        assert client.get(edit).status_code == 403
        assert client.post(f"{NEW}rules/0/preview/", card(0, key="x")).status_code == 403


def test_it_answers_404_for_another_tenants_ruleset(personas: Personas):
    ruleset = a_ruleset(personas)
    edit = reverse("ruleset_edit", args=[ruleset.pk])
    outsider = client_for(personas.outsider)
    assert outsider.get(edit).status_code == 404
    assert outsider.post(edit, {"name": "Stolen"} | card(0, key="calls")).status_code == 404
    posted = card(0, key="calls", entity="activity", aggregation="count")
    assert outsider.post(f"{edit}rules/0/preview/", posted).status_code == 404
    assert outsider.post(f"{edit}rules/0/", posted).status_code == 404
    assert rules_of(ruleset)["calls"].name == "Calls"


def test_the_list_links_the_builder(personas: Personas):
    ruleset = a_ruleset(personas)
    html = client_for(personas.admin).get(reverse("ruleset_list")).content.decode()
    assert f'href="{NEW}"' in html
    assert f'href="{reverse("ruleset_edit", args=[ruleset.pk])}"' in html
    assert "<code>calls</code>" in html  # the current content stays


# Saving


def test_it_creates_a_ruleset_with_a_ratio_and_an_in_list(crm: Crm):
    form = {"name": "Calling", "description": "How we call"}
    form |= card(0, key="calls", name="Calls", entity="activity", aggregation="count")
    form |= condition(0, 0, "category", "in", "call, demo")
    form |= condition(0, 3, "duration", "between", "60, 600")  # a gap after a removed row
    form |= card(2, key="leads", name="Leads", entity="lead", aggregation="count")
    form |= card(7, key="calls_per_lead", aggregation="ratio", unit="percent")
    form |= card(7, numerator="calls", denominator="leads", direction="higher")
    form |= card(9, key="talk", entity="activity", aggregation="sum", field="duration")
    form |= condition(9, 0, "outcome", "is_not_empty")
    admin = client_for(crm.personas.admin)
    response = admin.post(NEW, form)
    assert response.status_code == 302
    assert response.url == reverse("ruleset_list")
    with scopes_disabled():
        ruleset = Ruleset.objects.get(name="Calling")
    rules = rules_of(ruleset)
    assert [r.key for r in sorted(rules.values(), key=lambda r: r.position)] == [
        "calls",
        "leads",
        "calls_per_lead",
        "talk",
    ]
    assert rules["calls"].conditions == [
        {"field": "category", "op": "in", "value": ["call", "demo"]},
        {"field": "duration", "op": "between", "value": [60, 600]},
    ]
    assert rules["calls_per_lead"].definition() == {
        "key": "calls_per_lead",
        "name": "calls_per_lead",
        "aggregation": "ratio",
        "unit": "percent",
        "direction": "higher",
        "numerator": "calls",
        "denominator": "leads",
        "indicator": "lagging",
    }
    assert rules["talk"].unit == "duration"
    assert rules["talk"].conditions == [{"field": "outcome", "op": "is_not_empty"}]
    assert ruleset.description == "How we call"
    page = admin.get(response.url).content.decode()
    assert "Created the ruleset Calling." in page


def test_it_shows_every_problem_next_to_its_field_and_saves_nothing(crm: Crm):
    form = {"name": ""}
    form |= card(0, key="calls", entity="activity", aggregation="count")
    form |= condition(0, 0, "nonsense", "eq", "x")
    form |= card(1, key="leads", entity="lead", aggregation="count")
    form |= condition(1, 0, "status", "eq", "converted")
    form |= condition(1, 4, "status", "in", " , ")
    form |= card(3, key="loop", aggregation="ratio", numerator="loop", denominator="calls")
    form |= card(4, key="value", entity="opportunity", aggregation="sum", field="status")
    form |= card(5, key="", entity="lead")
    response = client_for(crm.personas.admin).post(NEW, form)
    assert response.status_code == 200
    with scopes_disabled():
        assert not Ruleset.objects.exists()
    cards = response.context["cards"]
    assert cards[0].conditions[0].errors["field"] == [
        "Condition 1: choose a field from the list (nonsense is not one of them)."
    ]
    assert cards[1].conditions[0].errors == {}
    assert cards[1].conditions[1].errors["value"] == ["Condition 2: type a value for Status."]
    assert cards[2].errors["numerator"] == [
        "A ratio cannot divide itself: choose another rule as the numerator."
    ]
    assert cards[3].errors["field"] == ["Choose the field to add up."]
    assert cards[4].errors["key"] == ["Give the rule a name."]
    assert response.context["form"].errors["name"]
    html = response.content.decode()
    for message in ("A ratio cannot divide itself", "Condition 2: type a value for Status."):
        assert message in html
    assert "conditions[" not in html and "unknown field" not in html
    # The bad field stays visible where it was typed, next to its error.
    assert '<option value="nonsense" selected>nonsense (unknown)</option>' in html


def test_it_shows_a_taken_name_next_to_the_name(personas: Personas):
    a_ruleset(personas)
    form = {"name": "basics"} | card(0, key="calls", entity="activity", aggregation="count")
    response = client_for(personas.admin).post(NEW, form)
    assert response.status_code == 200
    assert "There is already a ruleset called 'basics'." in response.context["form"].errors["name"]


def test_editing_prefills_the_cards_and_keeps_rule_ids(personas: Personas):
    ruleset = ruleset_save(
        tenant=personas.admin.tenant,
        name="Basics",
        rules=[
            {
                "key": "calls",
                "name": "Calls",
                "entity": "activity",
                "conditions": [
                    {"field": "category", "op": "in", "value": ["call", "demo"]},
                    {"any": [{"field": "outcome", "op": "eq", "value": "connected"}]},
                ],
            },
            {"key": "deals", "name": "Deals", "entity": "opportunity", "date_field": "closed_at"},
        ],
    )
    before = {key: rule.pk for key, rule in rules_of(ruleset).items()}
    edit = reverse("ruleset_edit", args=[ruleset.pk])
    admin = client_for(personas.admin)
    response = admin.get(edit)
    cards = response.context["cards"]
    assert [(c.key, c.entity, c.date_field) for c in cards] == [
        ("calls", "activity", "occurred_at"),
        ("deals", "opportunity", "closed_at"),
    ]
    assert cards[0].conditions[0].value == "call, demo"
    html = response.content.decode()
    assert 'name="rules-0-cond-0-value" value="call, demo"' in html
    assert 'name="rules-0-cond-1-any"' in html

    # Post the page back as the browser would, with the deals renamed and moved first.
    posted = {"name": "Basics v2"}
    posted |= card(5, key="deals", name="Won deals", entity="opportunity", aggregation="count")
    posted |= card(5, date_field="closed_at", member_field="owner", direction="higher")
    posted |= card(6, key="calls", name="Calls", entity="activity", aggregation="count")
    posted |= condition(6, 0, "category", "in", "call, demo")
    posted["rules-6-cond-1-any"] = cards[0].conditions[1].any
    posted |= card(7, key="emails", name="Emails", entity="activity", aggregation="count")
    assert admin.post(edit, posted).status_code == 302
    after = rules_of(ruleset)
    assert {key: after[key].pk for key in before} == before
    assert after["deals"].name == "Won deals" and after["deals"].position == 0
    assert after["calls"].conditions[1] == {
        "any": [{"field": "outcome", "op": "eq", "value": "connected"}]
    }
    assert set(after) == {"deals", "calls", "emails"}


# The partials


def test_add_rule_appends_a_card_numbered_after_the_form(personas: Personas):
    posted = card(0, key="a") | card(4, key="b")
    response = client_for(personas.admin).post(f"{NEW}rules/", posted)
    html = response.content.decode()
    assert 'id="rule-5"' in html and 'name="rules-5-entity"' in html
    assert "<html" not in html
    assert 'id="rule-0"' not in html


def test_changing_the_entity_offers_that_entitys_fields(personas: Personas):
    admin = client_for(personas.admin)
    posted = card(2, key="x", entity="opportunity", aggregation="sum", date_field="occurred_at")
    posted |= condition(2, 0, "value", "gt", "10")
    html = admin.post(f"{NEW}rules/2/", posted).content.decode()
    assert html.lstrip().startswith('<fieldset class="rule-card"')
    assert options(html, "rules-2-field") == ["", "value"]
    assert options(html, "rules-2-date_field") == ["created_at", "closed_at"]
    assert selected(html, "rules-2-date_field") == "closed_at"  # occurred_at is not one
    assert "owner" in options(html, "rules-2-member_field")
    assert "owner" not in options(html, "rules-2-cond-0-field")  # members are not conditions
    assert selected(html, "rules-2-cond-0-op") == "gt"

    posted["rules-2-entity"] = "lead"
    html = admin.post(f"{NEW}rules/2/", posted).content.decode()
    assert "converted_at" in options(html, "rules-2-date_field")
    assert options(html, "rules-2-field") == [""]  # a lead has no numbers of its own

    posted["rules-2-aggregation"] = "ratio"
    html = admin.post(f"{NEW}rules/2/", posted).content.decode()
    assert 'name="rules-2-numerator"' in html and 'name="rules-2-entity"' not in html


@pytest.mark.parametrize("entity", ["lead", "opportunity", "stage_change"])
def test_the_accounts_fields_are_offered_as_conditions(personas: Personas, entity: str):
    posted = card(1, key="x", entity=entity) | condition(1, 0, "account_segment", "is_empty")
    html = client_for(personas.admin).post(f"{NEW}rules/1/", posted).content.decode()
    assert {"account", "account_segment", "account_channel"} <= set(
        options(html, "rules-1-cond-0-field")
    )
    assert '<option value="account_segment" selected>Account segment</option>' in html
    assert {"eq", "contains", "is_empty"} <= set(options(html, "rules-1-cond-0-op"))


def test_the_tenants_custom_fields_are_offered(crm: Crm):
    posted = card(0, key="x", entity="lead", aggregation="sum")
    html = client_for(crm.personas.admin).post(f"{NEW}rules/0/", posted).content.decode()
    assert options(html, "rules-0-field") == ["", "custom.budget", "custom.employees"]
    assert "custom.renewal" in options(html, "rules-0-date_field")


@pytest.mark.parametrize(
    ("field", "present", "absent"),
    [
        ("duration", {"gt", "between", "in"}, {"contains"}),
        ("status", {"eq", "in", "not_in"}, {"gt", "contains", "is_empty"}),
        ("outcome", {"contains", "is_empty"}, {"gt"}),
        ("occurred_at", {"between", "lt"}, {"eq", "in"}),
    ],
)
def test_a_condition_row_offers_the_operators_of_its_fields_type(
    personas: Personas, field: str, present: set[str], absent: set[str]
):
    posted = card(1, key="x", entity="activity") | condition(1, 3, field, "contains")
    html = client_for(personas.admin).post(f"{NEW}rules/1/conditions/3/", posted).content.decode()
    assert html.lstrip().startswith('<div class="condition-row" id="rule-1-cond-3"')
    ops = set(options(html, "rules-1-cond-3-op"))
    assert present <= ops and not absent & ops
    assert selected(html, "rules-1-cond-3-op") in ops


def test_add_condition_appends_a_row(personas: Personas):
    posted = card(1, key="x", entity="activity") | condition(1, 3, "status", "eq", "completed")
    html = client_for(personas.admin).post(f"{NEW}rules/1/conditions/", posted).content.decode()
    assert 'id="rule-1-cond-4"' in html
    assert '<option value="category">Category</option>' in html


def test_a_preset_brings_its_cards(crm: Crm):
    admin = client_for(crm.personas.admin)
    posted = card(0, key="mine") | {"preset": "conversion_rate"}
    html = admin.post(f"{NEW}presets/", posted).content.decode()
    assert re.findall(r'name="rules-(\d+)-key" value="(\w+)"', html) == [
        ("1", "converted"),
        ("2", "created"),
        ("3", "conversion_rate"),
    ]
    assert selected(html, "rules-3-numerator") == "converted"
    assert selected(html, "rules-3-denominator") == "created"
    html = admin.post(f"{NEW}presets/", {"preset": "deals_advanced", "stage": "Proposal"})
    html = html.content.decode()
    assert selected(html, "rules-0-cond-0-field") == "to_stage"
    assert 'name="rules-0-cond-0-value" value="Proposal"' in html
    assert admin.post(f"{NEW}presets/", {"preset": "nope"}).status_code == 400
    page = admin.get(NEW).content.decode()
    assert 'value="deals_advanced" data-stage="1"' in page
    assert '<option value="Proposal">Proposal</option>' in page


def test_it_turns_typed_condition_values_into_the_parsers_json():
    data = card(0, key="x", entity="lead") | condition(0, 0, "custom.vip", "eq", "TRUE")
    data |= condition(0, 1, "custom.employees", "between", "10, 99.5")
    data |= condition(0, 2, "status", "not_in", "new,, contacted ")
    custom = [
        CustomFieldDecl("lead", "vip", "boolean"),
        CustomFieldDecl("lead", "employees", "number"),
    ]
    builder = RuleBuilder(custom, {})
    rule = builder.rule(cards_from_data(data)[0])
    assert rule["conditions"] == [
        {"field": "custom.vip", "op": "eq", "value": True},
        {"field": "custom.employees", "op": "between", "value": [10, "99.5"]},
        {"field": "status", "op": "not_in", "value": ["new", "contacted"]},
    ]


# Preview


def _activities(crm: Crm) -> None:
    now = timezone.now()
    recent, old = (now - timedelta(days=2)).isoformat(), (now - timedelta(days=40)).isoformat()
    manager = crm.personas.manager.email

    def activity(n: int, **fields: Any) -> dict[str, Any]:
        return crm.activity(external_id=f"A-{n}", occurred_at=recent, status="completed") | fields

    records = [
        activity(1, duration_seconds="3600"),
        activity(2, duration_seconds="900"),
        activity(3, duration_seconds="60", status="cancelled"),
        activity(4, duration_seconds="600", owner_email=manager),
        activity(5, duration_seconds="7200", occurred_at=old),  # outside the 30 days
        activity(6, duration_seconds="300", type="Email"),
    ]
    records_upsert(tenant=crm.tenant, entity="activity", records=records)
    leads = [
        crm.lead(external_id="L-1", created_at=recent),
        crm.lead(external_id="L-2", created_at=recent),
        crm.lead(external_id="L-4", created_at=recent, owner_email=manager),
    ]
    records_upsert(tenant=crm.tenant, entity="lead", records=leads)


def test_the_preview_matches_a_hand_count(crm: Crm, django_assert_max_num_queries):
    """Queries: the session, user and member; the tenant's vocabulary (twice: the builder's
    and the parser's); the active members; one grouped query per counted rule."""
    _activities(crm)
    admin = client_for(crm.personas.admin)
    talk = card(0, key="talk", entity="activity", aggregation="sum", field="duration")
    talk |= condition(0, 0, "category", "eq", "call") | condition(0, 1, "status", "eq", "completed")
    with django_assert_max_num_queries(8):
        response = admin.post(f"{NEW}rules/0/preview/", talk)
    # rep: 3600 + 900 seconds of completed calls; manager: 600; the rest is filtered out.
    assert preview_of(response.content.decode()) == (
        "1:25",
        [(crm.personas.rep.name, "1:15"), (crm.personas.manager.name, "0:10")],
    )

    calls = card(0, key="calls", entity="activity", aggregation="count")
    calls |= condition(0, 0, "category", "eq", "call")
    calls |= card(1, key="leads", entity="lead", aggregation="count")
    calls |= card(2, key="calls_per_lead", aggregation="ratio", numerator="calls")
    calls |= card(2, denominator="leads")
    with django_assert_max_num_queries(9):
        response = admin.post(f"{NEW}rules/2/preview/", calls)
    # calls: rep 3 (the cancelled one counts here), manager 1; leads: rep 2, manager 1.
    assert preview_of(response.content.decode()) == (
        "133.3%",
        [(crm.personas.rep.name, "150.0%"), (crm.personas.manager.name, "100.0%")],
    )


def test_the_preview_shows_money_with_its_currency_and_keeps_to_the_tenant(crm: Crm):
    recent = (timezone.now() - timedelta(days=1)).isoformat()
    won = [
        crm.opportunity(external_id="O-1", status="won", value="1250.50", closed_at=recent),
        crm.opportunity(external_id="O-2", status="won", value="749.50", closed_at=recent),
        crm.opportunity(external_id="O-3", status="lost", value="99", closed_at=recent),
    ]
    records_upsert(tenant=crm.tenant, entity="opportunity", records=won)
    outsider = crm.personas.outsider
    records_upsert(
        tenant=outsider.tenant,
        entity="opportunity",
        records=[
            crm.opportunity(
                owner_email=outsider.email, stage="Closing", status="won", closed_at=recent
            )
        ],
    )
    posted = card(0, key="won", entity="opportunity", aggregation="sum", field="value")
    posted |= card(0, date_field="closed_at") | condition(0, 0, "status", "eq", "won")
    response = client_for(crm.personas.admin).post(f"{NEW}rules/0/preview/", posted)
    assert preview_of(response.content.decode()) == (
        "2,000.00 USD",
        [(crm.personas.rep.name, "2,000.00 USD")],
    )


def test_the_preview_shows_the_rules_errors(personas: Personas):
    posted = card(0, key="x", entity="activity", aggregation="average", field="status")
    response = client_for(personas.admin).post(f"{NEW}rules/0/preview/", posted)
    html = response.content.decode()
    assert "does not run yet" in html
    assert "Choose the field to average." in html


def test_it_shows_a_rule_the_database_cannot_compute_next_to_its_condition(crm: Crm):
    from unittest import mock

    from django.db.models.expressions import RawSQL

    from rulesets import compiler

    real = compiler._expression

    def refusing(spec):  # noqa: ANN001, ANN202
        return RawSQL("no_such_function(1)", []) if spec.name == "custom.tier" else real(spec)

    form = {"name": "Tiers"} | card(0, key="gold", entity="lead", aggregation="count")
    form |= condition(0, 0, "custom.tier", "eq", "Gold")
    with mock.patch.object(compiler, "_expression", refusing):
        response = client_for(crm.personas.admin).post(NEW, form)
    assert response.status_code == 200
    with scopes_disabled():
        assert not Ruleset.objects.exists()
    assert "the database cannot compute it" in response.content.decode()


def test_the_task_presets_build_and_save_and_overdue_needs_the_due_date(crm: Crm):
    with scope(tenant=crm.tenant):
        crm.tenant.activity_types.create(name="Follow-up", category="follow_up")
    admin = client_for(crm.personas.admin)
    html = admin.post(f"{NEW}presets/", {"preset": "tasks_overdue"}).content.decode()
    assert selected(html, "rules-0-entity") == "task"
    assert selected(html, "rules-0-date_field") == "due_at"
    assert selected(html, "rules-0-cond-0-field") == "overdue"
    form = {"name": "Tasks"} | card(0, key="overdue", name="Overdue", entity="task")
    form |= card(0, aggregation="count", date_field="due_at", direction="lower")
    form |= condition(0, 0, "overdue", "eq", "true")
    form |= card(1, key="late", name="Late", entity="task", aggregation="count")
    form |= card(1, date_field="completed_at") | condition(1, 0, "overdue", "eq", "true")
    refused = admin.post(NEW, form).content.decode()
    assert "Overdue at the cycle&#x27;s end counts records in the cycle of their due date" in (
        refused
    )
    form |= card(1, date_field="due_at") | condition(1, 0, "on_time", "eq", "no")
    assert admin.post(NEW, form).status_code == 302
    with scopes_disabled():
        rules = rules_of(Ruleset.objects.get(name="Tasks"))
    assert rules["overdue"].conditions == [{"field": "overdue", "op": "eq", "value": True}]
    assert rules["late"].conditions == [{"field": "on_time", "op": "eq", "value": False}]


def test_a_preset_of_chosen_activity_types_takes_them_from_the_picker(crm: Crm):
    admin = client_for(crm.personas.admin)
    page = admin.get(NEW).content.decode()
    assert 'value="activities_completed" data-types="1"' in page
    assert options(page, "types") == ["Call", "Demo", "Email"]
    posted = {"preset": "activities_completed", "types": ["Call", "Demo"]}
    html = admin.post(f"{NEW}presets/", posted).content.decode()
    assert selected(html, "rules-0-cond-0-field") == "type"
    assert selected(html, "rules-0-cond-0-op") == "in"
    assert 'name="rules-0-cond-0-value" value="Call, Demo"' in html


def test_the_preview_of_a_value_rule_says_other_currencies_are_left_out(crm: Crm):
    recent = (timezone.now() - timedelta(days=1)).isoformat()
    won = [
        crm.opportunity(external_id="O-1", status="won", value="100", closed_at=recent),
        crm.opportunity(
            external_id="O-2", status="won", value="900", currency="EUR", closed_at=recent
        ),
    ]
    records_upsert(tenant=crm.tenant, entity="opportunity", records=won)
    posted = card(0, key="won", entity="opportunity", aggregation="sum", field="value")
    posted |= card(0, date_field="closed_at") | condition(0, 0, "status", "eq", "won")
    html = client_for(crm.personas.admin).post(f"{NEW}rules/0/preview/", posted).content.decode()
    assert preview_of(html)[0] == "100.00 USD"  # the EUR deal is not added in
    assert "Only amounts in USD are counted: records in any other currency are left out" in html
    page = client_for(crm.personas.admin).post(f"{NEW}rules/0/", posted).content.decode()
    assert "counts amounts in this currency only" in page
