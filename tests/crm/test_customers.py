"""New customers, CAC, LTV and LTV:CAC on a small hand-made data set, the arithmetic written out."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django_scopes import scope

from crm.customers import customers_measure
from crm.ingest import records_upsert
from tests.conftest import Crm

pytestmark = pytest.mark.django_db

# March 2025 in the tenant's zone (Europe/Berlin, UTC+1 then): [Feb 28 23:00, Mar 31 22:00) UTC.
START = datetime(2025, 2, 28, 23, tzinfo=UTC)
END = datetime(2025, 3, 31, 22, tzinfo=UTC)


@pytest.fixture
def sales(crm: Crm) -> Crm:
    p = crm.personas
    accounts = [
        ("A", "Paid search"),
        ("B", "Events"),
        ("C", "paid SEARCH"),  # channels match in any case
        ("D", ""),
        ("E", "Events"),
        ("F", "Paid search"),
    ]
    records_upsert(
        tenant=crm.tenant,
        entity="account",
        records=[
            {"external_id": key, "name": f"Account {key}", "channel": ch} for key, ch in accounts
        ],
    )

    def won(
        key: str, account: str | None, closed: str, value: str, currency: str = "USD", owner=p.rep
    ):
        deal = crm.opportunity(
            external_id=key, status="won", closed_at=closed, value=value, currency=currency
        )
        return (
            deal
            | {"owner_email": owner.email}
            | ({"account_external_id": account} if account else {})
        )

    deals = [
        won("A1", "A", "2025-01-15T10:00", "1000", owner=p.admin),  # A's first: January
        won("A2", "A", "2025-03-10T10:00", "500"),
        won("B1", "B", "2025-03-05T10:00", "2000"),
        won("B2", "B", "2025-03-20T10:00", "300", currency="EUR"),  # another currency
        won("C1", "C", "2025-03-31T23:30", "800"),  # local time: still March
        crm.opportunity(
            external_id="C0",
            status="lost",
            closed_at="2025-03-02T10:00",
            value="9999",
            account_external_id="C",
        ),  # fmt: skip
        won("D1", "D", "2025-03-15T10:00", "400"),
        crm.opportunity(external_id="E1", value="5000", account_external_id="E"),  # open
        won("F1", "F", "2025-04-01T00:30", "600"),  # local time: April
        won("X1", None, "2025-03-12T10:00", "700"),  # no account: no customer
    ]
    records_upsert(tenant=crm.tenant, entity="opportunity", records=deals)
    spend = [
        ("S1", "2025-03-01", "Paid search", "1000", "USD", p.manager),
        ("S2", "2025-03-31", "Paid search", "2000", "USD", None),
        ("S3", "2025-03-15", "events", "1000", "USD", p.rep),
        ("S4", "2025-03-16", "Events", "50", "EUR", None),  # another currency
        ("S5", "2025-02-28", "Paid search", "9999", "USD", None),  # February
        ("S6", "2025-04-01", "Paid search", "9999", "USD", None),  # April
    ]
    records_upsert(
        tenant=crm.tenant,
        entity="spend",
        records=[
            {"external_id": k, "date": d, "channel": ch, "amount": a, "currency": cur}
            | ({"team_email": team.email} if team else {})
            for k, d, ch, a, cur, team in spend
        ],
    )
    return crm


def test_it_computes_cac_and_ltv_by_hand(sales: Crm):
    metrics = customers_measure(tenant=sales.tenant, start=START, end=END)
    total = metrics.total
    # New in March: B (first won Mar 5), C (Mar 31 local), D (Mar 15); A's first was January.
    assert total.new_customers == 3
    # Spend in March, USD: 1000 + 2000 (paid search) + 1000 (events); EUR and Feb/Apr left out.
    assert total.spend == Decimal("4000")
    assert total.cac == Decimal("4000") / 3  # 1,333.33
    # Customers by March's end: A (1000 + 500), B (2000; its EUR deal left out), C (800), D (400).
    assert total.customers == 4
    assert total.won_value == Decimal("4700")
    assert total.ltv == Decimal("1175")  # 4700 / 4
    assert total.ltv_to_cac == Decimal("1175") / (Decimal("4000") / 3)  # 0.88
    assert metrics.excluded_currencies == ["EUR"]

    by_channel = {c.channel: c for c in metrics.channels}
    assert list(by_channel) == ["Paid search", "Events", ""]  # biggest spend first, none last
    paid = by_channel["Paid search"]
    # Spend 3000; new: C; customers A and C: (1500 + 800) / 2 = 1150; 1150 / 3000.
    assert (paid.spend, paid.new_customers, paid.cac) == (Decimal("3000"), 1, Decimal("3000"))
    assert paid.ltv == Decimal("1150")
    assert paid.ltv_to_cac == Decimal("1150") / Decimal("3000")
    events = by_channel["Events"]
    # Spend 1000 ("events" and "Events"); new: B; LTV 2000; 2000 / 1000 = 2.
    assert (events.cac, events.ltv, events.ltv_to_cac) == (Decimal(1000), Decimal(2000), 2)
    none = by_channel[""]
    assert (none.spend, none.new_customers, none.cac, none.ltv_to_cac) == (0, 1, 0, None)
    assert [name for _, name, _ in metrics.top_customers] == [
        "Account B",  # 2000
        "Account A",  # 1500
        "Account C",  # 800
        "Account D",  # 400
    ]


def test_it_counts_a_teams_spend_and_customers_in_its_subtree(sales: Crm):
    with scope(tenant=sales.tenant):
        manager = sales.personas.manager
    metrics = customers_measure(tenant=sales.tenant, start=START, end=END, team=manager)
    # Spend of the manager (S1, 1000) and of the rep below them (S3, 1000); S2 is the company's.
    assert metrics.total.spend == Decimal("2000")
    # Customers whose first won deal the rep owned: B, C, D (A's first was the admin's).
    assert metrics.total.new_customers == 3
    assert metrics.total.customers == 3
    assert metrics.total.ltv == Decimal("3200") / 3  # (2000 + 800 + 400) / 3
    assert metrics.total.cac == Decimal("2000") / 3


def test_it_has_no_cac_without_new_customers(sales: Crm):
    # April: F is new (April 1, 00:30 local) and S6 (9999) was spent: CAC 9999 / 1.
    april_end = datetime(2025, 4, 30, 22, tzinfo=UTC)
    april = customers_measure(tenant=sales.tenant, start=END, end=april_end)
    assert (april.total.new_customers, april.total.cac) == (1, Decimal("9999"))
    # LTV by April's end: A 1500, B 2000, C 800, D 400, F 600 = 5300 / 5.
    assert april.total.ltv == Decimal("1060")
    # November 2024: no customer yet, no spend: no CAC, no LTV, no ratio.
    empty = customers_measure(
        tenant=sales.tenant,
        start=datetime(2024, 10, 31, 23, tzinfo=UTC),
        end=datetime(2024, 11, 30, 23, tzinfo=UTC),
    )
    assert (empty.total.new_customers, empty.total.cac, empty.total.ltv) == (0, None, None)
    assert empty.total.ltv_to_cac is None


def test_it_takes_three_queries_whatever_the_data(sales: Crm, django_assert_num_queries):
    with django_assert_num_queries(3):
        customers_measure(tenant=sales.tenant, start=START, end=END)
