"""How CRM records are listed: the columns of each entity's table, shared by every page that
shows records (the record pages, and the records behind a number on the dashboards)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from .models import Activity, Lead, Opportunity, StageChange, Task

PAGE_SIZE = 50


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _duration(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}"


class Row(list[str]):
    """A record's cells, and the address of the record's own page ("" when it has none)."""

    def __init__(self, cells: list[str], url: str) -> None:
        super().__init__(cells)
        self.url = url


@dataclass(frozen=True)
class Listing:
    """How one entity's page lists and filters its records. ``kind``: its Records tab, which
    gives each record its own page; ``future``: records dated after now are listed by
    default (a task due tomorrow is news, a planned call is not)."""

    title: str
    model: type[Model]
    date_field: str
    related: tuple[str, ...]
    search: tuple[str, ...]
    columns: tuple[tuple[str, Callable[[Any], str]], ...]
    kind: str = ""
    future: bool = False

    def row(self, record: Any) -> Row:
        url = reverse(f"record_page_{self.kind}", args=(record.pk,)) if self.kind else ""
        return Row([cell(record) for _, cell in self.columns], url)


LISTINGS: dict[str, Listing] = {
    "leads": Listing(
        "Leads",
        Lead,
        "created_at",
        ("owner",),
        ("name", "email", "external_id"),
        (
            ("Name", lambda r: r.name),
            ("Owner", lambda r: r.owner.name),
            ("Status", lambda r: r.get_status_display()),
            ("Source", lambda r: r.source),
            ("Created", lambda r: _when(r.created_at)),
            ("Converted", lambda r: _when(r.converted_at)),
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
        ("owner", "stage"),
        ("name", "external_id"),
        (
            ("Name", lambda r: r.name),
            ("Owner", lambda r: r.owner.name),
            ("Stage", lambda r: r.stage.name),
            ("Status", lambda r: r.get_status_display()),
            ("Value", lambda r: f"{r.value:,.2f} {r.currency}"),
            ("Created", lambda r: _when(r.created_at)),
            ("Closed", lambda r: _when(r.closed_at)),
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
        kind="tasks",
        future=True,
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
    "task": LISTINGS["tasks"],
    "stage_change": STAGE_CHANGES,
}
