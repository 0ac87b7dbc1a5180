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

from .models import Account, Activity, Lead, Opportunity, Spend, StageChange, Task

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
    """A cell's text that pages show as a link to ``url``; a CSV export writes the text.

    The one way a listed cell links anywhere: to an account, a deal, or the record's own page
    (``Listing.row``). A link without text could not be followed, so it reads "(no name)"."""

    url: str

    def __new__(cls, text: str, url: str) -> Link:
        cell = super().__new__(cls, text)
        cell.url = url
        return cell

    def __html__(self) -> SafeString:
        return format_html('<a href="{}">{}</a>', self.url, str(self) or "(no name)")


def _account_link(account: Account | None) -> str:
    if account is None:
        return ""
    return Link(account.name, reverse("account_detail", args=[account.pk]))


def _deal_link(deal: Opportunity) -> str:
    """A deal's name, linking to its page with its stage history."""
    return Link(deal.name, reverse("record_page_opportunities", args=[deal.pk]))


FILTERS = frozenset({"q", "owner", "status", "since", "until", "planned"})


@dataclass(frozen=True)
class Listing:
    """How one entity's page lists and filters its records.

    ``visible`` is what the viewer may see (default: records owned in their part of the
    tree); ``date_field`` orders the records, newest first (none: by name), and the date
    filters apply to it; ``filters`` are the filter fields the page offers (without
    "planned", records dated after now are listed too: a task due tomorrow is news, a planned
    call is not); ``kind``: its Records tab, which gives each record its own page."""

    title: str
    model: type[Model]
    date_field: str | None
    related: tuple[str, ...]
    search: tuple[str, ...]
    columns: tuple[tuple[str, Callable[[Any], str]], ...]
    visible: Callable[[Member], Q] = _owned_in_team
    filters: frozenset[str] = FILTERS
    kind: str = ""

    def cells(self, record: Any) -> list[str]:
        """A record's cells, as its own page and a CSV export show them."""
        return [cell(record) for _, cell in self.columns]

    def row(self, record: Any) -> list[str]:
        """A record's cells in a table of records: the first links to the record's own page
        when it has one."""
        cells = self.cells(record)
        if self.kind:
            cells[0] = Link(cells[0], reverse(f"record_page_{self.kind}", args=(record.pk,)))
        return cells


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
        kind="leads",
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
        kind="activities",
    ),
    "opportunities": Listing(
        "Opportunities",
        Opportunity,
        "created_at",
        ("owner", "stage", "account"),
        ("name", "external_id"),
        (
            ("Name", lambda r: r.name),  # the first cell links to the record's page
            ("Owner", lambda r: r.owner.name),
            ("Stage", lambda r: r.stage.name),
            ("Status", lambda r: r.get_status_display()),
            ("Value", lambda r: f"{r.value:,.2f} {r.currency}"),
            ("Created", lambda r: _when(r.created_at)),
            ("Closed", lambda r: _when(r.closed_at)),
            ("Account", lambda r: _account_link(r.account)),
        ),
        kind="opportunities",
    ),
    "tasks": Listing(
        "Tasks",
        Task,
        "due_at",
        ("owner", "type", "lead", "opportunity"),
        ("subject", "external_id", "type__name"),
        (
            ("Subject", lambda r: r.subject),
            ("Type", lambda r: r.type.name),
            ("Owner", lambda r: r.owner.name),
            ("Status", lambda r: r.get_status_display()),
            ("Due", lambda r: _when(r.due_at)),
            ("Completed", lambda r: _when(r.completed_at)),
            ("Lead", lambda r: r.lead.name if r.lead else ""),
            ("Opportunity", lambda r: r.opportunity.name if r.opportunity else ""),
        ),
        filters=FILTERS - {"planned"},
        kind="tasks",
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
        ("Opportunity", lambda r: _deal_link(r.opportunity)),
        ("From", lambda r: r.from_stage.name if r.from_stage else ""),
        ("To", lambda r: r.to_stage.name),
        ("By", lambda r: r.member.name if r.member else ""),
    ),
)

LISTING_OF_ENTITY: dict[str, Listing] = {
    "lead": LISTINGS["leads"],
    "activity": LISTINGS["activities"],
    "opportunity": LISTINGS["opportunities"],
    "task": LISTINGS["tasks"],
    "stage_change": STAGE_CHANGES,
}
