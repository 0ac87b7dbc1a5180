"""How CRM records are listed: the columns of each entity's table, shared by every page that
shows records (the record pages, and the records behind a number on the dashboards)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Model, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from hierarchy.models import Member

from .models import Account, Activity, Lead, Opportunity, Spend, StageChange

PAGE_SIZE = 50


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _duration(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}"


def _owned_in_team(viewer: Member) -> Q:
    return Q(owner__in=Member.objects.visible_to(viewer).values("pk"))


def _spent_in_team(viewer: Member) -> Q:
    """Admins see all spend; a manager the spend of their team (not the company's own)."""
    return Q() if viewer.is_admin else Q(team__in=Member.objects.subtree(viewer).values("pk"))


class Link(str):
    """A cell's text that pages show as a link to ``url``; a CSV export writes the text."""

    url: str

    def __new__(cls, text: str, url: str) -> Link:
        cell = super().__new__(cls, text)
        cell.url = url
        return cell

    def __html__(self) -> SafeString:
        return format_html('<a href="{}">{}</a>', self.url, str(self))


def _account_link(account: Account | None) -> str:
    if account is None:
        return ""
    return Link(account.name, reverse("account_detail", args=[account.pk]))


FILTERS = frozenset({"q", "owner", "status", "since", "until", "planned"})


@dataclass(frozen=True)
class Listing:
    """How one entity's page lists and filters its records.

    ``visible`` is what the viewer may see (default: records owned in their part of the
    tree); ``date_field`` orders the records, newest first (none: by name), and the date
    filters apply to it; ``filters`` are the filter fields the page offers."""

    title: str
    model: type[Model]
    date_field: str | None
    related: tuple[str, ...]
    search: tuple[str, ...]
    columns: tuple[tuple[str, Callable[[Any], str]], ...]
    visible: Callable[[Member], Q] = _owned_in_team
    filters: frozenset[str] = FILTERS


LISTINGS: dict[str, Listing] = {
    "leads": Listing(
        "Leads",
        Lead,
        "created_at",
        ("owner", "account"),
        ("name", "email", "external_id"),
        (
            ("Name", lambda r: r.name),
            ("Owner", lambda r: r.owner.name),
            ("Status", lambda r: r.get_status_display()),
            ("Source", lambda r: r.source),
            ("Created", lambda r: _when(r.created_at)),
            ("Converted", lambda r: _when(r.converted_at)),
            ("Account", lambda r: _account_link(r.account)),
        ),
    ),
    "activities": Listing(
        "Activities",
        Activity,
        "occurred_at",
        ("owner", "type", "lead"),
        ("external_id", "outcome", "type__name"),
        (
            ("When", lambda r: _when(r.occurred_at)),
            ("Type", lambda r: r.type.name),
            ("Owner", lambda r: r.owner.name),
            ("Status", lambda r: r.get_status_display()),
            ("Outcome", lambda r: r.outcome),
            ("Duration", lambda r: _duration(r.duration_seconds)),
            ("Lead", lambda r: r.lead.name if r.lead else ""),
        ),
    ),
    "opportunities": Listing(
        "Opportunities",
        Opportunity,
        "created_at",
        ("owner", "stage", "account"),
        ("name", "external_id"),
        (
            ("Name", lambda r: r.name),
            ("Owner", lambda r: r.owner.name),
            ("Stage", lambda r: r.stage.name),
            ("Status", lambda r: r.get_status_display()),
            ("Value", lambda r: f"{r.value:,.2f} {r.currency}"),
            ("Created", lambda r: _when(r.created_at)),
            ("Closed", lambda r: _when(r.closed_at)),
            ("Account", lambda r: _account_link(r.account)),
        ),
    ),
    "accounts": Listing(
        "Accounts",
        Account,
        None,
        (),
        ("name", "external_id", "segment", "channel"),
        (
            ("Name", _account_link),
            ("Segment", lambda r: r.segment),
            ("Channel", lambda r: r.channel),
            ("External id", lambda r: r.external_id),
        ),
        visible=lambda viewer: Q(),  # the company's customers: every manager may look them up
        filters=frozenset({"q"}),
    ),
    "spend": Listing(
        "Spend",
        Spend,
        "date",
        ("team",),
        ("channel", "external_id"),
        (
            ("Date", lambda r: r.date.isoformat()),
            ("Channel", lambda r: r.channel),
            ("Amount", lambda r: f"{r.amount:,.2f} {r.currency}"),
            ("Team", lambda r: r.team.name if r.team else "Whole company"),
        ),
        visible=_spent_in_team,
        filters=frozenset({"q", "since", "until"}),
    ),
}


STAGE_CHANGES = Listing(
    "Stage changes",
    StageChange,
    "changed_at",
    ("opportunity", "from_stage", "to_stage", "member"),
    ("opportunity__name",),
    (
        ("When", lambda r: _when(r.changed_at)),
        ("Opportunity", lambda r: r.opportunity.name),
        ("From", lambda r: r.from_stage.name if r.from_stage else ""),
        ("To", lambda r: r.to_stage.name),
        ("By", lambda r: r.member.name if r.member else ""),
    ),
)

LISTING_OF_ENTITY: dict[str, Listing] = {
    "lead": LISTINGS["leads"],
    "activity": LISTINGS["activities"],
    "opportunity": LISTINGS["opportunities"],
    "stage_change": STAGE_CHANGES,
}
