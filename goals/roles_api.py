# No `from __future__ import annotations`: django-ninja reads the schemas' annotations at runtime.
"""The role mapping through the API: sales roles, their KPIs and the activity types each KPI
counts (``/api/v1/settings/sales-roles``), with the same services, checks and audit as
Settings, Role mapping. Another tenant's role or KPI is unknown here (404)."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja.responses import Status

from hierarchy.models import SalesRole
from hierarchy.services import sales_role_save
from rulesets.models import GoalRule, Ruleset

from .models import GoalTarget
from .roles import RoleRow, kpi_activity_types_set, role_kpi_add, role_mapping

router = Router(tags=["settings"])


class KpiOut(Schema):
    id: int = Field(..., description="The KPI: a target of one of the role's goals.")
    goal: int
    goal_name: str
    ruleset: str
    rule: str = Field(..., description="The rule's key.")
    rule_name: str
    cycle: str
    target: Decimal = Field(..., description="Per cycle, held in full by every member.")
    activity_types: list[str] | None = Field(
        ...,
        description="The activity types the KPI counts (empty: every type); null for a KPI "
        "that does not count activities.",
    )


class RoleOut(Schema):
    id: int
    name: str
    description: str
    members: int = Field(..., description="Active members with the role.")
    kpis: list[KpiOut]


class RoleIn(Schema):
    name: str
    description: str = ""


class KpiIn(Schema):
    ruleset: int
    rule: str = Field(..., description="The rule's key in the ruleset.")
    target: Decimal = Field(..., description="Per cycle; a percent is 0-100.")
    cycle: str = Field(..., description="daily, weekly, biweekly, monthly, quarterly or yearly")
    start: date | None = Field(None, description="Empty: today.")
    end: date = Field(..., description="The last day, inclusive.")


class TypesIn(Schema):
    activity_types: list[str] = Field(..., description="Empty: every activity type counts.")


class Problem(Schema):
    field: str
    message: str


class ProblemsOut(Schema):
    detail: list[Problem]


def _actor(request: HttpRequest) -> str:
    return f"API token {request.auth.name!r}"


def _invalid(exc: ValidationError) -> Status:
    errors = [
        {"field": field, "message": message}
        for field, messages in exc.message_dict.items()
        for message in messages
    ]
    return Status(422, {"detail": errors})


def _out(row: RoleRow) -> dict[str, Any]:
    return {
        "id": row.role.pk,
        "name": row.role.name,
        "description": row.role.description,
        "members": row.holders,
        "kpis": [
            {
                "id": kpi.target.pk,
                "goal": kpi.goal.pk,
                "goal_name": kpi.goal.name,
                "ruleset": kpi.goal.ruleset.name,
                "rule": kpi.rule.key,
                "rule_name": kpi.rule.name,
                "cycle": kpi.goal.cycle,
                "target": kpi.target.amount,
                "activity_types": kpi.activity_types,
            }
            for kpi in row.kpis
        ],
    }


def _role_out(request: HttpRequest, role_id: int) -> dict[str, Any]:
    return next(_out(row) for row in role_mapping(request.tenant) if row.role.pk == role_id)


@router.get("", response=list[RoleOut])
def sales_roles_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Every sales role with its active members, its KPIs and the activity types they count."""
    return [_out(row) for row in role_mapping(request.tenant)]


@router.post("", response={201: RoleOut, 422: ProblemsOut})
def sales_role_create(request: HttpRequest, body: RoleIn) -> Status:
    """Add a sales role (a name unique in any case, a description)."""
    try:
        role = sales_role_save(tenant=request.tenant, actor=_actor(request), **body.dict())
    except ValidationError as exc:
        return _invalid(exc)
    return Status(201, _role_out(request, role.pk))


@router.put("/{role_id}", response={200: RoleOut, 404: None, 422: ProblemsOut})
def sales_role_update(request: HttpRequest, role_id: int, body: RoleIn) -> Status:
    """Rename or describe a sales role."""
    role = get_object_or_404(SalesRole, pk=role_id)
    try:
        sales_role_save(tenant=request.tenant, role=role, actor=_actor(request), **body.dict())
    except ValidationError as exc:
        return _invalid(exc)
    return Status(200, _role_out(request, role.pk))


@router.post("/{role_id}/kpis", response={201: RoleOut, 404: None, 422: ProblemsOut})
def role_kpi_create(request: HttpRequest, role_id: int, body: KpiIn) -> Status:
    """Make a ruleset's rule a KPI of the role with a target per cycle: a target in the role's
    live goal of that ruleset and cycle, else a new goal for the role's holders."""
    role = get_object_or_404(SalesRole.objects.select_related("tenant"), pk=role_id)
    # By the ruleset's primary key first: Django range-checks a primary key's lookup (an id
    # past the database's integers finds nothing), not a foreign key's (``ruleset_id=``).
    ruleset = Ruleset.objects.filter(pk=body.ruleset).first()
    rule = (
        GoalRule.objects.select_related("ruleset").filter(ruleset=ruleset, key=body.rule).first()
        if ruleset is not None
        else None
    )
    if rule is None:
        problem = f"No rule {body.rule!r} in a ruleset {body.ruleset} of this organization."
        return _invalid(ValidationError({"rule": problem}))
    try:
        role_kpi_add(
            role=role,
            rule=rule,
            amount=body.target,
            cycle=body.cycle,
            start=body.start,
            end=body.end,
            actor=_actor(request),
        )
    except ValidationError as exc:
        return _invalid(exc)
    return Status(201, _role_out(request, role.pk))


@router.put(
    "/{role_id}/kpis/{kpi_id}/activity-types",
    response={200: RoleOut, 404: None, 422: ProblemsOut},
)
def kpi_activity_types_update(
    request: HttpRequest, role_id: int, kpi_id: int, body: TypesIn
) -> Status:
    """Map a KPI over activities to activity types: the rule's condition ``type in [...]``,
    the same the rule builder shows; every goal of its ruleset counts them."""
    role = get_object_or_404(SalesRole, pk=role_id)
    target = get_object_or_404(
        GoalTarget.objects.select_related("rule__ruleset__tenant"),
        pk=kpi_id,
        goal__sales_role=role,
        goal__archived_at=None,
    )
    try:
        kpi_activity_types_set(rule=target.rule, types=body.activity_types, actor=_actor(request))
    except ValidationError as exc:
        return _invalid(exc)
    return Status(200, _role_out(request, role.pk))
