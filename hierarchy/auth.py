from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest


def login_normalize(login: str | None) -> str:
    """The identity a login attempt is counted against: trimmed and case-folded, so that every
    spelling of one email is one identity, as it is for the (case-insensitive) lookup."""
    return (login or "").strip().casefold()


def throttle_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """django-axes' key for a login attempt (``AXES_USERNAME_CALLABLE``): the normalized login
    as typed. The form's field comes first: on a success axes passes the user's username,
    which is not the email (``hierarchy.services.login_username``)."""
    typed = request.POST.get("username") if request is not None else None
    return login_normalize(typed or (credentials or {}).get("username"))


class EmailBackend(ModelBackend):
    """Log in with the email address (case-insensitive) instead of the username."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if not username or password is None or "@" not in username:
            return None
        user_model = get_user_model()
        # One email may be a login in several tenants: the password says which (the first
        # created when two share it).
        users = user_model._default_manager.filter(email__iexact=username.strip()).order_by("pk")
        users = list(users)
        if not users:
            # Unknown: run the hasher anyway so that timing does not reveal it.
            user_model().set_password(password)
        for user in users:
            if user.check_password(password) and self.user_can_authenticate(user):
                return user
        return None


class ThrottleBackend(AxesStandaloneBackend):
    """django-axes' lockout check for logins through the web; a login without a request (a
    command, a shell) has no address to throttle and passes on to the next backend."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
