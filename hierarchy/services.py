"""Writes to tenants and the member tree. Every tree write goes through here."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django_scopes import scope

from .models import Member, Tenant


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _login_errors(email: str, password: str | None) -> dict[str, list[str]]:
    """Problems with a new login: a malformed or taken email, a weak password."""
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = [f"{email!r} is not a valid email address."]
    else:
        if get_user_model()._default_manager.filter(email__iexact=email).exists():
            errors["email"] = [f"{email} is already in use."]
    if password is not None:
        try:
            validate_password(password, get_user_model()(username=email, email=email))
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    return errors


def member_create(
    *,
    tenant: Tenant,
    email: str,
    name: str,
    role: str = Member.Role.REP,
    reports_to: Member | None = None,
    title: str = "",
    password: str | None = None,
) -> Member:
    """Create the Django user and the member under ``reports_to`` (None: the tenant's root).

    Emails are unique across all tenants because they are the login. Without a password the
    user cannot log in until they set one.
    """
    email = normalize_email(email)
    errors = _login_errors(email, password)
    if not name.strip():
        errors["name"] = ["A name is required."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(), scope(tenant=tenant):
        user = get_user_model()(username=email, email=email)
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
        member = Member(
            tenant=tenant,
            user=user,
            name=name.strip(),
            role=role,
            reports_to=reports_to,
            title=title.strip(),
        )
        member.full_clean(exclude=["user"])
        member.save()
    return member


def tenant_create(
    *,
    name: str,
    slug: str,
    time_zone: str,
    admin_email: str,
    admin_name: str = "",
    admin_password: str | None = None,
    week_start: int = 0,
    fiscal_year_start_month: int = 1,
    default_currency: str = "USD",
) -> Member:
    """Create a tenant and its root admin member in one transaction; return the admin.

    Every problem (taken slug, unknown time zone, bad email, weak password) is reported at
    once in one ValidationError keyed by field.
    """
    tenant = Tenant(
        name=name.strip(),
        slug=slug,
        time_zone=time_zone,
        week_start=week_start,
        fiscal_year_start_month=fiscal_year_start_month,
        default_currency=default_currency,
    )
    errors: dict[str, list[str]] = {}
    try:
        tenant.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
        if "slug" in errors and Tenant.objects.filter(slug=slug).exists():
            errors["slug"] = [f"The slug {slug!r} is already taken."]
    admin_email = normalize_email(admin_email)
    for field, messages in _login_errors(admin_email, admin_password).items():
        errors[f"admin_{field}"] = messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        tenant.save()
        return member_create(
            tenant=tenant,
            email=admin_email,
            name=admin_name or admin_email.split("@")[0],
            role=Member.Role.ADMIN,
            password=admin_password,
        )
