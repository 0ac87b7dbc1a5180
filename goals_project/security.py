"""Headers every response carries: a Content-Security-Policy and a Permissions-Policy.

The CSP lets scripts, styles, images, fonts and requests come from this site only: htmx is
vendored, the pages' behaviours are in static/js/app.js (no inline script or handler, and htmx
is configured with no eval and no style element of its own). Only inline ``style`` attributes
are allowed, for the widths and indents that numbers decide (``style-src-attr``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
