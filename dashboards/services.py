"""Writes of dashboards by audience: create and edit a dashboard, add, edit, move and remove
its metrics; each checked (ValidationError names the field) and audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django_scopes import scope

from core.lengths import too_long
from goals.calendar import CycleKind
from hierarchy.audit import audit_change
from hierarchy.models import Member, SalesRole, Tenant
from rulesets.models import GoalRule, Ruleset

from .breakdowns import rule_split_fields
from .models import Dashboard, DashboardMetric
from .trends import MOST

Actor = Member | str | None


def _snapshot(dashboard: Dashboard) -> dict[str, Any]:
    return {
        "title": dashboard.title,
        "audience": dashboard.audience,
        "sales_role": dashboard.sales_role.name if dashboard.sales_role else None,
        "position": dashboard.position,
        "reps_see_team": dashboard.reps_see_team,
    }


def dashboard_save(
    *,
    tenant: Tenant,
    title: str,
    audience: str,
    sales_role: SalesRole | None = None,
    reps_see_team: bool = False,
    dashboard: Dashboard | None = None,
    actor: Actor = None,
) -> Dashboard:
    """Create a dashboard (last in order) or retitle it and change its audience (and whether
    its reps see their team's totals); audited."""
    title = title.strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "A dashboard needs a title."
    elif problem := too_long(Dashboard, "title", title):
        errors["title"] = f"The title {problem}."
    if audience not in Dashboard.Audience.values:
        errors["audience"] = "Choose who sees the dashboard: everyone, the managers or a role."
    elif audience == Dashboard.Audience.ROLE and sales_role is None:
        errors["sales_role"] = "Choose the sales role that sees the dashboard."
    if sales_role is not None and sales_role.tenant_id != tenant.pk:
        errors["sales_role"] = "Choose a sales role of your company."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(), scope(tenant=tenant):
        before = _snapshot(dashboard) if dashboard else None
        if dashboard is None:
            last = Dashboard.objects.order_by("-position").first()
            dashboard = Dashboard(tenant=tenant, position=last.position + 1 if last else 0)
        dashboard.title, dashboard.audience = title, audience
        dashboard.reps_see_team = reps_see_team
        dashboard.sales_role = sales_role if audience == Dashboard.Audience.ROLE else None
        dashboard.save()
        audit_change(
            tenant=tenant,
            actor=actor,
            action="dashboard.create" if before is None else "dashboard.edit",
            target=dashboard,
            before=before,
            after=_snapshot(dashboard),
        )
    return dashboard


def _metric_snapshot(metric: DashboardMetric) -> dict[str, Any]:
    return {
        "kind": metric.kind,
        "ruleset": metric.ruleset.name if metric.ruleset else None,
        "rule": metric.rule_key,
        "breakdown": metric.breakdown,
        "trend": metric.trend,
        "cycle": metric.cycle,
        "position": metric.position,
    }


def dashboard_metric_save(
    *,
    dashboard: Dashboard,
    kind: str = DashboardMetric.Kind.RULE,
    ruleset: Ruleset | None = None,
    rule_key: str = "",
    breakdown: str = "",
    trend: int = 0,
    cycle: str = CycleKind.MONTHLY,
    metric: DashboardMetric | None = None,
    actor: Actor = None,
) -> DashboardMetric:
    """Add a metric to the dashboard (last) or change one: a rule of a ruleset, with an optional
    field to split it by and number of cycles of trend, or the customers block; audited."""
    tenant = dashboard.tenant
    errors: dict[str, str] = {}
    if kind not in DashboardMetric.Kind.values:
        errors["kind"] = "Choose a rule or the customers block."
    if cycle not in {k.value for k in CycleKind}:
        errors["cycle"] = "Choose a cycle: daily, weekly, biweekly, monthly, quarterly or yearly."
    if not 0 <= trend <= MOST:
        errors["trend"] = f"A trend shows from 0 (none) to {MOST} cycles."
    with transaction.atomic(), scope(tenant=tenant):
        if kind == DashboardMetric.Kind.RULE:
            rule = None
            if ruleset is None or ruleset.tenant_id != tenant.pk:
                errors["ruleset"] = "Choose a ruleset."
            else:
                rule = GoalRule.objects.filter(ruleset=ruleset, key=rule_key).first()
                if rule is None:
                    errors["rule_key"] = f"The ruleset {ruleset.name} has no such rule."
            if rule is not None and breakdown:
                fields = rule_split_fields(tenant, rule)
                if fields is None:
                    errors["rule_key"] = (
                        "This rule cannot be computed: its ruleset's page says why."
                    )
                elif breakdown not in {field.name for field in fields}:
                    errors["breakdown"] = f"{rule.name} cannot be split by that field."
        else:
            ruleset, rule_key, breakdown = None, "", ""
        if errors:
            raise ValidationError(errors)
        before = _metric_snapshot(metric) if metric else None
        if metric is None:
            last = dashboard.metrics.order_by("-position").first()
            metric = DashboardMetric(
                tenant=tenant, dashboard=dashboard, position=last.position + 1 if last else 0
            )
        metric.kind, metric.ruleset, metric.rule_key = kind, ruleset, rule_key
        metric.breakdown, metric.trend, metric.cycle = breakdown, trend, cycle
        metric.save()
        audit_change(
            tenant=tenant,
            actor=actor,
            action="dashboard.metric_add" if before is None else "dashboard.metric_edit",
            target=dashboard,
            before=before,
            after=_metric_snapshot(metric),
        )
    return metric


def dashboard_metric_move(*, metric: DashboardMetric, up: bool, actor: Actor = None) -> None:
    """Swap the metric with the one before it (``up``) or after it; audited."""
    dashboard = metric.dashboard
    with transaction.atomic(), scope(tenant=dashboard.tenant):
        ordered = list(dashboard.metrics.select_for_update())
        place = next(i for i, m in enumerate(ordered) if m.pk == metric.pk)
        other = place - 1 if up else place + 1
        if not 0 <= other < len(ordered):
            return
        before = [m.pk for m in ordered]
        ordered[place], ordered[other] = ordered[other], ordered[place]
        for position, each in enumerate(ordered):
            if each.position != position:
                each.position = position
                each.save(update_fields=["position"])
        audit_change(
            tenant=dashboard.tenant, actor=actor, action="dashboard.metric_move",
            target=dashboard, before={"order": before}, after={"order": [m.pk for m in ordered]},
        )  # fmt: skip


def dashboard_metric_delete(*, metric: DashboardMetric, actor: Actor = None) -> None:
    dashboard = metric.dashboard
    with transaction.atomic(), scope(tenant=dashboard.tenant):
        before = _metric_snapshot(metric)
        metric.delete()
        audit_change(
            tenant=dashboard.tenant, actor=actor, action="dashboard.metric_remove",
            target=dashboard, before=before, after=None,
        )  # fmt: skip


def dashboard_delete(*, dashboard: Dashboard, actor: Actor = None) -> None:
    with transaction.atomic(), scope(tenant=dashboard.tenant):
        before = _snapshot(dashboard)
        audit_change(
            tenant=dashboard.tenant, actor=actor, action="dashboard.delete", target=dashboard,
            before=before, after=None,
        )  # fmt: skip
        dashboard.delete()
