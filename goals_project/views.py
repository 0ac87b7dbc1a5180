from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_scopes import scopes_disabled
from redis import Redis
from redis.exceptions import RedisError

from achievements.models import GoalComputation

from .heartbeat import STALE_AFTER, ages


def home(request: HttpRequest) -> HttpResponse:
    return redirect("assigned_to_me")


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the message says which
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _broker_status() -> str:
    if not settings.REDIS_URL:
        return "embedded"
    try:
        Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except RedisError as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _background_status(broker: str) -> dict[str, str]:
    """The worker's and beat's last heartbeats: "ok (12 s ago)", "stale (...)" or "never"."""
    if broker != "ok":
        return {"worker": broker, "beat": broker}
    shown = {}
    for process, age in ages().items():
        if age is None:
            shown[process] = "never seen"
        else:
            state = "ok" if age < STALE_AFTER else "stale"
            shown[process] = f"{state} (last seen {age:.0f} s ago)"
    return shown


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker status for load balancers (200 healthy, 503 not), and for operators
    the worker's and beat's last heartbeats (reported, not part of the web's health)."""
    status = {"database": _database_status(), "broker": _broker_status()}
    healthy = not any(value.startswith("error") for value in status.values())
    body = {
        "status": "ok" if healthy else "error",
        **status,
        **_background_status(status["broker"]),
    }
    if status["database"] == "ok":
        body["goals_in_error"] = _goals_in_error()
    return JsonResponse(body, status=200 if healthy else 503)


def _goals_in_error() -> int:
    """Live goals whose last recompute could not compute a rule (``goals_status`` says which):
    reported for operators, not a reason to take the web out of a load balancer."""
    with scopes_disabled():
        return GoalComputation.objects.filter(
            failed_at__isnull=False, goal__archived_at__isnull=True
        ).count()
