from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

View = Callable[..., HttpResponse]


def member_required(*roles: str) -> Callable[[View], View]:
    """Only members of a tenant get through; with ``roles``, only members with one of them.

    Logged-out visitors go to the login page; platform staff without a member go to the
    Django admin; any other user without a member is told so.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.member is None:
                if request.user.is_staff:
                    return redirect("admin:index")
                return render(request, "hierarchy/no_membership.html", status=403)
            if roles and request.member.role not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
