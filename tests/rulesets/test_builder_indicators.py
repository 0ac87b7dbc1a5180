"""The rule builder's leading/lagging choice and its mode "as they stood at the cycle's end"
(a snapshot of the pipeline), with the sentence that says what such a rule counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from crm.ingest import records_upsert
from rulesets.models import Ruleset
from tests.conftest import Crm, Personas, client_for
from tests.rulesets.test_builder import (
    NEW,
    card,
    condition,
    options,
    preview_of,
    rules_of,
    selected,
)

pytestmark = pytest.mark.django_db


def redrawn(client, posted: dict[str, str], index: int = 0, base: str = NEW) -> str:  # noqa: ANN001
    response = client.post(f"{base}rules/{index}/", posted)
    assert response.status_code == 200
    return response.content.decode()


def test_a_card_offers_leading_and_lagging_defaulting_by_what_it_counts(personas: Personas):
    client = client_for(personas.admin)
    calls = redrawn(client, card(0, name="Calls", entity="activity", aggregation="count"))
    assert options(calls, "rules-0-indicator") == ["leading", "lagging"]
    assert selected(calls, "rules-0-indicator") == "leading"
    won = card(0, name="Won", entity="opportunity", date_field="closed_at", aggregation="count")
    assert selected(redrawn(client, won), "rules-0-indicator") == "lagging"
    chosen = card(0, name="Calls", entity="activity", indicator="lagging")
    assert selected(redrawn(client, chosen), "rules-0-indicator") == "lagging"  # kept


def test_the_indicator_is_saved_and_shown_again(crm: Crm):
    admin = client_for(crm.personas.admin)
    form = {"name": "Funnel"}
    form |= card(0, key="calls", name="Calls", entity="activity", indicator="lagging")
    form |= card(1, key="won", name="Won", entity="opportunity", date_field="closed_at")
    response = admin.post(NEW, form)
    assert response.status_code == 302, response.content.decode()
    with scopes_disabled():
        ruleset = Ruleset.objects.get(name="Funnel")
    rules = rules_of(ruleset)
    assert (rules["calls"].indicator, rules["won"].indicator) == ("lagging", "lagging")
    page = admin.get(reverse("ruleset_edit", args=[ruleset.pk])).content.decode()
    assert selected(page, "rules-0-indicator") == "lagging"


def test_only_an_opportunity_card_offers_the_snapshot_mode(personas: Personas):
    client = client_for(personas.admin)
    calls = redrawn(client, card(0, name="Calls", entity="activity", mode="cycle_end"))
    assert 'name="rules-0-mode"' not in calls
    assert 'name="rules-0-date_field"' in calls
    deals = redrawn(client, card(0, name="Deals", entity="opportunity"))
    assert options(deals, "rules-0-mode") == ["in_cycle", "cycle_end"]
    assert selected(deals, "rules-0-mode") == "in_cycle"
    snapshot = redrawn(client, card(0, name="Deals", entity="opportunity", mode="cycle_end"))
    assert selected(snapshot, "rules-0-mode") == "cycle_end"
    assert 'name="rules-0-date_field"' not in snapshot  # the stage history places them
    assert "stage history" in snapshot


@pytest.mark.parametrize(
    ("posted", "sentence"),
    [
        (
            condition(0, 0, "stage", "eq", "Proposal"),
            "Counts the opportunities that were in Proposal at the end of each cycle.",
        ),
        (
            card(0, aggregation="sum", field="value") | condition(0, 0, "status", "eq", "open"),
            "Adds up the value of the opportunities that were open at the end of each cycle.",
        ),
        ({}, "Counts the opportunities at the end of each cycle."),
    ],
)
def test_the_preview_says_what_a_snapshot_counts(crm: Crm, posted, sentence):
    records_upsert(
        tenant=crm.tenant,
        entity="opportunity",
        records=[
            crm.opportunity(
                stage="Proposal", created_at=(timezone.now() - timedelta(days=90)).isoformat()
            )
        ],
    )
    form = card(0, name="Pipeline", entity="opportunity", mode="cycle_end") | posted
    response = client_for(crm.personas.admin).post(f"{NEW}rules/0/preview/", form)
    html = response.content.decode()
    assert sentence in html
    assert "Now (" in html and "Last 30 days" not in html


def test_the_preview_counts_the_pipeline_as_it_stands_now(crm: Crm):
    """Created 90 days ago, out of a 30-day window: a snapshot still counts it."""
    records_upsert(
        tenant=crm.tenant,
        entity="opportunity",
        records=[
            crm.opportunity(
                stage="Proposal", created_at=(timezone.now() - timedelta(days=90)).isoformat()
            )
        ],
    )
    admin = client_for(crm.personas.admin)
    form = card(0, name="Pipeline", entity="opportunity", mode="cycle_end")
    in_proposal = form | condition(0, 0, "stage", "eq", "Proposal")
    html = admin.post(f"{NEW}rules/0/preview/", in_proposal).content.decode()
    assert preview_of(html)[0] == "1"
    elsewhere = form | condition(0, 0, "stage", "eq", "Prospect")
    assert preview_of(admin.post(f"{NEW}rules/0/preview/", elsewhere).content.decode())[0] == "0"


def test_a_snapshot_rule_is_saved_without_a_date_field(crm: Crm):
    admin = client_for(crm.personas.admin)
    form = {"name": "Pipeline"} | card(
        0, key="in_proposal", name="In Proposal", entity="opportunity", mode="cycle_end",
        date_field="closed_at",  # left over from before the mode was chosen: not posted on
    ) | condition(0, 0, "stage", "eq", "Proposal")  # fmt: skip
    response = admin.post(NEW, form)
    assert response.status_code == 302, response.content.decode()
    with scopes_disabled():
        ruleset = Ruleset.objects.get(name="Pipeline")
    rule = rules_of(ruleset)["in_proposal"]
    assert (rule.mode, rule.date_field, rule.indicator) == ("cycle_end", "", "leading")
    page = admin.get(reverse("ruleset_edit", args=[ruleset.pk])).content.decode()
    assert selected(page, "rules-0-mode") == "cycle_end"


def test_another_tenant_cannot_preview_through_a_ruleset_of_ours(personas: Personas):
    outsider = client_for(personas.outsider)
    form = card(0, name="Pipeline", entity="opportunity", mode="cycle_end")
    assert outsider.post("/rulesets/999999/rules/0/preview/", form).status_code == 404
