"""Records → Accounts, Records → Spend and an account's page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import conditional_escape
from django_scopes import scope

from core.csvcells import cell_neutralize
from crm.ingest import records_upsert
from crm.listings import Link
from crm.models import Account, Lead, Opportunity
from tests.conftest import Crm, client_for

pytestmark = pytest.mark.django_db


def accounts(crm: Crm, count: int, tenant=None) -> None:
    records = [
        {"external_id": f"ACC-{i}", "name": f"Account {i}", "segment": "SMB", "channel": "Events"}
        for i in range(count)
    ]
    records_upsert(tenant=tenant or crm.tenant, entity="account", records=records)


def spend(crm: Crm, count: int, team_email: str | None = None) -> None:
    records = [
        {"external_id": f"S-{team_email}-{i}", "date": f"2025-03-{i % 28 + 1:02d}",
         "channel": "Paid search", "amount": "1234.5"}
        | ({"team_email": team_email} if team_email else {})
        for i in range(count)
    ]  # fmt: skip
    records_upsert(tenant=crm.tenant, entity="spend", records=records)


def deals(crm: Crm, count: int, account: str, owner: str) -> None:
    records = [
        crm.opportunity(external_id=f"O-{owner}-{i}", name=f"Deal {owner} {i}", owner_email=owner,
                        account_external_id=account)
        for i in range(count)
    ]  # fmt: skip
    records_upsert(tenant=crm.tenant, entity="opportunity", records=records)
    leads = [
        crm.lead(external_id=f"L-{owner}-{i}", name=f"Lead {owner} {i}", owner_email=owner,
                 account_external_id=account)
        for i in range(count)
    ]  # fmt: skip
    records_upsert(tenant=crm.tenant, entity="lead", records=leads)


def account_pk(crm: Crm, external_id: str = "ACC-0") -> int:
    with scope(tenant=crm.tenant):
        return Account.objects.get(external_id=external_id).pk


def test_it_lists_accounts_with_links_to_their_pages(crm: Crm):
    accounts(crm, 2)
    body = client_for(crm.personas.manager).get(reverse("record_list", args=["accounts"]))
    text = body.content.decode()
    assert "2 records" in text
    assert f'href="{reverse("account_detail", args=[account_pk(crm)])}"' in text
    # Accounts have no owner or status to filter by.
    assert 'name="owner"' not in text and 'name="status"' not in text


def test_it_shows_an_accounts_deals_and_leads_of_the_viewers_team(crm: Crm):
    accounts(crm, 1)
    deals(crm, 2, "ACC-0", crm.rep_email)
    deals(crm, 1, "ACC-0", crm.personas.admin.email)
    url = reverse("account_detail", args=[account_pk(crm)])
    admin_page = client_for(crm.personas.admin).get(url).content.decode()
    assert admin_page.count("Deal ") == 3 and admin_page.count("Lead ") == 3
    assert "Not a customer yet" in admin_page
    won = crm.opportunity(external_id="W", status="won", closed_at="2025-03-10T10:00",
                          value="1500", account_external_id="ACC-0")  # fmt: skip
    eur = won | {"external_id": "W2", "currency": "EUR", "value": "99"}
    records_upsert(tenant=crm.tenant, entity="opportunity", records=[won, eur])
    admin_page = client_for(crm.personas.admin).get(url).content.decode()
    assert "2025-03-10" in admin_page and "USD 1,500.00" in admin_page  # the EUR deal left out
    manager_page = client_for(crm.personas.manager).get(url).content.decode()
    assert manager_page.count("Deal ") == 2  # not the admin's deal, outside their team
    assert f"Deal {crm.personas.admin.email}" not in manager_page


def test_its_deals_and_leads_link_to_their_own_pages_as_in_the_record_lists(crm: Crm):
    accounts(crm, 1)
    deals(crm, 1, "ACC-0", crm.rep_email)
    client = client_for(crm.personas.manager)
    page = client.get(reverse("account_detail", args=[account_pk(crm)])).content.decode()
    with scope(tenant=crm.tenant):
        deal, lead = Opportunity.objects.get(), Lead.objects.get()
    for kind, record in (("opportunities", deal), ("leads", lead)):
        link = f'<a href="{reverse(f"record_page_{kind}", args=[record.pk])}">{record.name}</a>'
        assert link in page
        assert link in client.get(reverse("record_list", args=[kind])).content.decode()
    assert 'class="pager"' not in page  # the newest records only, no pages


def test_it_answers_404_for_another_tenants_account_and_hides_its_spend(crm: Crm):
    accounts(crm, 1)
    spend(crm, 1)
    outsider = client_for(crm.personas.outsider)
    assert outsider.get(reverse("account_detail", args=[account_pk(crm)])).status_code == 404
    assert outsider.get(reverse("account_detail", args=[999999])).status_code == 404
    listing = outsider.get(reverse("record_list", args=["spend"])).content.decode()
    assert "0 records" in listing and "1,234.50" not in listing
    listing = outsider.get(reverse("record_list", args=["accounts"])).content.decode()
    assert "0 records" in listing and "Account 0" not in listing


def test_reps_cannot_open_record_pages(crm: Crm):
    accounts(crm, 1)
    rep = client_for(crm.personas.rep)
    assert rep.get(reverse("account_detail", args=[account_pk(crm)])).status_code == 403


def test_it_lists_spend_with_amounts_and_teams_by_date(crm: Crm):
    spend(crm, 2)
    spend(crm, 1, team_email=crm.rep_email)
    admin = client_for(crm.personas.admin)
    body = admin.get(reverse("record_list", args=["spend"])).content.decode()
    assert "3 records" in body and "1,234.50 USD" in body and "Whole company" in body
    # A manager sees the spend of their team only, not the company's own.
    manager = client_for(crm.personas.manager).get(reverse("record_list", args=["spend"]))
    assert "1 record of your team" in manager.content.decode()
    dated = admin.get(
        reverse("record_list", args=["spend"]), {"since": "2025-03-02", "until": "2025-03-02"}
    )
    assert "1 record" in dated.content.decode()


@pytest.mark.parametrize("count", [2, 30])
def test_record_pages_take_a_fixed_number_of_queries(
    crm: Crm, count: int, django_assert_max_num_queries
):
    accounts(crm, count)
    spend(crm, count, team_email=crm.rep_email)
    deals(crm, count, "ACC-0", crm.rep_email)
    client = client_for(crm.personas.manager)
    url = reverse("account_detail", args=[account_pk(crm)])
    for kind in ("accounts", "spend", "opportunities", "leads"):
        with django_assert_max_num_queries(5):
            assert client.get(reverse("record_list", args=[kind])).status_code == 200
    with django_assert_max_num_queries(9):  # login 3, account, its value, 2 x (count, page)
        assert client.get(url).status_code == 200


def test_a_link_cell_is_a_link_on_pages_and_text_in_csv():
    cell = Link("=Acme & <Co>", "/records/accounts/1/")
    assert conditional_escape(cell) == '<a href="/records/accounts/1/">=Acme &amp; &lt;Co&gt;</a>'
    assert cell_neutralize(cell) == "'=Acme & <Co>"  # what a CSV export writes
    assert conditional_escape(Link("", "/records/leads/1/")) == (
        '<a href="/records/leads/1/">(no name)</a>'  # a link has text to follow
    )
