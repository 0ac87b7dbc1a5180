"""The pipeline page: the tenant's open stages as columns of open deals, with a pie beside each
stage's name for every running goal rule that counts deals advanced into it (or their value).

Every read is one query whatever the number of deals or stages: the stages, the columns'
counts and values (grouped), their first cards (a window per stage), the won and lost totals,
and the pies, which are the rows Assigned to me shows (``member_cycles``, ``held_cells``,
``held_bars``): a pie's fraction is the bar's, never computed a second way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.urls import reverse

from core.formatting import in_unit
from crm.models import Opportunity, PipelineStage
from goals.calendar import CycleKind
from goals.models import tenant_calendar
from hierarchy.models import Member, Tenant
from rulesets.models import GoalRule

from .chart import pie
from .customers import cycle_at
from .dashboard import Progress, held_bars, member_cycles
from .panels import cached, held_cells

CARDS = 10  # the first deals of a column; the rest come a page at a time as it scrolls
PERIODS = {
    "": "Any time",
    "monthly": "This month",
    "quarterly": "This quarter",
    "yearly": "This (fiscal) year",
}
SCOPES = {"team": "and their team", "own": "alone"}


class PipelineFilters(forms.Form):
    """Whose deals (a member the viewer may see, with or without their team) and when: open
    deals created in the period, deals won or lost closed in it."""

    member = forms.ModelChoiceField(queryset=Member.objects.none(), required=False)
    scope = forms.ChoiceField(choices=list(SCOPES.items()), required=False, label="Deals of")
    period = forms.ChoiceField(choices=list(PERIODS.items()), required=False)

    def __init__(self, *args: Any, viewer: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = Member.objects.visible_to(viewer).filter(is_active=True).order_by("lft")
        self.fields["member"].queryset = people
        self.fields["member"].empty_label = None
        self.fields["member"].label = "Member"
        top = 0 if viewer.is_admin else viewer.level
        self.fields["member"].label_from_instance = lambda m: f"{'— ' * (m.level - top)}{m.name}"
        if not viewer.is_admin and not viewer.leads_team:  # a rep sees their own deals alone
            del self.fields["member"], self.fields["scope"]


@dataclass(frozen=True)
class Pie:
    """One goal rule's progress as a pie beside a stage: the bar Assigned to me shows."""

    goal_id: int
    goal_name: str
    bar: Progress
    url: str

    @property
    def title(self) -> str:
        bar = self.bar
        rule = bar.rule
        held = f" ({bar.held_as})" if bar.held_as else ""
        return (
            f"{self.goal_name} · {rule.name}{held}: {in_unit(bar.value, rule.unit, rule.currency)}"
            f" of {in_unit(bar.target, rule.unit, rule.currency)} ({bar.percent}%)"
        )

    @property
    def svg(self) -> str:
        return pie(self.bar.fill / 100, self.title, self.bar.percent or 0)


@dataclass
class Column:
    stage: PipelineStage
    count: int = 0
    value: Decimal = Decimal(0)
    elsewhere: int = 0  # deals in another currency than the tenant's: counted, not added in
    cards: list[Opportunity] = field(default_factory=list)
    pies: list[Pie] = field(default_factory=list)

    @property
    def more(self) -> bool:
        return self.count > len(self.cards)


@dataclass(frozen=True)
class Board:
    subject: Member
    team: bool
    since: datetime | None
    until: datetime | None

    def owners(self) -> Q:
        """Deals owned by the subject, or anyone in their team."""
        return self.subject.subtree_q("owner") if self.team else Q(owner=self.subject)

    def open_deals(self) -> QuerySet[Opportunity]:
        deals = Opportunity.objects.filter(self.owners(), status=Opportunity.Status.OPEN)
        return deals.filter(self._within("created_at"))

    def closed_deals(self) -> QuerySet[Opportunity]:
        deals = Opportunity.objects.filter(self.owners()).exclude(status=Opportunity.Status.OPEN)
        return deals.filter(self._within("closed_at"))

    def _within(self, date_field: str) -> Q:
        window = Q()
        if self.since is not None:
            window &= Q(**{f"{date_field}__gte": self.since})
        if self.until is not None:
            window &= Q(**{f"{date_field}__lt": self.until})
        return window


ORDER = (F("value").desc(), F("pk").desc())  # the biggest deals first


def board_for(
    viewer: Member, data: Mapping[str, Any], now: datetime
) -> tuple[PipelineFilters, Board]:
    """The filters as posted (a member the viewer may not see is a 404, raised by the view)
    and the board they ask for; by default the viewer with their team, any time."""
    form = PipelineFilters(data or None, viewer=viewer)
    subject, scope, period = viewer, "team", ""
    if form.is_bound:
        form.is_valid()  # what is valid is kept; a filter that is not falls back to its default
        subject = form.cleaned_data.get("member") or viewer
        scope = form.cleaned_data.get("scope") or "team"
        period = form.cleaned_data.get("period") or ""
    since = until = None
    if period:  # the whole month, quarter or fiscal year holding today
        today = now.astimezone(tenant_calendar(viewer.tenant).zone).date()
        cycle = cycle_at(viewer.tenant, CycleKind(period), today)
        since, until = cycle.start, cycle.end
    if not form.is_bound:
        form = PipelineFilters(initial={"member": viewer.pk, "scope": "team"}, viewer=viewer)
    return form, Board(subject, scope == "team" and subject.leads_team, since, until)


def columns(board: Board, tenant: Tenant) -> list[Column]:
    """The open stages in order, each with its open deals' count, value in the tenant's
    currency and first cards."""
    stages = list(PipelineStage.objects.filter(outcome=PipelineStage.Outcome.OPEN))
    by_stage = {stage.pk: Column(stage) for stage in stages}
    currency = tenant.default_currency
    deals = board.open_deals().filter(stage__in=list(by_stage))
    for stage_id, count, value, elsewhere in (
        deals.order_by()
        .values("stage_id")
        .annotate(
            count=Count("pk"),
            value=Sum("value", filter=Q(currency=currency)),
            elsewhere=Count("pk", filter=~Q(currency=currency)),
        )
        .values_list("stage_id", "count", "value", "elsewhere")
    ):
        column = by_stage[stage_id]
        column.count, column.value, column.elsewhere = count, value or Decimal(0), elsewhere
    ranked = deals.annotate(
        place=Window(RowNumber(), partition_by=F("stage_id"), order_by=ORDER)
    ).filter(place__lte=CARDS)
    for deal in ranked.select_related("owner").order_by("stage_id", "place"):
        by_stage[deal.stage_id].cards.append(deal)
    return list(by_stage.values())


def more_cards(board: Board, stage: PipelineStage, offset: int) -> list[Opportunity]:
    """The next page of a column's deals."""
    deals = board.open_deals().filter(stage=stage).select_related("owner")
    return list(deals.order_by(*ORDER)[offset : offset + CARDS])


def closed_totals(board: Board, tenant: Tenant) -> dict[str, dict[str, Any]]:
    """Won and lost: how many deals and their value in the tenant's currency."""
    currency = tenant.default_currency
    totals = {status: {"count": 0, "value": Decimal(0)} for status in ("won", "lost")}
    for status, count, value in (
        board.closed_deals()
        .order_by()
        .values("status")
        .annotate(count=Count("pk"), value=Sum("value", filter=Q(currency=currency)))
        .values_list("status", "count", "value")
    ):
        totals[status] = {"count": count, "value": value or Decimal(0)}
    return totals


def stages_counted(conditions: list[Any]) -> set[str]:
    """The stages a stage-change rule's conditions count deals advanced into: its
    ``to_stage`` is (or is one of) them."""
    names: set[str] = set()
    for condition in conditions:
        if not isinstance(condition, Mapping) or condition.get("field") != "to_stage":
            continue
        if condition.get("op") == "eq" and isinstance(condition.get("value"), str):
            names.add(condition["value"])
        elif condition.get("op") == "in" and isinstance(condition.get("value"), list):
            names.update(v for v in condition["value"] if isinstance(v, str))
    return names


def stage_pies(
    tenant: Tenant, subject: Member, now: datetime, *, manager: bool
) -> dict[str, list[Pie]]:
    """Stage name -> the subject's pies: one per running goal rule held (as Assigned to me
    holds it) that counts deals advanced into the stage. ``manager``: the viewer may open
    the goal's progress page, else the link is to Assigned to me."""
    shown, stamps = member_cycles(tenant, subject, now, closing=False)
    pairs = [(pk, cycle) for (pk, _), (_, cycle) in shown.items()]

    def build() -> tuple[list[Any], dict[int, frozenset[str]]]:
        cells = held_cells(subject.pk, pairs)
        rules = GoalRule.objects.filter(
            pk__in={cell.rule.pk for cell in cells}, entity="stage_change"
        ).values_list("pk", "conditions")
        return cells, {pk: frozenset(stages_counted(conditions)) for pk, conditions in rules}

    cells, counted = (
        cached(tenant, ("pipeline", subject.pk, tuple(stamps)), build) if pairs else ([], {})
    )
    pies: dict[str, list[Pie]] = {}
    for cell in cells:
        stages = counted.get(cell.rule.pk)
        if not stages:
            continue
        name, cycle = shown[(cell.goal_id, cell.cycle_index)]
        url = (
            reverse("goal_progress", args=[cell.goal_id]) if manager else reverse("assigned_to_me")
        )
        for bar in held_bars(cell, cycle, now, leads_team=subject.leads_team):
            if bar.percent is None:  # a tracked metric, or a target of 0: no fraction
                continue
            for stage in stages:
                pies.setdefault(stage, []).append(Pie(cell.goal_id, name, bar, url))
    return pies
