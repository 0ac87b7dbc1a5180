from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from .models import Member


class TenantMiddleware:
    """Resolve the tenant from the logged-in member and run the view inside its scope.

    The tenant never comes from the URL or a form. A user without an active member (platform
    staff) gets no tenant; only the Django admin serves them, with scopes disabled there.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.member = None
        request.tenant = None
        user = request.user
        if user.is_authenticated:
            with scopes_disabled():
                members = Member.objects.select_related("tenant")
                request.member = members.filter(user_id=user.pk, is_active=True).first()
            if request.member is not None:
                request.member.user = user  # the same row: no second read of it
        if request.member is not None:
            request.tenant = request.member.tenant
            # Times are stored in UTC and shown in the tenant's time zone.
            timezone.activate(ZoneInfo(request.tenant.time_zone))
            try:
                with scope(tenant=request.tenant):
                    return self.get_response(request)
            finally:
                timezone.deactivate()
        if user.is_authenticated and user.is_staff and request.path.startswith("/admin/"):
            with scopes_disabled():
                return self.get_response(request)
        # No scope at all (not scope(tenant=None), which would mean every tenant): any
        # tenant-owned query reached from here raises ScopeError instead of leaking rows.
        return self.get_response(request)
