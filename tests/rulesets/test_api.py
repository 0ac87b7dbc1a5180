from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from hierarchy.models import AuditEntry
from hierarchy.services import api_token_create
from rulesets.models import GoalRule, Ruleset
from tests.conftest import client_for

from .test_spec import REVENUE

pytestmark = pytest.mark.django_db


@pytest.fixture
def clients(personas):
    _, key_a = api_token_create(tenant=personas.admin.tenant, name="A")
    _, key_b = api_token_create(tenant=personas.outsider.tenant, name="B")
    return (
        Client(headers={"Authorization": f"Bearer {key_a}"}),
        Client(headers={"Authorization": f"Bearer {key_b}"}),
    )


def create(client: Client, rules: list[dict], name: str = "Revenue"):
    return client.post(
        "/api/v1/rulesets", {"name": name, "rules": rules}, content_type="application/json"
    )


def test_it_creates_and_reads_the_documented_example(clients):
    client, _ = clients
    response = create(client, REVENUE)
    assert response.status_code == 201, response.content
    body = response.json()
    assert [r["key"] for r in body["rules"]] == ["won_value", "won", "closed", "win_rate"]
    assert body["rules"][0]["conditions"] == [{"field": "status", "op": "eq", "value": "won"}]
    assert body["rules"][3] | {} == {
        "key": "win_rate",
        "name": "win_rate",
        "aggregation": "ratio",
        "unit": "percent",
        "direction": "higher",
        "numerator": "won",
        "denominator": "closed",
        "indicator": "lagging",  # a ratio's default
    }
    assert client.get(f"/api/v1/rulesets/{body['id']}").json() == body


def test_it_answers_422_naming_rule_and_field(clients):
    client, _ = clients
    rules = [
        {"key": "a", "entity": "deal"},
        {"key": "b", "entity": "lead", "aggregation": "sum", "field": "status"},
        {"key": "r", "aggregation": "ratio", "numerator": "r", "denominator": "a"},
    ]
    response = create(client, rules)
    assert response.status_code == 422
    assert [(e["rule"], e["field"]) for e in response.json()["detail"]] == [
        ("a", "entity"),
        ("b", "field"),
        ("r", "numerator"),
    ]
    with scopes_disabled():
        assert not Ruleset.objects.exists()


def test_it_refuses_two_rules_of_one_name(clients):
    client, _ = clients
    rules = [
        {"key": "calls", "name": "Calls", "entity": "activity"},
        {"key": "all_calls", "name": " calls ", "entity": "activity"},
    ]
    response = create(client, rules)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["rule"], problem["field"]) == ("all_calls", "name")
    assert "is the name of the rule 'calls' too" in problem["message"]
    with scopes_disabled():
        assert not Ruleset.objects.exists()


def test_it_refuses_a_taken_name(clients):
    create(clients[0], REVENUE)
    response = create(clients[0], REVENUE)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "name"


def test_it_updates_rules_by_key_and_keeps_their_ids(clients):
    client, _ = clients
    ruleset_id = create(client, REVENUE).json()["id"]
    with scopes_disabled():
        won_id = GoalRule.objects.get(key="won").pk
    rules = [r | {"name": "Deals won"} if r["key"] == "won" else r for r in REVENUE[1:3]]
    response = client.put(
        f"/api/v1/rulesets/{ruleset_id}",
        {"name": "Revenue 2027", "rules": rules},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert [r["key"] for r in response.json()["rules"]] == ["won", "closed"]
    with scopes_disabled():
        assert GoalRule.objects.get(key="won").pk == won_id
        entry = AuditEntry.objects.get(action="ruleset.edit")
    assert entry.actor_label == "API token 'A'"
    assert [c[0] for c in entry.changes()] == ["name", "rules"]


def test_another_tenant_gets_404(clients):
    ruleset_id = create(clients[0], REVENUE).json()["id"]
    _, outsider = clients
    assert outsider.get(f"/api/v1/rulesets/{ruleset_id}").status_code == 404
    assert outsider.delete(f"/api/v1/rulesets/{ruleset_id}").status_code == 404
    assert outsider.get("/api/v1/rulesets").json() == []
    assert clients[0].delete(f"/api/v1/rulesets/{ruleset_id}").status_code == 204
    with scopes_disabled():
        assert not Ruleset.objects.exists() and not GoalRule.objects.exists()


def test_admins_see_rulesets_in_the_browser(personas, clients):
    create(clients[0], REVENUE)
    page = client_for(personas.admin).get(reverse("ruleset_list")).content.decode()
    assert "Revenue" in page and "won ÷ closed" in page
    other = client_for(personas.outsider).get(reverse("ruleset_list")).content.decode()
    assert "won ÷ closed" not in other and "No rulesets yet" in other


def test_it_refuses_a_rule_the_database_cannot_compute_naming_its_key_and_part(crm):
    """Saving runs every rule once on the database in use: what the catalogue accepts but the
    database refuses (here, one condition's field made to fail) is a 422, never a 201 that
    fails at every recompute."""
    from unittest import mock

    from rulesets import compiler

    real = compiler._expression

    def refusing(spec):  # noqa: ANN001, ANN202
        if spec.name == "custom.tier":
            from django.db.models.expressions import RawSQL

            return RawSQL("no_such_function(1)", [])
        return real(spec)

    _, key = api_token_create(tenant=crm.tenant, name="A")
    client = Client(headers={"Authorization": f"Bearer {key}"})
    rules = [
        {"key": "fine", "entity": "lead"},
        {"key": "tiered", "entity": "lead", "conditions": [
            {"field": "status", "op": "eq", "value": "new"},
            {"field": "custom.tier", "op": "eq", "value": "Gold"},
        ]},
    ]  # fmt: skip
    with mock.patch.object(compiler, "_expression", refusing):
        response = create(client, rules)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert (problem["rule"], problem["field"]) == ("tiered", "conditions[1]")
    assert "the database cannot compute it" in problem["message"]
    with scopes_disabled():
        assert not Ruleset.objects.exists()
    assert create(client, rules).status_code == 201  # the same rules, on a database that can


PIPELINE = [
    {"key": "calls", "name": "Calls", "entity": "activity", "indicator": "lagging"},
    {"key": "in_proposal", "name": "In Proposal", "entity": "opportunity", "mode": "cycle_end",
     "conditions": [{"field": "stage", "op": "eq", "value": "Proposal"}]},
    {"key": "won", "name": "Won", "entity": "opportunity", "date_field": "closed_at"},
]  # fmt: skip


def test_it_takes_and_gives_each_rules_indicator_and_mode(crm, clients):
    client, outsider = clients
    response = create(client, PIPELINE, name="Pipeline")
    assert response.status_code == 201, response.content
    rules = {rule["key"]: rule for rule in response.json()["rules"]}
    assert rules["calls"]["indicator"] == "lagging"  # as said, against the default
    assert (rules["calls"]["mode"], rules["calls"]["date_field"]) == ("in_cycle", "occurred_at")
    assert rules["in_proposal"]["indicator"] == "leading"
    assert rules["in_proposal"]["mode"] == "cycle_end"
    assert "date_field" not in rules["in_proposal"]
    assert rules["won"]["indicator"] == "lagging"
    ruleset = response.json()["id"]
    # What the API gives is what it takes: a round trip changes nothing.
    again = client.put(
        f"/api/v1/rulesets/{ruleset}",
        {"name": "Pipeline", "rules": response.json()["rules"]},
        content_type="application/json",
    )
    assert again.status_code == 200 and again.json()["rules"] == response.json()["rules"]
    assert outsider.get(f"/api/v1/rulesets/{ruleset}").status_code == 404


def test_it_answers_422_for_a_bad_indicator_or_mode(crm, clients):
    client, _ = clients
    rules = [
        {"key": "calls", "entity": "activity", "indicator": "sideways"},
        {"key": "leads", "entity": "lead", "mode": "cycle_end"},
    ]
    response = create(client, rules)
    assert response.status_code == 422
    found = {(e["rule"], e["field"]) for e in response.json()["detail"]}
    assert found == {("calls", "indicator"), ("leads", "mode")}
