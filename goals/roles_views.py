"""Settings, Role mapping: sales roles x KPIs x activity types as one table, for admins."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from hierarchy.decorators import member_required
from hierarchy.models import Member, SalesRole
from hierarchy.services import sales_role_save

from .models import GoalTarget, tenant_today
from .roles import kpi_activity_types_set, role_kpi_add, role_mapping
from .roles_forms import (
    ActivityTypesForm,
    KpiForm,
    SalesRoleForm,
    activity_type_names,
    kpi_rules,
)


def _page(
    request: HttpRequest,
    *,
    role_form: SalesRoleForm | None = None,
    kpi_form: tuple[int, KpiForm] | None = None,
    types_form: tuple[str, ActivityTypesForm] | None = None,
) -> HttpResponse:
    """The table, with the form that was posted (and its errors) where it was."""
    today = tenant_today(request.tenant)
    rows = role_mapping(request.tenant)
    rules, names = kpi_rules(), activity_type_names()
    for row in rows:
        row.kpi_form = (
            kpi_form[1] if kpi_form and kpi_form[0] == row.role.pk else None
        ) or KpiForm(today=today, rules=rules, prefix=f"kpi-{row.role.pk}")
        for kpi in row.kpis:
            if kpi.activity_types is None:
                continue
            posted = types_form[1] if types_form and types_form[0] == kpi.key else None
            kpi.form = posted or ActivityTypesForm(
                names=names,
                initial={"activity_types": kpi.activity_types},
                prefix=f"types-{kpi.key}",
            )
    context: dict[str, Any] = {
        "rows": rows,
        "role_form": role_form or SalesRoleForm(prefix="role"),
        "failed": bool(role_form or kpi_form or types_form),
    }
    return render(request, "goals/role_mapping.html", context)


@member_required(Member.Role.ADMIN)
def role_mapping_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@member_required(Member.Role.ADMIN)
@require_POST
def sales_role_add(request: HttpRequest) -> HttpResponse:
    form = SalesRoleForm(request.POST, prefix="role")
    if form.is_valid():
        try:
            role = sales_role_save(tenant=request.tenant, actor=request.member, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Added the sales role {role.name}.")
            return redirect("role_mapping")
    return _page(request, role_form=form)


@member_required(Member.Role.ADMIN)
def role_kpi_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    role = get_object_or_404(SalesRole.objects.select_related("tenant"), pk=pk)
    if request.method != "POST":  # after the lookup: another tenant's role is not found
        return HttpResponseNotAllowed(["POST"])
    today = tenant_today(request.tenant)
    form = KpiForm(request.POST, today=today, prefix=f"kpi-{pk}")
    if form.is_valid():
        try:
            goal = role_kpi_add(role=role, actor=request.member, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            rule = form.cleaned_data["rule"]
            messages.success(request, f"{rule.name} is a KPI of {role.name} ({goal.name}).")
            return redirect("role_mapping")
    return _page(request, kpi_form=(pk, form))


@member_required(Member.Role.ADMIN)
def kpi_activity_types_view(request: HttpRequest, pk: int) -> HttpResponse:
    """``pk``: the KPI, a target of a live goal of a sales role."""
    kpis = GoalTarget.objects.filter(goal__sales_role__isnull=False, goal__archived_at=None)
    target = get_object_or_404(
        kpis.select_related("rule__ruleset__tenant", "goal__sales_role"), pk=pk
    )
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    role = target.goal.sales_role
    key = str(target.pk)
    form = ActivityTypesForm(request.POST, prefix=f"types-{key}")
    if form.is_valid():
        try:
            kpi_activity_types_set(
                rule=target.rule, types=form.cleaned_data["activity_types"], actor=request.member
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            types = ", ".join(form.cleaned_data["activity_types"]) or "every activity type"
            messages.success(request, f"{target.rule.name} of {role.name} counts {types}.")
            return redirect("role_mapping")
    return _page(request, types_form=(key, form))
