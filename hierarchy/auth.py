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
    """django-axes' key for a login attempt (``AXES_USERNAME_CALLABLE``): the normalized login."""
    if credentials is not None:
        return login_normalize(credentials.get("username"))
    return login_normalize(request.POST.get("username"))


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
        users = list(user_model._default_manager.filter(email__iexact=username.strip())[:2])
        if len(users) != 1:
            # Unknown or ambiguous: run the hasher anyway so timing does not reveal which.
            user_model().set_password(password)
            return None
        user = users[0]
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
