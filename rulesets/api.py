# No `from __future__ import annotations`: django-ninja reads these annotations at run time.
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.responses import Status

from .models import Ruleset
from .services import ruleset_archive, ruleset_delete, ruleset_save
from .spec import RulesetError

router = Router()


class RulesetIn(Schema):
    name: str
    description: str = ""
    rules: list[dict[str, Any]]


class RulesetOut(Schema):
    id: int
    name: str
    description: str
    is_archived: bool
    rules: list[dict[str, Any]]


def _out(ruleset: Ruleset) -> dict[str, Any]:
    """Serialized here, inside the tenant scope: the response is rendered after it ends."""
    return {
        "id": ruleset.pk,
        "name": ruleset.name,
        "description": ruleset.description,
        "is_archived": ruleset.is_archived,
        "rules": [rule.definition() for rule in ruleset.rules.all()],
    }


class RuleError(Schema):
    rule: str
    field: str
    message: str


class RuleErrorsOut(Schema):
    detail: list[RuleError]


def _errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"rule": "", "field": field, "message": message}
        for field, messages in exc.message_dict.items()
        for message in messages
    ]


def _save(request: HttpRequest, body: RulesetIn, ruleset: Ruleset | None) -> Status:
    try:
        saved = ruleset_save(
            tenant=request.tenant,
            ruleset=ruleset,
            actor=f"API token {request.auth.name!r}",
            **body.dict(),
        )
    except RulesetError as exc:
        errors = [{"rule": p.key, "field": p.field, "message": p.message} for p in exc.problems]
        return Status(422, {"detail": errors})
    except ValidationError as exc:
        return Status(422, {"detail": _errors(exc)})
    return Status(200 if ruleset else 201, _out(saved))


@router.get("", response=list[RulesetOut])
def rulesets_list(request: HttpRequest) -> Any:
    """The tenant's rulesets with their rules."""
    return [_out(ruleset) for ruleset in Ruleset.objects.prefetch_related("rules")]


@router.post("", response={201: RulesetOut, 422: RuleErrorsOut})
def rulesets_create(request: HttpRequest, body: RulesetIn) -> Status:
    """Create a ruleset; every problem of every rule answers 422, named by rule key and field."""
    return _save(request, body, None)


@router.get("/{ruleset_id}", response=RulesetOut)
def rulesets_get(request: HttpRequest, ruleset_id: int) -> dict[str, Any]:
    return _out(get_object_or_404(Ruleset.objects.prefetch_related("rules"), pk=ruleset_id))


@router.put("/{ruleset_id}", response={200: RulesetOut, 422: RuleErrorsOut})
def rulesets_update(request: HttpRequest, ruleset_id: int, body: RulesetIn) -> Status:
    """Replace the name, description and rules; rules are matched by key."""
    return _save(request, body, get_object_or_404(Ruleset.objects, pk=ruleset_id))


@router.delete("/{ruleset_id}", response={204: None, 409: RuleErrorsOut})
def rulesets_delete(request: HttpRequest, ruleset_id: int) -> Status:
    """Delete a ruleset; 409 while goals use it."""
    ruleset = get_object_or_404(Ruleset.objects, pk=ruleset_id)
    try:
        ruleset_delete(ruleset=ruleset, actor=f"API token {request.auth.name!r}")
    except ValidationError as exc:
        return Status(409, {"detail": _errors(exc)})
    return Status(204, None)


@router.post("/{ruleset_id}/archive", response=RulesetOut)
def rulesets_archive(request: HttpRequest, ruleset_id: int, archived: bool = True) -> Any:
    """Archive a ruleset (``archived=false`` restores it): goals keep using it, new goals cannot
    pick it. The way to retire a ruleset that goals use."""
    ruleset = get_object_or_404(Ruleset.objects, pk=ruleset_id)
    actor = f"API token {request.auth.name!r}"
    return _out(ruleset_archive(ruleset=ruleset, archived=archived, actor=actor))
