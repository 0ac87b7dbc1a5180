"""Numbers are ASCII digits on every path: "1_000" and digits of other scripts, which Python's
Decimal() and int() read, are refused by field like any other text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from crm.models import Lead, Opportunity
from goals.models import Goal
from hierarchy.services import api_token_create
from rulesets.models import Ruleset
from tests.conftest import Crm, Org, client_for

pytestmark = pytest.mark.django_db

NOT_NUMBERS = ["1_000", "١٢٣", "１２３", "12\u0663", "\u0967\u0966"]


@pytest.fixture
def api(crm: Crm) -> Client:
    _, key = api_token_create(tenant=crm.tenant, name="sync")
    return Client(headers={"Authorization": f"Bearer {key}"})


def post(api: Client, path: str, body: dict):
    return api.post(f"/api/v1/{path}", body, content_type="application/json")


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_record_numbers_refuse_other_digits(crm: Crm, api: Client, text: str) -> None:
    deal = post(api, "opportunities", {"records": [crm.opportunity(value=text)]})
    assert deal.status_code == 422 and deal.json()["detail"][0]["field"] == "value"
    lead = post(api, "leads", {"records": [crm.lead(attributes={"employees": text})]})
    assert lead.status_code == 422
    with scopes_disabled():
        assert not Opportunity.objects.exists() and not Lead.objects.exists()


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_goal_targets_and_shares_refuse_other_digits(org: Org, api: Client, text: str) -> None:
    body = {
        "name": "Digits",
        "ruleset": org.ruleset.pk,
        "team": org.east.email,
        "cycle": "monthly",
        "start": org.today.isoformat(),
        "end": (org.today + timedelta(days=40)).isoformat(),
        "targets": {"dialled_calls": text},
    }
    assert post(api, "goals", body).status_code == 422
    shares = {org.rep.email: text, org.rep2.email: "50"}
    split = {"parent": org.east.email, "method": "percentage", "shares": shares}
    body |= {"targets": {"dialled_calls": 10}, "distribution": [split]}
    assert post(api, "goals", body).status_code == 422
    form = {k: body[k] for k in ("name", "ruleset", "cycle", "start", "end")}
    form |= {"team": org.east.pk, "holders": "reps", "target-dialled_calls": text, "go": "review"}
    page = client_for(org.east).post(reverse("goal_new"), form | {"save": "1"})
    assert page.status_code == 200 and "is not a number" in page.content.decode()
    with scopes_disabled():
        assert not Goal.objects.exists()


@pytest.mark.parametrize("text", [*NOT_NUMBERS, "60"])
def test_rule_conditions_refuse_other_digits(api: Client, text: str) -> None:
    condition = {"field": "duration", "op": "gt", "value": text}
    rule = {"key": "calls", "entity": "activity", "aggregation": "count", "conditions": [condition]}
    response = post(api, "rulesets", {"name": "Long calls", "rules": [rule]})
    if text == "60":  # the same condition with a number is saved
        assert response.status_code == 201, response.content
        return
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"].startswith("conditions")
    with scopes_disabled():
        assert not Ruleset.objects.filter(name="Long calls").exists()
