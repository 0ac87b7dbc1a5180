"""The Customers panel: new customers, spend, CAC, LTV and LTV:CAC of one cycle, by channel
(numbers from ``crm.customers``). A reusable partial, ``dashboards/_customers_panel.html``, fed
by ``customers_panel``: the Customers page shows it, and any dashboard can embed it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from core.formatting import in_unit
from crm.customers import ChannelCustomers, CustomerMetrics, customers_measure
from goals.calendar import Cycle, CycleKind, cycles
from goals.models import tenant_calendar
from hierarchy.models import Member, Tenant

KINDS = {CycleKind.MONTHLY: "Month", CycleKind.QUARTERLY: "Quarter", CycleKind.YEARLY: "Year"}

# Shown on hover (title) and read by screen readers (aria-describedby); docs/customers.md says
# the same at length.
DEFINITIONS = {
    "new_customers": "Accounts whose first won deal (status won, by its closed date) falls in "
    "this cycle.",
    "spend": "Spend dated in this cycle, in {currency} only; a team's spend is what is assigned "
    "to anyone in its subtree.",
    "cac": "Customer acquisition cost: spend in this cycle divided by the new customers won in "
    "it, per channel by the account's channel field.",
    "ltv": "Lifetime value: the won value of each customer (won deals in {currency}) up to the "
    "end of this cycle, averaged over every customer by then.",
    "ltv_to_cac": "Lifetime value divided by acquisition cost: what a customer brings per unit "
    "spent to win one.",
}


@dataclass(frozen=True)
class Row:
    """One line of the panel's table: a channel or the total, its numbers formatted."""

    channel: str
    spend: str
    new_customers: str
    cac: str
    customers: str
    ltv: str
    ltv_to_cac: str


def _row(bucket: ChannelCustomers, currency: str) -> Row:
    ratio = bucket.ltv_to_cac
    return Row(
        channel=bucket.channel or "(none)",
        spend=in_unit(bucket.spend, "currency", currency),
        new_customers=in_unit(bucket.new_customers, "count"),
        cac=in_unit(bucket.cac, "currency", currency),
        customers=in_unit(bucket.customers, "count"),
        ltv=in_unit(bucket.ltv, "currency", currency),
        ltv_to_cac="–" if ratio is None else f"{in_unit(round(ratio, 2), 'count')}:1",
    )


def cycle_at(tenant: Tenant, kind: CycleKind, day: date) -> Cycle:
    """The tenant's whole cycle of ``kind`` (a month, a quarter, a fiscal year) holding ``day``."""
    calendar = tenant_calendar(tenant)
    natural = cycles(calendar, kind, day, day)[0]
    return cycles(calendar, kind, natural.natural_start, natural.natural_end - timedelta(1))[0]


def customers_panel(
    *, tenant: Tenant, kind: CycleKind, day: date, team: Member | None = None
) -> dict[str, Any]:
    """What ``dashboards/_customers_panel.html`` shows for the cycle of ``kind`` holding ``day``
    (the whole company, or ``team``'s subtree), and the unformatted ``metrics`` the API gives."""
    cycle = cycle_at(tenant, kind, day)
    metrics: CustomerMetrics = customers_measure(
        tenant=tenant, start=cycle.start, end=cycle.end, team=team
    )
    currency = metrics.currency
    return {
        "cycle": cycle,
        "kind": kind,
        "team": team,
        "currency": currency,
        "metrics": metrics,
        "total": _row(metrics.total, currency),
        "channels": [_row(bucket, currency) for bucket in metrics.channels],
        "excluded": metrics.excluded_currencies,
        "top": [
            (pk, name, in_unit(value, "currency", currency))
            for pk, name, value in metrics.top_customers
        ],  # fmt: skip
        "definitions": {k: text.format(currency=currency) for k, text in DEFINITIONS.items()},
        "previous": cycle.natural_start - timedelta(1),
        "next": cycle.natural_end,
    }
