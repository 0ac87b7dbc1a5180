"""Dashboards by audience: the member's dashboards (tabs of their audience's), and the admins'
page to compose them. Views are thin: ``audience`` computes, ``services`` writes."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from core.numbers import whole_number
from goals.calendar import CycleKind
from hierarchy.decorators import member_required
from hierarchy.models import Member, SalesRole, Tenant
from rulesets.catalogue import FieldSpec
from rulesets.models import GoalRule, Ruleset
from rulesets.services import tenant_vocabulary

from .audience import Viewpoint, dashboard_shown
from .breakdowns import rule_split_fields
from .dashboard import by_indicator
from .models import Dashboard, DashboardMetric, dashboards_for
from .records import RulesetRead, ruleset_read
from .services import (
    dashboard_delete,
    dashboard_metric_delete,
    dashboard_metric_move,
    dashboard_metric_save,
    dashboard_save,
)


@member_required()
def dashboard_first(request: HttpRequest) -> HttpResponse:
    """The first dashboard of the member's audience, or a page that says there is none."""
    first = dashboards_for(request.member).first()
    if first is not None:
        return redirect("audience_dashboard", pk=first.pk)
    return render(request, "dashboards/audience.html", {"tabs": [], "dashboard": None})


@member_required()
def audience_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    """A dashboard of the member's audience (another audience's, or another tenant's: 404)."""
    tabs = list(dashboards_for(request.member))
    dashboard = next((each for each in tabs if each.pk == pk), None)
    if dashboard is None:
        raise Http404("no such dashboard")
    view = Viewpoint.of(request.member, reps_see_team=dashboard.reps_see_team)
    context = {
        "tabs": tabs,
        "dashboard": dashboard,
        "view": view,
        # leading indicators first, each kind under its heading
        "groups": by_indicator(
            dashboard_shown(dashboard, view, timezone.now()), rule_of=lambda shown: shown
        ),
    }
    return render(request, "dashboards/audience.html", context)


def _errors(exc: ValidationError) -> dict[str, str]:
    return {field: " ".join(messages) for field, messages in exc.message_dict.items()}


def _role(request: HttpRequest) -> SalesRole | None:
    wanted = request.POST.get("sales_role", "")
    pk = whole_number(wanted)
    return SalesRole.objects.filter(pk=pk).first() if pk is not None else None


@member_required(Member.Role.ADMIN)
def dashboard_manage(request: HttpRequest) -> HttpResponse:
    """Every dashboard of the tenant, and a form to create one."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            dashboard = dashboard_save(
                tenant=request.tenant, title=request.POST.get("title", ""),
                audience=request.POST.get("audience", ""), sales_role=_role(request),
                reps_see_team=request.POST.get("reps_see_team") == "on",
                actor=request.member,
            )  # fmt: skip
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            return redirect("dashboard_edit", pk=dashboard.pk)
    context = {
        "dashboards": Dashboard.objects.select_related("sales_role"),
        "roles": SalesRole.objects.all(),
        "audiences": Dashboard.Audience.choices,
        "errors": errors,
        "form": request.POST,
    }
    return render(request, "dashboards/dashboard_manage.html", context)


def _ruleset_rule(value: str) -> tuple[Ruleset | None, str]:
    ruleset, _sep, key = value.partition(":")
    pk = whole_number(ruleset)
    if pk is None:
        return None, ""
    return Ruleset.objects.filter(pk=pk).first(), key


def _split_labels(
    tenant: Tenant, metrics: list[DashboardMetric], rules: dict[tuple[int, str], GoalRule]
) -> list[str]:
    """The label of the field each metric is split by ("" for none), each ruleset and the
    tenant's vocabulary read once however many metrics there are."""
    vocabulary = tenant_vocabulary(tenant)
    read: dict[int, RulesetRead] = {}
    labels = []
    for metric in metrics:
        rule = rules.get((metric.ruleset_id, metric.rule_key))
        if not metric.breakdown or rule is None:
            labels.append(metric.breakdown)
            continue
        if rule.ruleset_id not in read:
            read[rule.ruleset_id] = ruleset_read(tenant, rule.ruleset_id, vocabulary)
        fields = rule_split_fields(tenant, rule, read[rule.ruleset_id]) or []
        labels.append(next((f.label for f in fields if f.name == metric.breakdown), ""))
    return labels


def _split_fields(tenant: Tenant, value: str) -> list[FieldSpec]:
    """The fields the rule ``<ruleset id>:<key>`` can be split by (none for no such rule, or
    one that cannot be computed)."""
    ruleset, key = _ruleset_rule(value)
    rule = GoalRule.objects.filter(ruleset=ruleset, key=key).first() if ruleset else None
    return (rule_split_fields(tenant, rule) if rule else None) or []


@member_required(Member.Role.ADMIN)
def dashboard_split_fields(request: HttpRequest) -> HttpResponse:
    """The "Split by" choice for the rule ``?rule=`` (what the add form swaps in when the
    admin picks a rule)."""
    context = {"split_fields": _split_fields(request.tenant, request.GET.get("rule", "")),
               "form": {}}  # fmt: skip
    return render(request, "dashboards/dashboard_edit.html#split_by", context)


def _trend(value: str) -> int:
    found = whole_number(value)
    return -1 if found is None or found > 999 else found


@member_required(Member.Role.ADMIN)
def dashboard_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A dashboard's title, audience and metrics: add one, move one up or down, remove one."""
    dashboard = get_object_or_404(Dashboard.objects.select_related("tenant"), pk=pk)
    errors: dict[str, str] = {}
    action = request.POST.get("action", "")
    if request.method == "POST":
        try:
            if action == "edit":
                dashboard_save(
                    tenant=request.tenant, title=request.POST.get("title", ""),
                    audience=request.POST.get("audience", ""), sales_role=_role(request),
                reps_see_team=request.POST.get("reps_see_team") == "on",
                    dashboard=dashboard, actor=request.member,
                )  # fmt: skip
            elif action == "add":
                ruleset, key = _ruleset_rule(request.POST.get("rule", ""))
                dashboard_metric_save(
                    dashboard=dashboard, kind=request.POST.get("kind", ""), ruleset=ruleset,
                    rule_key=key, breakdown=request.POST.get("breakdown", "").strip(),
                    trend=_trend(request.POST.get("trend", "0") or "0"),
                    cycle=request.POST.get("cycle", ""), actor=request.member,
                )  # fmt: skip
            elif action in {"up", "down", "remove"}:
                metric = get_object_or_404(dashboard.metrics.all(), pk=request.POST.get("metric"))
                if action == "remove":
                    dashboard_metric_delete(metric=metric, actor=request.member)
                else:
                    dashboard_metric_move(metric=metric, up=action == "up", actor=request.member)
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            return redirect("dashboard_edit", pk=dashboard.pk)
    rules = GoalRule.objects.select_related("ruleset").order_by("ruleset__name", "position", "pk")
    by_key = {(rule.ruleset_id, rule.key): rule for rule in rules}
    labels = {key: f"{rule.name} ({rule.ruleset.name})" for key, rule in by_key.items()}
    metrics = list(dashboard.metrics.all())
    splits = _split_labels(request.tenant, metrics, by_key)
    context: dict[str, Any] = {
        "dashboard": dashboard,
        "metrics": [
            (
                metric,
                labels.get((metric.ruleset_id, metric.rule_key), metric.get_kind_display()),
                split,
            )
            for metric, split in zip(metrics, splits, strict=True)
        ],  # fmt: skip
        "split_fields": _split_fields(request.tenant, request.POST.get("rule", "")),
        "rules": [(f"{ruleset}:{key}", label) for (ruleset, key), label in labels.items()],
        "roles": SalesRole.objects.all(),
        "audiences": Dashboard.Audience.choices,
        "kinds": DashboardMetric.Kind.choices,
        "cycles": [(k.value, k.value.capitalize()) for k in CycleKind],
        "errors": errors,
        "action": action,
        "form": request.POST,
    }
    return render(request, "dashboards/dashboard_edit.html", context)


@member_required(Member.Role.ADMIN)
def dashboard_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a dashboard (POST; another tenant's answers 404 to any method)."""
    dashboard = get_object_or_404(Dashboard, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    dashboard_delete(dashboard=dashboard, actor=request.member)
    return redirect("dashboard_manage")
