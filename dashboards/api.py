# No `from __future__ import annotations`: django-ninja reads the schemas' annotations at runtime.
"""Dashboards by audience through the API, read-only: the dashboards a member's audience sees
and a dashboard's metrics as that member sees them on ``/dashboards/``.

A token acts for its whole tenant, so the member is named (``?member=<email>``). Which
dashboards they see is ``dashboards_for``, what each metric shows is ``dashboard_shown``: the
page's own functions, so the API and the page cannot disagree. Another tenant's dashboard and
a dashboard of another audience answer 404, like an id that does not exist.
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.errors import ValidationError
from ninja.pagination import paginate

from core.pagination import Pages
from crm.customers import ChannelCustomers
from goals.calendar import Cycle
from hierarchy.models import Member

from .audience import Shown, Viewpoint, dashboard_shown
from .dashboard import Progress, leading_first
from .models import Dashboard, dashboards_for

router = Router()

MEMBER = "The member (email) whose dashboards these are, as they see them on /dashboards/."
CENTS = Decimal("0.01")  # money and LTV:CAC as the customers panel shows them


class DashboardSummary(Schema):
    id: int
    title: str
    audience: str = Field(..., description="everyone, managers, or role (a sales role's).")
    sales_role: str | None = Field(None, description="The sales role's name, for role.")
    metrics: int = Field(..., description="How many metrics it shows.")

    @staticmethod
    def resolve_sales_role(dashboard: Dashboard) -> str | None:
        return dashboard.sales_role.name if dashboard.sales_role_id else None

    @staticmethod
    def resolve_metrics(dashboard: Dashboard) -> int:
        return dashboard.metric_count


class CycleOut(Schema):
    label: str = Field(..., description='"March 2027", "Week of 2027-03-01", "Q1 FY2027"...')
    start: date = Field(..., description="The cycle's first local day.")
    end: date = Field(..., description="The cycle's last local day.")


class ValueOut(Schema):
    value: Decimal | None = Field(..., description="null: nothing to divide (an empty ratio).")
    target: Decimal | None = Field(None, description="A goal's target; null without one.")
    status: str | None = Field(
        None,
        description=(
            "With a running goal: achieved, ahead, on_track, behind, missed, no_target (a "
            "tracked metric) or no_data; null for a metric without a goal."
        ),
    )
    percent: int | None = Field(None, description="Of the target.")
    team: bool = Field(..., description="A team's number (their subtree), not a member's own.")
    held_as: str = Field("", description='"your team": the team of a rep\'s manager.')
    final: bool = Field(False, description="The goal's cycle is closed and its numbers frozen.")


class PointOut(Schema):
    cycle: CycleOut
    value: Decimal | None
    target: Decimal | None = Field(None, description="A cycle the goal stored, with a target.")


class BreakdownRowOut(Schema):
    label: str = Field(..., description='A value of the field, "(none)", "Other" or "All".')
    value: Decimal | None
    records: list[int] = Field(
        ..., description="Records counted: one number, or a ratio's numerator and denominator."
    )
    whole: bool = Field(..., description="The last row: every record, the metric's value.")


class BreakdownOut(Schema):
    by: str = Field(..., description="The field split by.")
    by_label: str
    ratio: bool
    sides: list[str] = Field(..., description="The rules counted: a ratio's two, else one.")
    rows: list[BreakdownRowOut]


class ChannelOut(Schema):
    channel: str = Field(..., description='An acquisition channel; "" for none.')
    spend: Decimal
    new_customers: int
    cac: Decimal | None
    customers: int = Field(..., description="Customers up to the cycle's end.")
    ltv: Decimal | None
    ltv_to_cac: Decimal | None


class CustomersOut(Schema):
    currency: str
    total: ChannelOut
    channels: list[ChannelOut] = Field(..., description="Biggest spend first.")
    excluded_currencies: list[str] = Field(..., description="Deals and spend not counted.")


class GoalRef(Schema):
    id: int
    name: str


class MetricOut(Schema):
    id: int
    kind: str = Field(..., description="rule, or customers (CAC, LTV, LTV:CAC).")
    rule: str | None = Field(None, description="The rule's key.")
    rule_name: str | None = None
    indicator: str = Field(..., description="leading or lagging.")
    unit: str | None = None
    currency: str | None = None
    cycle: CycleOut | None = None
    goal: GoalRef | None = Field(None, description="The running goal that measures it, if any.")
    values: list[ValueOut] = Field(
        [], description="The viewer's number, and a rep's team's where the dashboard shows it."
    )
    trend: list[PointOut] | None = Field(None, description="Oldest cycle first.")
    breakdown: BreakdownOut | None = None
    customers: CustomersOut | None = None
    problem: str | None = Field(None, description="Why the metric cannot be computed.")


class DashboardOut(Schema):
    id: int
    title: str
    audience: str
    sales_role: str | None
    member: str = Field(..., description="The member asked about.")
    subject: str = Field(..., description="Whose numbers: the member, or an admin's company top.")
    whole_team: bool = Field(..., description="The subject's whole team, not their own alone.")
    team_head: str | None = Field(None, description="A rep's manager, whose team's totals show.")
    metrics: list[MetricOut] = Field(..., description="Leading indicators first, as the page.")


def _viewer(email: str | None) -> Member:
    """The active member of the token's tenant named by ``email``, or 422 naming the field."""
    found = None
    if email and email.strip():
        found = (
            Member.objects.select_related("tenant", "user")
            .filter(user__email__iexact=email.strip(), is_active=True)
            .first()
        )
    if found is None:
        message = (
            f"No active member with the email {email.strip()!r} in this organization."
            if email and email.strip()
            else "Name the member whose dashboards these are: ?member=<email>."
        )
        raise ValidationError([{"type": "value_error", "loc": ["query", "member"], "msg": message}])
    return found


def _cycle(cycle: Cycle) -> dict[str, Any]:
    return {
        "label": cycle.label,
        "start": cycle.local_start,
        "end": cycle.local_end - timedelta(days=1),
    }


def _bar(bar: Progress) -> dict[str, Any]:
    return {
        "value": bar.value,
        "target": bar.target,
        "status": bar.status.value,
        "percent": bar.percent,
        "team": bar.team,
        "held_as": bar.held_as,
        "final": bar.final,
    }


def _values(shown: Shown, view: Viewpoint) -> list[dict[str, Any]]:
    """The viewer's number (a running goal's bar, or the value alone without one), then a
    rep's team's where the page shows it beside theirs: its goal's bar, or its value."""
    values = [] if shown.goal is not None else [{"value": shown.value, "team": view.whole_team}]
    values += [_bar(bar) for bar in shown.bars]
    if view.team_head is not None and not shown.bars:
        values.append({"value": shown.team_value, "team": True, "held_as": "your team"})
    return values


def _cents(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else amount.quantize(CENTS)


def _channel(bucket: ChannelCustomers) -> dict[str, Any]:
    return {
        "channel": bucket.channel,
        "spend": bucket.spend,
        "new_customers": bucket.new_customers,
        "cac": _cents(bucket.cac),
        "customers": bucket.customers,
        "ltv": _cents(bucket.ltv),
        "ltv_to_cac": _cents(bucket.ltv_to_cac),
    }


def _customers(panel: dict[str, Any]) -> dict[str, Any]:
    metrics = panel["metrics"]
    return {
        "currency": metrics.currency,
        "total": _channel(metrics.total),
        "channels": [_channel(bucket) for bucket in metrics.channels],
        "excluded_currencies": metrics.excluded_currencies,
    }


def _breakdown(breakdown: dict[str, Any]) -> dict[str, Any]:
    return {
        "by": breakdown["by"].name,
        "by_label": breakdown["by"].label,
        "ratio": breakdown["ratio"],
        "sides": breakdown["sides"],
        "rows": [
            {
                "label": row["label"],
                "value": row["number"],
                "records": row["counts"],
                "whole": row["whole"],
            }
            for row in breakdown["rows"]
        ],  # fmt: skip
    }


def _metric(shown: Shown, view: Viewpoint) -> dict[str, Any]:
    metric, rule = shown.metric, shown.rule
    out: dict[str, Any] = {
        "id": metric.pk,
        "kind": metric.kind,
        "rule": rule.key if rule else (metric.rule_key or None),
        "rule_name": rule.name if rule else None,
        "indicator": shown.indicator,
        "unit": rule.unit if rule else None,
        "currency": (rule.currency or None) if rule else None,
        "problem": shown.problem or None,
    }
    if shown.customers:
        out |= {
            "unit": "currency",
            "currency": shown.customers["currency"],
            "cycle": _cycle(shown.customers["cycle"]),
            "customers": _customers(shown.customers),
        }
        return out
    if shown.problem:
        return out
    out |= {
        "cycle": _cycle(shown.cycle) if shown.cycle else None,
        "goal": {"id": shown.goal.pk, "name": shown.goal.name} if shown.goal else None,
        "values": _values(shown, view),
    }
    if shown.trend:
        out["trend"] = [
            {"cycle": _cycle(point.cycle), "value": point.value, "target": point.target}
            for point in shown.trend["points"]
        ]
    if shown.breakdown:
        out["breakdown"] = _breakdown(shown.breakdown)
    return out


@router.get("", response=list[DashboardSummary])
@paginate(Pages, page_size=100)
def dashboards_list(
    request: HttpRequest, member: str | None = Query(None, description=MEMBER)
) -> QuerySet[Dashboard]:
    """The dashboards of the member's audience, in the order of their tabs (an admin: every
    one); ``member`` is required."""
    return (
        dashboards_for(_viewer(member))
        .select_related("sales_role")
        .annotate(metric_count=Count("metrics"))
    )


@router.get("/{dashboard_id}", response=DashboardOut)
def dashboards_get(
    request: HttpRequest, dashboard_id: int, member: str | None = Query(None, description=MEMBER)
) -> dict[str, Any]:
    """The dashboard's metrics as the member sees them on its page: the running goal's value,
    target and status, or the value alone without a goal; trend, breakdown and customers where
    the dashboard shows them. ``member`` is required; another audience's dashboard is 404."""
    # Another tenant's id answers 404 before the member is asked for, exactly as a missing id.
    if not Dashboard.objects.filter(pk=dashboard_id).exists():
        raise Http404("no such dashboard")
    viewer = _viewer(member)
    dashboard = get_object_or_404(
        dashboards_for(viewer).select_related("sales_role"), pk=dashboard_id
    )
    view = Viewpoint.of(viewer, reps_see_team=dashboard.reps_see_team)
    shown = dashboard_shown(dashboard, view, timezone.now())
    return {
        "id": dashboard.pk,
        "title": dashboard.title,
        "audience": dashboard.audience,
        "sales_role": dashboard.sales_role.name if dashboard.sales_role_id else None,
        "member": viewer.user.email,
        "subject": view.subject.user.email,
        "whole_team": view.whole_team,
        "team_head": view.team_head.user.email if view.team_head else None,
        "metrics": [_metric(each, view) for each in leading_first(shown, rule_of=lambda s: s)],
    }
