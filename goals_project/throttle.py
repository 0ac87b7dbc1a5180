"""API rate limits, checked before any token is looked up: requests a minute per token and per
address, and failed authentications a minute per address (a bad, revoked or missing token).
Over a limit the API answers 429 with ``Retry-After``: the seconds left in the minute.

The counters live in Django's cache: Redis in services mode, shared by every web process; the
process's local memory in the embedded mode (one process). A cache that cannot be reached lets
requests through rather than failing them (it is logged).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

WINDOW = 60  # seconds: every limit counts requests a minute


def _address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _token_key(request: HttpRequest) -> str | None:
    """A digest of the bearer token sent, good or bad (the token itself is never stored)."""
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return hashlib.sha256(token.strip().encode()).hexdigest()[:32]


def _counter(kind: str, who: str, window: int) -> str:
    return f"goals:throttle:{kind}:{who}:{window}"


def _count(key: str) -> int:
    """Add one to ``key`` for this window; its new value."""
    cache.add(key, 0, timeout=WINDOW + 5)
    return cache.incr(key)


def too_many(message: str, now: float) -> JsonResponse:
    response = JsonResponse({"detail": message}, status=429)
    response["Retry-After"] = str(max(math.ceil(WINDOW - now % WINDOW), 1))
    return response


class ApiThrottleMiddleware:
    """429 for an /api/ request over its token's or address's limit a minute, or from an
    address that already failed to authenticate too often this minute."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        now = time.time()
        window = int(now // WINDOW)
        address, token = _address(request), _token_key(request)
        failed = _counter("failed", address, window)
        try:
            refusal = self._refusal(address, token, failed, window)
        except Exception as exc:  # noqa: BLE001  (a cache that is down must not stop the API)
            logger.warning("API throttle unavailable, request let through: %s", exc)
            return self.get_response(request)
        if refusal is not None:
            return too_many(refusal, now)
        response = self.get_response(request)
        if response.status_code == 401:
            try:
                _count(failed)
            except Exception as exc:  # noqa: BLE001
                logger.warning("API throttle unavailable, failure not counted: %s", exc)
        return response

    def _refusal(self, address: str, token: str | None, failed: str, window: int) -> str | None:
        """Why this request is refused, or None; counts it against its token and address."""
        failures = settings.API_FAILED_AUTH_LIMIT_PER_ADDRESS
        if (cache.get(failed) or 0) >= failures:
            return (
                f"Too many failed authentications from this address: at most {failures} a minute."
            )
        per_address = settings.API_RATE_LIMIT_PER_ADDRESS
        if _count(_counter("address", address, window)) > per_address:
            return f"Too many requests from this address: at most {per_address:,} a minute."
        per_token = settings.API_RATE_LIMIT_PER_TOKEN
        if token is not None and _count(_counter("token", token, window)) > per_token:
            return f"Too many requests with this token: at most {per_token:,} a minute."
        return None
