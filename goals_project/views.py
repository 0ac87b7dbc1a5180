from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_scopes import scopes_disabled
from redis import Redis
from redis.exceptions import RedisError

from achievements.models import GoalComputation
from hierarchy.models import MANAGING_ROLES, Member

from .heartbeat import ages


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role lands on its numbers: admins on the company, managers on their team, reps
    (and anyone without a member) on what is assigned to them."""
    role = request.member.role if request.member is not None else None
    if role == Member.Role.ADMIN:
        return redirect("company_overview")
    if role in MANAGING_ROLES:
        return redirect("my_team")
    return redirect("assigned_to_me")


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links to: send them to the SVG."""
    return redirect(static("favicon.svg"), permanent=True)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page with the navigation; when even that fails (the layout, the member),
    Django's own handler renders the same template with no context at all."""
    try:
        return render(request, "500.html", status=500)
    except Exception:  # whatever broke the page must not break its error page
        return defaults.server_error(request)


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
    timeout = settings.BROKER_TIMEOUT
    try:
        Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout
        ).ping()
    except RedisError as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _background_status(broker: str) -> tuple[dict[str, str], list[str]]:
    """The worker's and beat's last heartbeats ("ok (last seen 12 s ago)", "stale (...)" or
    "never seen"), and why they make the services unhealthy: no heartbeat within the window."""
    if broker != "ok":
        return {"worker": broker, "beat": broker}, []
    windows = {"worker": settings.HEALTHZ_WORKER_WINDOW, "beat": settings.HEALTHZ_BEAT_WINDOW}
    shown, problems = {}, []
    for process, age in ages().items():
        window = windows[process]
        if age is None:
            shown[process] = "never seen"
        else:
            state = "ok" if age < window else "stale"
            shown[process] = f"{state} (last seen {age:.0f} s ago)"
        if age is None or age >= window:
            action = "ran" if process == "worker" else "sent"
            problems.append(f"no {process} {action} a heartbeat within {window} s")
    return shown, problems


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and operators: 200 when healthy, 503 when the database or broker is
    down or, in services mode, no worker ran (or beat sent) a heartbeat within its window;
    ``problems`` says why."""
    status = {"database": _database_status(), "broker": _broker_status()}
    background, problems = _background_status(status["broker"])
    problems = [
        f"{service} {value}" for service, value in status.items() if value.startswith("error")
    ] + problems
    body = {"status": "error" if problems else "ok", **status, **background}
    if status["database"] == "ok":
        body["goals_in_error"] = _goals_in_error()
    if problems:
        body["problems"] = problems
    return JsonResponse(body, status=503 if problems else 200)


def _goals_in_error() -> int:
    """Live goals whose last recompute could not compute a rule (``goals_status`` says which):
    reported for operators, not a reason to take the web out of a load balancer."""
    with scopes_disabled():
        return GoalComputation.objects.filter(
            failed_at__isnull=False, goal__archived_at__isnull=True
        ).count()
