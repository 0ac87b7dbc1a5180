"""The JSON API root: /api/v1/, authenticated by a tenant's API token."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django_scopes import scope
from ninja import NinjaAPI
from ninja.errors import ValidationError
from ninja.security import HttpBearer

from core.limits import MAX_RECORDS, too_large
from crm.api import routers as crm_routers
from crm.api import settings_router as crm_settings_router
from hierarchy.models import ApiToken
from hierarchy.services import api_token_authenticate


class TokenAuth(HttpBearer):
    """``Authorization: Bearer gk_...``; the token decides the tenant, nothing else does."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = api_token_authenticate(token)
        if api_token is not None:
            request.tenant = api_token.tenant
        return api_token


def in_tenant_scope(operation: Callable[..., Any]) -> Callable[..., Any]:
    """Run every operation inside its token's tenant scope, like the middleware does for pages."""

    @wraps(operation)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        with scope(tenant=request.auth.tenant):
            return operation(request, *args, **kwargs)

    return wrapper


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"description": "A message, or a list of problems."}},
    "required": ["detail"],
}


class GoalsAPI(NinjaAPI):
    """The API, whose schema also documents the answers every operation can give: 401 for a
    missing or revoked token, 404 for an id not in the token's tenant, 411 for a chunked body,
    413 for a body over the limits, 422 for invalid input, 429 over a rate limit."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        schema["components"].setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                common = {"401": "Missing, unknown or revoked API token.", "422": "Invalid input."}
                if "{" in path:
                    common["404"] = "Not found in the token's tenant."
                if method in ("post", "put", "patch"):
                    common["411"] = "A chunked body: send it with a Content-Length header."
                    common["413"] = "Over 5 MB or over 1,000 records."
                # ninja keys an operation's own answers by number: as text, like ours, so no
                # code is listed twice (a JSON object with "422" twice is no valid schema, and
                # Swagger UI would not render it). Where both say what a code answers, the
                # answer is either: the operation's own, or a middleware's message.
                responses = {
                    str(code): answer for code, answer in operation.get("responses", {}).items()
                }
                operation["responses"] = responses
                for code, text in common.items():
                    own = responses.get(code, {}).get("content", {}).get("application/json")
                    content = _ERROR_CONTENT
                    if own is not None:
                        either = {"anyOf": [own["schema"], _ERROR_CONTENT[_JSON]["schema"]]}
                        content = {_JSON: {"schema": either}}
                    responses[code] = {"description": text, "content": content}
                responses.setdefault("429", _TOO_MANY)
        return schema


_JSON = "application/json"
_ERROR_CONTENT = {_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}
_TOO_MANY = {
    "description": (
        "Over a rate limit a minute (goals_project.throttle): requests per token or per address,"
        " or failed authentications per address."
    ),
    "headers": {
        "Retry-After": {
            "description": "Seconds until the limit's minute is over.",
            "schema": {"type": "integer"},
        }
    },
    "content": _ERROR_CONTENT,
}

api = GoalsAPI(
    title="Goals API",
    version="1",
    description="Ingest CRM records and members; every request acts for the token's tenant.",
    auth=TokenAuth(),
    urls_namespace="api",
)
api.add_decorator(in_tenant_scope)


@api.exception_handler(ValidationError)
def too_many_records(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """A batch over the limit is 413 with the limit named; other validation errors stay 422."""
    for error in exc.errors:
        if error.get("type") == "too_long" and error.get("loc", ())[-1:] in (
            ("records",),
            ("external_ids",),
        ):
            given = error.get("ctx", {}).get("actual_length")
            more = f"; this one has {given:,}" if isinstance(given, int) else ""
            return too_large(request, f"A request takes at most {MAX_RECORDS:,} records{more}.")
    return api.create_response(request, {"detail": exc.errors}, status=422)


api.add_router("/members", "hierarchy.api.router", tags=["members"])
api.add_router("/rulesets", "rulesets.api.router", tags=["rulesets"])
api.add_router("/goals", "goals.api.router", tags=["goals"])
api.add_router("/goals", "achievements.api.router", tags=["achievements"])
api.add_router("/dashboards", "dashboards.api.router", tags=["dashboards"])
api.add_router("/settings/sales-roles", "goals.roles_api.router")
api.add_router("/settings", crm_settings_router)
for _prefix, _router in crm_routers.items():
    api.add_router(f"/{_prefix}", _router)
