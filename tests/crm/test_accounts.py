"""Accounts and spend through the one ingestion path: the API, the CSV import, links from
leads and opportunities."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from crm import ingest
from crm.ingest import RecordsInvalid, records_delete, records_upsert
from crm.models import ENTITY_MODELS, Account, Lead, Opportunity, Spend
from hierarchy.services import api_token_create
from tests.conftest import Crm

pytestmark = pytest.mark.django_db


def api_client(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def clients(crm: Crm) -> tuple[Client, Client]:
    _, key_a = api_token_create(tenant=crm.tenant, name="A")
    _, key_b = api_token_create(tenant=crm.personas.outsider.tenant, name="B")
    return api_client(key_a), api_client(key_b)


def post(client: Client, path: str, body: dict):
    return client.post(f"/api/v1/{path}", body, content_type="application/json")


ACME = {"external_id": "ACC-1", "name": "Acme", "segment": "SMB", "channel": "Paid search"}
SPEND = {"external_id": "S-1", "date": "2025-03-01", "channel": "Paid search", "amount": "1200"}


def test_it_upserts_accounts_and_spend_idempotently(crm: Crm, clients):
    client, _ = clients
    first = post(client, "accounts", {"records": [ACME]})
    assert first.json() == {"created": 1, "updated": 0, "unchanged": 0, "rejected": []}
    assert post(client, "accounts", {"records": [ACME]}).json()["unchanged"] == 1
    spend = SPEND | {"team_email": crm.personas.manager.email.upper()}
    assert post(client, "spend", {"records": [spend]}).json()["created"] == 1
    assert post(client, "spend", {"records": [spend]}).json()["unchanged"] == 1
    listed = client.get("/api/v1/spend").json()["items"]
    assert listed == [
        {
            "external_id": "S-1",
            "date": "2025-03-01",
            "channel": "Paid search",
            "amount": "1200.00",
            "currency": "USD",  # the tenant's, when the record does not say
            "team_email": crm.personas.manager.email,
            "attributes": {},
        }
    ]
    accounts = client.get("/api/v1/accounts?segment=smb").json()["items"]
    assert [a["name"] for a in accounts] == ["Acme"]


@pytest.mark.parametrize("model", ENTITY_MODELS.values(), ids=ENTITY_MODELS)
def test_an_entity_is_owned_when_it_has_an_owner_and_only_then_measured(model):
    has_owner = any(f.name == "owner" for f in model._meta.concrete_fields)
    assert has_owner == model.OWNED
    assert bool(model.DATE_FIELDS) == model.OWNED  # rules credit a member, by a date


def test_spend_and_an_account_nothing_names_tell_no_recompute(
    crm: Crm, django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
):
    """Both credit nobody; an account is read by rules only through the records that name it
    (none here: see the account edit test below)."""
    told: list[str] = []
    monkeypatch.setattr(ingest, "entities_changed", lambda _, entity, **__: told.append(entity))
    spend = SPEND | {"team_email": crm.rep_email}
    with django_capture_on_commit_callbacks(execute=True):
        for entity, record in (("account", ACME), ("spend", spend)):
            records_upsert(tenant=crm.tenant, entity=entity, records=[record])
            changed = record | {"channel": "Events"}
            assert records_upsert(tenant=crm.tenant, entity=entity, records=[changed]).updated == 1
            external_ids = [record["external_id"]]
            assert records_delete(tenant=crm.tenant, entity=entity, external_ids=external_ids) == 1
        records_upsert(tenant=crm.tenant, entity="lead", records=[crm.lead()])
    assert told == ["lead"]


def test_an_account_declares_what_rules_read_of_it():
    from rulesets.catalogue import ENTITIES

    paths = [spec.path for specs in ENTITIES.values() for spec in specs]
    read = {path.rpartition("account__")[2] for path in paths if "account__" in path}
    assert read == set(Account.READ_FIELDS)


def test_an_account_edit_tells_a_recompute_only_when_rules_see_it(
    crm: Crm,
    django_capture_on_commit_callbacks,
    monkeypatch: pytest.MonkeyPatch,
):
    """Rules read an account's external id, segment and channel through the leads, deals and
    stage changes that name it: a new name asks for no recompute, a new segment or channel
    does, in as many queries however many records name it."""
    told: list[str] = []
    monkeypatch.setattr(ingest, "entities_changed", lambda _, entity, **__: told.append(entity))
    records_upsert(tenant=crm.tenant, entity="account", records=[ACME])
    named = {"account_external_id": "ACC-1"}
    records_upsert(tenant=crm.tenant, entity="lead", records=[crm.lead(**named)])
    records_upsert(tenant=crm.tenant, entity="opportunity", records=[crm.opportunity(**named)])

    queries: list[int] = []

    def edited(**fields: str) -> list[str]:
        told.clear()
        with (
            django_capture_on_commit_callbacks(execute=True),
            CaptureQueriesContext(connection) as captured,
        ):
            records_upsert(tenant=crm.tenant, entity="account", records=[ACME | fields])
        queries.append(len(captured))
        return sorted(told)

    assert edited(name="Acme Inc") == []
    assert edited(segment="Enterprise") == ["lead", "opportunity", "stage_change"]
    more = [crm.lead(external_id=f"L-{n}", **named) for n in range(2, 6)]
    records_upsert(tenant=crm.tenant, entity="lead", records=more)
    assert edited(channel="Events") == ["lead", "opportunity", "stage_change"]
    assert queries[1] == queries[2]


def test_it_links_leads_and_opportunities_to_their_account(crm: Crm, clients):
    client, _ = clients
    post(client, "accounts", {"records": [ACME]})
    lead = crm.lead(account_external_id="ACC-1")
    deal = crm.opportunity(account_external_id="ACC-1")
    assert post(client, "leads", {"records": [lead]}).status_code == 200
    assert post(client, "opportunities", {"records": [deal]}).status_code == 200
    with scope(tenant=crm.tenant):
        acme = Account.objects.get()
        assert Lead.objects.get().account == acme
        assert Opportunity.objects.get().account == acme
    listed = client.get("/api/v1/opportunities").json()["items"][0]
    assert listed["account_external_id"] == "ACC-1"
    # Left out on a resend, the link goes: a record replaces what was stored.
    post(client, "opportunities", {"records": [crm.opportunity()]})
    with scope(tenant=crm.tenant):
        assert Opportunity.objects.get().account is None


def test_it_names_an_unknown_account_and_writes_nothing(crm: Crm, clients):
    client, other = clients
    post(other, "accounts", {"records": [ACME]})  # the other tenant's account is no answer
    records = [
        crm.opportunity(external_id="O-1"),
        crm.opportunity(external_id="O-2", account_external_id="ACC-1"),
    ]
    response = post(client, "opportunities", {"records": records})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "record": 1,
            "field": "account_external_id",
            "message": "account_external_id 'ACC-1' is not the external_id of an account of "
            "this organization",
        }
    ]
    with scope(tenant=crm.tenant):
        assert not Opportunity.objects.exists()


def test_it_rejects_a_bad_spend_batch_whole(crm: Crm):
    records = [
        SPEND,
        SPEND | {"external_id": "S-2", "date": "2025-02-30", "amount": "-5", "currency": "euro"},
        {"external_id": "S-3", "team_email": "nobody@example.com"},
    ]
    with pytest.raises(RecordsInvalid) as raised:
        records_upsert(tenant=crm.tenant, entity="spend", records=records)
    problems = {(p.line, p.field): p.message for p in raised.value.problems}
    assert problems[(1, "date")] == "date '2025-02-30' is not a date (YYYY-MM-DD)"
    assert problems[(1, "amount")].startswith("amount '-5' is not valid")
    assert problems[(1, "currency")].startswith("currency 'euro' is not valid")
    assert {(2, "date"), (2, "channel"), (2, "amount"), (2, "team_email")} <= set(problems)
    with scope(tenant=crm.tenant):
        assert not Spend.objects.exists()


def test_it_keeps_accounts_apart_between_tenants(crm: Crm, clients):
    client, other = clients
    post(client, "accounts", {"records": [ACME]})
    assert post(other, "accounts", {"records": [ACME | {"name": "Other"}]}).json()["created"] == 1
    assert [a["name"] for a in client.get("/api/v1/accounts").json()["items"]] == ["Acme"]
    post(client, "accounts", {"records": [ACME | {"external_id": "ACC-A"}]})
    assert other.delete("/api/v1/accounts/ACC-A").status_code == 404
    assert post(other, "accounts/delete", {"external_ids": ["ACC-A"]}).json() == {"deleted": 0}
    post(client, "spend", {"records": [SPEND]})
    assert other.get("/api/v1/spend").json()["items"] == []
    assert other.delete("/api/v1/spend/S-1").status_code == 404
    assert client.delete("/api/v1/spend/S-1").status_code == 204


def test_it_imports_accounts_and_spend_from_csv(crm: Crm, tmp_path):
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("external_id,name,segment,channel\nACC-1,Acme,SMB,Events\nACC-2,Bolt,,\n")
    spend = tmp_path / "spend.csv"
    spend.write_text(
        "external_id,date,channel,amount,currency\nS-1,2025-03-01,Events,500,USD\n"
        "S-2,2025-03-02,Events,250.50,\n"
    )
    out = StringIO()
    slug = crm.tenant.slug
    call_command("import_entities", "--tenant", slug, "--entity", "account", accounts, stdout=out)
    call_command("import_entities", "--tenant", slug, "--entity", "spend", spend, stdout=out)
    with scope(tenant=crm.tenant):
        assert list(Account.objects.values_list("name", "segment", "channel")) == [
            ("Acme", "SMB", "Events"),
            ("Bolt", "", ""),
        ]
        assert sorted(Spend.objects.values_list("date", "amount", "currency")) == [
            (date(2025, 3, 1), Decimal("500.00"), "USD"),
            (date(2025, 3, 2), Decimal("250.50"), "USD"),
        ]
    leads = tmp_path / "leads.csv"
    leads.write_text(
        f"external_id,owner_email,name,account_external_id\nL-1,{crm.rep_email},Ada,ACC-1\n"
        f"L-2,{crm.rep_email},Bob,ACC-9\n"
    )
    with pytest.raises(CommandError) as failed:
        call_command("import_entities", "--tenant", slug, "--entity", "lead", leads, stdout=out)
    assert "line 3: account_external_id 'ACC-9' is not the external_id of an account" in str(
        failed.value
    )
    with scope(tenant=crm.tenant):
        assert not Lead.objects.exists()
