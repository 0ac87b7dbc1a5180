"""The Customers page: the panel's numbers, their definitions on hover, who may see it."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from crm.ingest import records_upsert
from tests.conftest import Crm, client_for

pytestmark = pytest.mark.django_db


def sales(crm: Crm, customers: int) -> None:
    records_upsert(
        tenant=crm.tenant,
        entity="account",
        records=[{"external_id": f"A{i}", "name": f"Account {i}", "channel": "Events"}
                 for i in range(customers)],
    )  # fmt: skip
    records_upsert(
        tenant=crm.tenant,
        entity="opportunity",
        records=[
            crm.opportunity(external_id=f"O{i}", status="won", closed_at="2025-03-10T10:00",
                            value="1500", account_external_id=f"A{i}")
            for i in range(customers)
        ]
        + [crm.opportunity(external_id="EUR", status="won", closed_at="2025-03-11T10:00",
                           value="99", currency="EUR", account_external_id="A0")],
    )  # fmt: skip
    records_upsert(
        tenant=crm.tenant,
        entity="spend",
        records=[
            {"external_id": "S1", "date": "2025-03-02", "channel": "Events", "amount": "3000"}
        ],
    )


def page(member, **params: str) -> str:
    response = client_for(member).get(reverse("customers"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_cac_ltv_and_their_definitions(crm: Crm):
    sales(crm, 2)
    body = page(crm.personas.admin, kind="monthly", day="2025-03-15")
    assert "March 2025" in body
    # 3,000 spent / 2 new customers; LTV 1,500 each (the EUR deal left out); 1,500 / 1,500.
    assert "USD 1,500.00" in body and "USD 3,000.00" in body and "1:1" in body
    assert "Spend and deals in EUR are left out" in body
    assert 'title="Customer acquisition cost: spend in this cycle divided by' in body
    assert 'aria-describedby="def-cac"' in body and 'id="def-cac"' in body
    assert "Account 0" in body  # the most valuable customers


def test_it_shows_a_quarter_and_opens_on_the_running_month(crm: Crm):
    sales(crm, 1)
    assert "Q1 FY2025" in page(crm.personas.admin, kind="quarterly", day="2025-02-01")
    with time_machine.travel("2025-03-20T12:00Z", tick=False):
        assert "March 2025" in page(crm.personas.admin, day="not a date")


def test_only_admins_of_the_tenant_see_it(crm: Crm):
    sales(crm, 1)
    for member in (crm.personas.manager, crm.personas.rep):
        assert client_for(member).get(reverse("customers")).status_code == 403
    other = page(crm.personas.outsider, kind="monthly", day="2025-03-15")
    assert "Account 0" not in other and "USD 3,000.00" not in other


@pytest.mark.parametrize("customers", [2, 25])
def test_it_takes_a_fixed_number_of_queries(
    crm: Crm, customers: int, django_assert_max_num_queries
):
    sales(crm, customers)
    client = client_for(crm.personas.admin)
    with django_assert_max_num_queries(6):
        client.get(reverse("customers"), {"day": "2025-03-15"})
