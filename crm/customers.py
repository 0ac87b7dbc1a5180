"""Customers, what winning them costs and what they are worth: new customers, CAC, LTV, LTV:CAC.

Definitions (the same words are shown on hover on the Customers panel and in docs/customers.md):

- A **customer** is an account with at least one won opportunity (status won, with its
  ``closed_at``). It became a customer at its **first won deal**: the earliest ``closed_at``.
- **New customers** of a cycle ``[start, end)``: accounts whose first won deal closed in it.
- An account's **channel** is its ``channel`` field (how it was acquired), matched to the
  spend's channel in any case; a customer without one counts in the totals and in "(none)".
- **Spend** of a cycle: spend dated on a local day of the cycle, in the one currency measured;
  a team's spend is the spend assigned to any member of its subtree.
- **CAC** (customer acquisition cost) = spend / new customers, for the whole cycle and for each
  channel; none when there are no new customers.
- **LTV** (lifetime value) of a customer = the value of all its won deals closed before the
  cycle's end, in the one currency measured; the LTV shown is the average over every customer
  up to the cycle's end (their total won value / their number).
- **LTV:CAC** = average LTV / CAC.

A team's customers are those whose first won deal was owned by a member of its subtree.
Spend and deals in another currency are left out of the sums, never converted, and the
currencies left out are listed with the result.

Three queries, whatever the number of accounts, deals, spend rows or channels.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Min, OuterRef, Q, QuerySet, Subquery, Sum
from django_scopes import scope

from hierarchy.models import Member, Tenant

from .models import Account, Opportunity, Spend

NONE = ""  # the channel of a customer or spend that names none


@dataclass
class ChannelCustomers:
    """The metrics of one acquisition channel (``channel`` "" is none)."""

    channel: str
    spend: Decimal = Decimal(0)
    new_customers: int = 0
    customers: int = 0  # up to the cycle's end
    won_value: Decimal = Decimal(0)  # of those customers, up to the cycle's end

    @property
    def cac(self) -> Decimal | None:
        return _ratio(self.spend, self.new_customers)

    @property
    def ltv(self) -> Decimal | None:
        return _ratio(self.won_value, self.customers)

    @property
    def ltv_to_cac(self) -> Decimal | None:
        ltv, cac = self.ltv, self.cac
        return None if ltv is None or not cac else ltv / cac


@dataclass
class CustomerMetrics:
    """The customers metrics of one cycle (and team), in ``currency``: the totals are a
    ``ChannelCustomers`` over every channel, ``channels`` one each, biggest spend first."""

    start: datetime
    end: datetime
    currency: str
    total: ChannelCustomers
    channels: list[ChannelCustomers]
    excluded_currencies: list[str] = field(default_factory=list)
    top_customers: list[tuple[int, str, Decimal]] = field(default_factory=list)  # pk, name, LTV


def _customers(won: QuerySet[Opportunity], currency: str) -> QuerySet:
    """One row per account of these won deals: its name and channel, its first won deal's
    moment (``first_won``) and owner (``first_owner``), and its won ``value`` in ``currency``."""
    first_owner = won.filter(account=OuterRef("account")).order_by("closed_at", "pk")
    return (
        won.filter(account__isnull=False)
        .values("account", "account__name", "account__channel")
        .annotate(
            first_won=Min("closed_at"),
            value=Sum("value", filter=Q(currency=currency), default=Decimal(0)),
            first_owner=Subquery(first_owner.values("owner")[:1]),
        )
    )


def customer_lifetime(*, account: Account, currency: str) -> tuple[datetime, Decimal] | None:
    """When ``account`` became a customer (its first won deal) and its lifetime value so far
    (won deals in ``currency``), or None if it has won no deal yet."""
    won = Opportunity.objects.filter(status=Opportunity.Status.WON, account=account)
    row = next(iter(_customers(won, currency)), None)  # one account: one row at most
    return None if row is None else (row["first_won"], row["value"])


def _ratio(part: Decimal, whole: int) -> Decimal | None:
    return part / whole if whole else None


TOP = 10  # customers listed by lifetime value


def customers_measure(
    *,
    tenant: Tenant,
    start: datetime,
    end: datetime,
    team: Member | None = None,
    currency: str | None = None,
) -> CustomerMetrics:
    """New customers, spend, CAC, LTV and LTV:CAC for the cycle ``[start, end)`` (aware
    datetimes at local midnights, as the tenant's cycles are), of ``team``'s subtree or the
    whole company, in ``currency`` (default: the tenant's). See the module for definitions."""
    currency = currency or tenant.default_currency
    zone = ZoneInfo(tenant.time_zone)
    first_day, end_day = start.astimezone(zone).date(), end.astimezone(zone).date()
    with scope(tenant=tenant):
        won = Opportunity.objects.filter(status=Opportunity.Status.WON, closed_at__lt=end)
        customers = _customers(won, currency)
        spend = Spend.objects.filter(date__gte=first_day, date__lt=end_day)
        if team is not None:
            in_team = Member.objects.filter(team.subtree_q()).values("pk")
            customers = customers.filter(first_owner__in=in_team)
            spend = spend.filter(team__in=in_team)
        spent = list(spend.values("channel", "currency").annotate(amount=Sum("amount")))
        rows = list(customers)
        excluded = {row["currency"] for row in spent} - {currency}
        if team is None:
            won_elsewhere = won.filter(account__isnull=False).exclude(currency=currency)
        else:
            won_elsewhere = won.filter(account__in=[row["account"] for row in rows]).exclude(
                currency=currency
            )
        excluded |= set(won_elsewhere.values_list("currency", flat=True).distinct())

    channels: dict[str, ChannelCustomers] = {}

    def channel(name: str) -> ChannelCustomers:
        key = name.strip().lower()
        if key not in channels:
            channels[key] = ChannelCustomers(name.strip())
        return channels[key]

    total = ChannelCustomers("All channels")
    # In a fixed order: a channel written in two ways is shown as its first spelling.
    for row in sorted(spent, key=lambda row: row["channel"]):
        bucket = channel(row["channel"])  # listed even when all its spend is left out
        if row["currency"] == currency:
            bucket.spend += row["amount"]
            total.spend += row["amount"]
    for row in sorted(rows, key=lambda row: row["account__channel"]):
        for bucket in (total, channel(row["account__channel"] or NONE)):
            bucket.customers += 1
            bucket.won_value += row["value"]
            bucket.new_customers += start <= row["first_won"]
    by_spend: defaultdict[bool, list[ChannelCustomers]] = defaultdict(list)
    for bucket in channels.values():
        by_spend[bucket.channel == NONE].append(bucket)
    ordered = sorted(by_spend[False], key=lambda b: (-b.spend, -b.new_customers, b.channel))
    top = sorted(rows, key=lambda row: (-row["value"], row["account__name"]))[:TOP]
    return CustomerMetrics(
        start=start,
        end=end,
        currency=currency,
        total=total,
        channels=ordered + by_spend[True],
        excluded_currencies=sorted(excluded),
        top_customers=[(row["account"], row["account__name"], row["value"]) for row in top],
    )
