"""Writes to tenants and the member tree. Every tree write goes through here.

Tree writes of one tenant are serialized by a row lock on the tenant, and each re-reads the
members it moves after taking it: mptt's lft/rght on an instance go stale with every move.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_scopes import scope, scopes_disabled

from core.lengths import too_long

from .audit import audit_change, audit_record, member_snapshot
from .history import LINES_BEGIN
from .models import ApiToken, Member, ReportingLine, SalesRole, Tenant
from .signals import (
    calendar_change_asked,
    members_changed_on_commit,
    sales_roles_changed,
    sales_roles_changing,
)

T = TypeVar("T")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def login_username(tenant_id: int, email: str) -> str:
    """The Django username of a tenant's login for this (normalized) email.

    An email is one login per tenant: the same address in two tenants is two separate
    accounts, so that no tenant can learn another's members. The username is the tenant and a
    digest of the email, unique in the database (one login per email within a tenant) and short
    enough for its 150 characters whatever the email's length.
    """
    return f"t{tenant_id}-{hashlib.sha256(email.encode()).hexdigest()}"


def email_format_problem(email: str) -> str | None:
    """Why an email cannot be stored as a login (malformed, or longer than its column), or None."""
    if problem := too_long(get_user_model(), "email", email):
        return problem
    try:
        validate_email(email)
    except ValidationError:
        return "is not a valid email address"
    return None


def email_problem(email: str, *, tenant: Tenant | int) -> str | None:
    """Why an email cannot be a new login in the tenant (malformed, or already one of its
    members), or None. Other tenants' members are never looked at."""
    if problem := email_format_problem(email):
        return f"{email!r} {problem}."
    with scope(tenant=tenant):
        if Member.objects.filter(user__email__iexact=email).exists():
            return f"{email} is already a member of this organization."
    return None


def _password_errors(email: str, password: str | None) -> dict[str, list[str]]:
    """A new login's password is refused when weak (None: no password yet, an invitation)."""
    if password is None:
        return {}
    try:
        validate_password(password, get_user_model()(username=email, email=email))
    except ValidationError as exc:
        return {"password": list(exc.messages)}
    return {}


def _login_errors(email: str, password: str | None, tenant: Tenant | int) -> dict[str, list[str]]:
    """Problems with a new login: a malformed or taken email, a weak password."""
    errors = _password_errors(email, password)
    if problem := email_problem(email, tenant=tenant):
        errors["email"] = [problem]
    return errors


def _profile_errors(name: str, role: str, title: str = "") -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["A name is required."]
    for field, value in (("name", name), ("title", title)):
        if problem := too_long(Member, field, value.strip()):
            errors[field] = [f"The {field} {problem}."]
    if role not in Member.Role.values:
        errors["role"] = [f"{role!r} is not a role: use admin, manager or rep."]
    return errors


def last_admin_problem(member: Member) -> str:
    """Why the member cannot stop being an admin: a tenant always keeps an active admin."""
    return (
        f"{member.name} ({member.email}) is the organization's last active admin: make another "
        "member an admin first"
    )


def _check_keeps_an_admin(member: Member, field: str) -> None:
    """Refuse to demote or deactivate the tenant's last active admin (call under the lock)."""
    if not (member.is_admin and member.is_active):
        return
    admins = Member.objects.filter(tenant_id=member.tenant_id, role=Member.Role.ADMIN)
    if not admins.filter(is_active=True).exclude(pk=member.pk).exists():
        raise ValidationError({field: last_admin_problem(member) + "."})


def _lock_tree(tenant_id: int) -> None:
    """Serialize tree writes within a tenant (mptt updates span several statements)."""
    Tenant.objects.select_for_update().filter(pk=tenant_id).exists()


def _fresh(member: Member) -> Member:
    return Member._tree_manager.select_related("user", "reports_to__user", "sales_role").get(
        pk=member.pk
    )


def _fresh_manager(manager: Member, tenant_id: int, field: str = "reports_to") -> Member:
    """The manager re-read, refused first when of another tenant (whose rows row-level
    security would not even show)."""
    if manager.tenant_id != tenant_id:
        raise ValidationError({field: "The manager must belong to the same organization."})
    return _fresh(manager)


Actor = Member | str | None


def _check_sales_role(role: SalesRole | None, tenant_id: int) -> None:
    if role is not None and role.tenant_id != tenant_id:
        raise ValidationError(
            {"sales_role": "The sales role must belong to the same organization."}
        )


def sales_roles_change(
    *,
    tenant_id: int,
    changes: Mapping[Any, tuple[int | None, int | None]],
    write: Callable[[], T],
    at_once: bool = False,
    actor: Actor = None,
) -> T:
    """Change members' sales roles (``changes``: member -> (old role id, new role id)) by
    calling ``write()`` (its result is returned), with the goals above told before and after:
    a member given a role holds its KPIs from the next cycle, and one who leaves a role keeps
    the running cycle's targets, unless ``at_once`` (an admin's choice), when the running
    cycle's targets of the roles' KPIs are derived again from who holds each role now. Call
    inside the write's transaction."""
    roles = {role for pair in changes.values() for role in pair if role is not None}
    if roles:
        sales_roles_changing.send(sender=Member, tenant_id=tenant_id, role_ids=roles)
    written = write()
    if roles:
        sales_roles_changed.send(
            sender=Member, tenant_id=tenant_id, role_ids=roles, at_once=at_once, actor=actor
        )
    return written


def _role_id(role: SalesRole | None) -> int | None:
    return role.pk if role is not None else None


def sales_role_save(
    *,
    tenant: Tenant,
    name: str,
    description: str = "",
    role: SalesRole | None = None,
    actor: Actor = None,
) -> SalesRole:
    """Create a sales role, or rename and describe one; audited. A name is unique in the
    tenant in any case; ValidationError names the field."""
    name, description = name.strip(), description.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "A sales role needs a name."
    for field, value in (("name", name), ("description", description)):
        if problem := too_long(SalesRole, field, value):
            errors[field] = f"The {field} {problem}."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(), scope(tenant=tenant):
        taken = SalesRole.objects.filter(name__iexact=name)
        if role is not None:
            taken = taken.exclude(pk=role.pk)
        if taken.exists():
            raise ValidationError({"name": f"There is already a sales role called {name!r}."})
        before = {"name": role.name, "description": role.description} if role else None
        if role is None:
            role = SalesRole(tenant=tenant)
        role.name, role.description = name, description
        role.save()
        audit_change(
            tenant=tenant,
            actor=actor,
            action="sales_role.create" if before is None else "sales_role.edit",
            target=role,
            before=before,
            after={"name": role.name, "description": role.description},
        )
    return role


def _check_manager(member: Member | None, manager: Member, field: str = "reports_to") -> None:
    """``manager`` may take ``member`` (None: a new member) as a direct report."""
    if member is not None and manager.tenant_id != member.tenant_id:
        raise ValidationError({field: "The manager must belong to the same organization."})
    if not manager.is_active:
        raise ValidationError({field: f"{manager.name} is inactive and cannot have reports."})
    if member is not None and member.contains(manager):
        who = "themselves" if manager.pk == member.pk else f"{manager.name}, who is in their team"
        raise ValidationError({field: f"{member.name} cannot report to {who}."})


def _audit_change(member: Member, actor: Actor, action: str, before: dict) -> None:
    audit_record(
        tenant=member.tenant,
        actor=actor,
        action=action,
        target=member,
        before=before,
        after=member_snapshot(member),
    )
    members_changed_on_commit(member.tenant_id)


def lines_write(
    *,
    tenant_id: int,
    added: Mapping[int, int | None] = {},  # noqa: B006  (read only)
    moved: Mapping[int, int | None] = {},  # noqa: B006
    at: datetime | None = None,
) -> None:
    """Keep the reporting lines in step with a write of the tree (call it in the write's
    transaction): ``added`` members (id -> manager id) get their first line, from
    ``LINES_BEGIN``; ``moved`` members' open lines close ``at`` (now by default) and their
    new ones open then. A line that would close the moment it opened is replaced instead."""
    at = at or timezone.now()
    if moved:
        still_open = ReportingLine.objects.filter(member_id__in=list(moved), valid_to=None)
        still_open.filter(valid_from__gte=at).delete()
        still_open.update(valid_to=at)
    ReportingLine.objects.bulk_create(
        [
            ReportingLine(tenant_id=tenant_id, member_id=member, reports_to_id=manager,
                          valid_from=since)
            for lines, since in ((added, LINES_BEGIN), (moved, at))
            for member, manager in lines.items()
        ],
        batch_size=1000,
    )  # fmt: skip


def password_set_path(user: object) -> str:
    """A one-time path to set a password, on Django's password-reset machinery."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("password_reset_confirm", args=[uid, token])


# Backends that keep mail on this machine: a message sent through them reaches nobody.
_UNDELIVERED = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


def mail_configured() -> bool:
    """Whether mail reaches people (EMAIL_HOST names an SMTP server, or another real backend
    is set); when it does not, pages show what a message would have carried."""
    return settings.EMAIL_BACKEND not in _UNDELIVERED


def member_invite_send(*, member: Member, base_url: str) -> str:
    """Email the member a link to set their password and return the link, which the admin
    is shown only when no mail is configured (``mail_configured``)."""
    link = base_url.rstrip("/") + password_set_path(member.user)
    send_mail(
        subject=f"You have been added to {member.tenant.name} on Goals",
        message=(
            f"Hello {member.name},\n\n{member.tenant.name} added you to Goals. "
            f"Set your password here to log in:\n\n{link}\n\nYour login is {member.email}.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[member.email],
    )
    return link


def member_create(
    *,
    tenant: Tenant,
    email: str,
    name: str,
    role: str = Member.Role.REP,
    reports_to: Member | None = None,
    title: str = "",
    sales_role: SalesRole | None = None,
    sales_role_at_once: bool = False,
    password: str | None = None,
    actor: Actor = None,
) -> Member:
    """Create the Django user and the member under ``reports_to`` (None: the tenant's root).

    An email is unique within a tenant; in another tenant the same address is another login
    (``login_username``). Without a password the user cannot log in until they set one (see
    ``member_invite_send``). A sales role given holds its KPIs from the next cycle, or at once
    (``sales_roles_change``).
    """
    email = normalize_email(email)
    errors = _login_errors(email, password, tenant) | _profile_errors(name, role, title)
    if errors:
        raise ValidationError(errors)
    _check_sales_role(sales_role, tenant.pk)
    with transaction.atomic(), scope(tenant=tenant):
        _lock_tree(tenant.pk)
        if reports_to is not None:
            reports_to = _fresh_manager(reports_to, tenant.pk)
            _check_manager(None, reports_to)
        user = get_user_model()(username=login_username(tenant.pk, email), email=email)
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
            sales_role=sales_role,
        )
        member.full_clean(exclude=["user", "tree_id", "lft", "rght", "level", "sales_role"])
        if sales_role is None:
            member.save()
        else:
            sales_roles_change(
                tenant_id=tenant.pk,
                changes={email: (None, sales_role.pk)},
                write=member.save,
                at_once=sales_role_at_once,
                actor=actor,
            )
        lines_write(tenant_id=tenant.pk, added={member.pk: member.reports_to_id})
        audit_record(
            tenant=tenant,
            actor=actor,
            action="member.add",
            target=member,
            after=member_snapshot(member) | _at_once(sales_role is not None and sales_role_at_once),
        )
        members_changed_on_commit(tenant.pk)
    return member


def _at_once(at_once: bool) -> dict[str, bool]:
    """What the audit log keeps of the "at once" choice, where a role was given or taken."""
    return {"sales_role_at_once": True} if at_once else {}


_KEEP = object()  # member_update: the member's sales role stays as it is


def member_update(
    *,
    member: Member,
    name: str,
    title: str,
    role: str,
    sales_role: Any = _KEEP,
    sales_role_at_once: bool = False,
    actor: Actor = None,
) -> Member:
    """Change what a member is called, their permission role and their sales role (a
    SalesRole, None for none; left out: kept); their place in the tree stays. A new sales
    role's KPIs hold from the next cycle, or at once (``sales_roles_change``)."""
    if errors := _profile_errors(name, role, title):
        raise ValidationError(errors)
    if sales_role is not _KEEP:
        _check_sales_role(sales_role, member.tenant_id)
    with transaction.atomic(), scope(tenant=member.tenant_id):
        _lock_tree(member.tenant_id)
        current = _fresh(member)
        if role != Member.Role.ADMIN:
            _check_keeps_an_admin(current, "role")
        before = member_snapshot(current)
        fields: dict[str, Any] = {"name": name.strip(), "title": title.strip(), "role": role}
        new_role = current.sales_role_id if sales_role is _KEEP else _role_id(sales_role)
        sales_roles_change(
            tenant_id=member.tenant_id,
            changes={}
            if new_role == current.sales_role_id
            else {member.pk: (current.sales_role_id, new_role)},
            write=lambda: Member._tree_manager.filter(pk=member.pk).update(
                **fields, sales_role_id=new_role
            ),
            at_once=sales_role_at_once,
            actor=actor,
        )
        member = _fresh(member)
        moved_role = new_role != current.sales_role_id
        audit_record(
            tenant=member.tenant,
            actor=actor,
            action="member.edit",
            target=member,
            before=before,
            after=member_snapshot(member) | _at_once(sales_role_at_once and moved_role),
        )
        members_changed_on_commit(member.tenant_id)
    return member


def member_move(*, member: Member, reports_to: Member, actor: Actor = None) -> Member:
    """Move the member, with their whole team, under a new manager."""
    with transaction.atomic(), scope(tenant=member.tenant_id):
        _lock_tree(member.tenant_id)
        member, manager = _fresh(member), _fresh_manager(reports_to, member.tenant_id)
        if member.reports_to_id is None:
            raise ValidationError(
                {"reports_to": "The top of the organization reports to nobody and cannot move."}
            )
        _check_manager(member, manager)
        if member.reports_to_id == manager.pk:
            return member
        before = member_snapshot(member)
        member.move_to(manager, "last-child")
        lines_write(tenant_id=member.tenant_id, moved={member.pk: manager.pk})
        member = _fresh(member)
        _audit_change(member, actor, "member.move", before)
        return member


def member_deactivate(
    *, member: Member, reports_to: Member | None = None, actor: Actor = None
) -> Member:
    """Deactivate a member and hand their direct reports to ``reports_to``.

    The default new manager is the member's own manager. The member stays in the tree (their
    history and achievements stay) but can no longer log in.
    """
    with transaction.atomic(), scope(tenant=member.tenant_id):
        _lock_tree(member.tenant_id)
        member = _fresh(member)
        if member.reports_to_id is None:
            raise ValidationError({"member": "The top of the organization cannot be deactivated."})
        if not member.is_active:
            raise ValidationError({"member": f"{member.name} is already inactive."})
        _check_keeps_an_admin(member, "member")
        manager = member.reports_to
        if reports_to is not None:
            manager = _fresh_manager(reports_to, member.tenant_id)
        _check_manager(member, manager)
        before = member_snapshot(member) | {"reports_handed_to": manager.user.email}
        reports = Member._tree_manager.filter(reports_to=member).order_by("lft")
        report_ids = list(reports.values_list("pk", flat=True))
        for report_id in report_ids:
            report = Member._tree_manager.get(pk=report_id)
            report.move_to(Member._tree_manager.get(pk=manager.pk), "last-child")
        lines_write(tenant_id=member.tenant_id, moved=dict.fromkeys(report_ids, manager.pk))
        Member._tree_manager.filter(pk=member.pk).update(is_active=False)
        get_user_model()._default_manager.filter(pk=member.user_id).update(is_active=False)
        member = _fresh(member)
        _audit_change(member, actor, "member.deactivate", before)
        return member


def member_reactivate(*, member: Member, actor: Actor = None) -> Member:
    """Let a deactivated member log in again, where they stand in the tree."""
    with transaction.atomic(), scope(tenant=member.tenant_id):
        member = _fresh(member)
        if member.is_active:
            raise ValidationError({"member": f"{member.name} is already active."})
        if member.reports_to is not None and not member.reports_to.is_active:
            raise ValidationError(
                {"member": f"Their manager {member.reports_to.name} is inactive: move them first."}
            )
        before = member_snapshot(member)
        Member._tree_manager.filter(pk=member.pk).update(is_active=True)
        get_user_model()._default_manager.filter(pk=member.user_id).update(is_active=True)
        member = _fresh(member)
        _audit_change(member, actor, "member.reactivate", before)
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
    if problem := email_format_problem(admin_email):
        errors["admin_email"] = [f"{admin_email!r} {problem}."]
    for field, messages in _password_errors(admin_email, admin_password).items():
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


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, tenant: Tenant, name: str, actor: Actor = None) -> tuple[ApiToken, str]:
    """Create a token; return it with its key, which is never shown again."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name that says where it is used."})
    if problem := too_long(ApiToken, "name", name):
        raise ValidationError({"name": f"The name {problem}."})
    key = ApiToken.PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic(), scope(tenant=tenant):
        token = ApiToken.objects.create(
            tenant=tenant,
            name=name,
            key_hint=key[: len(ApiToken.PREFIX) + 6],
            key_hash=_key_hash(key),
            created_by=actor if isinstance(actor, Member) else None,
        )
        audit_record(
            tenant=tenant,
            actor=actor,
            action="api_token.create",
            target=token,
            after={"name": token.name, "key_hint": token.key_hint},
        )
    return token, key


def api_token_revoke(*, token: ApiToken, actor: Actor = None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        with transaction.atomic(), scope(tenant=token.tenant_id):
            token.save(update_fields=["revoked_at"])
            audit_record(
                tenant=token.tenant,
                actor=actor,
                action="api_token.revoke",
                target=token,
                before={"name": token.name, "revoked_at": None},
                after={"name": token.name, "revoked_at": token.revoked_at.isoformat()},
            )
    return token


LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_token_authenticate(key: str) -> ApiToken | None:
    """The active token with this key, its tenant loaded; its last-used time kept to a minute
    so that a burst of requests does not write on every one."""
    with scopes_disabled():  # a platform read: the key decides the tenant
        token = ApiToken.objects.active().select_related("tenant").filter(key_hash=_key_hash(key))
        token = token.first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        with scope(tenant=token.tenant_id):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


WORKING_TIME_FIELDS = ("working_days", "working_hours_start", "working_hours_end", "holidays")


def working_time_snapshot(tenant: Tenant) -> dict[str, Any]:
    """The tenant's working time as the API shows it and the audit log compares it."""
    return {
        "working_days": list(tenant.working_days),
        "working_hours_start": tenant.working_hours_start.strftime("%H:%M"),
        "working_hours_end": tenant.working_hours_end.strftime("%H:%M"),
        "holidays": list(tenant.holidays),
    }


@transaction.atomic
def working_time_set(
    *,
    tenant: Tenant,
    working_days: Iterable[int],
    working_hours_start: time,
    working_hours_end: time,
    holidays: Iterable[date],
    actor: Actor,
) -> Tenant:
    """Set when the tenant's people work: the weekdays, the hours of a working day on the
    tenant's wall clock and the holidays (kept sorted, each once). Paces every goal from the
    next page on; nothing is recomputed (closed cycles keep their verdicts). Audited when it
    changes; a ValidationError names the field (at least one day, the end after the start,
    holidays as dates from 1970 to 2100)."""
    before = working_time_snapshot(tenant)
    tenant.working_days = sorted(set(working_days))
    tenant.working_hours_start = working_hours_start
    tenant.working_hours_end = working_hours_end
    tenant.holidays = sorted({day.isoformat() for day in holidays})
    try:
        tenant.clean()
    except ValidationError:
        tenant.refresh_from_db(fields=WORKING_TIME_FIELDS)
        raise
    after = working_time_snapshot(tenant)
    if audit_change(
        tenant=tenant,
        actor=actor,
        action="working_time.update",
        target=tenant,
        before=before,
        after=after,
    ):
        tenant.save(update_fields=WORKING_TIME_FIELDS)
    return tenant


CALENDAR_FIELDS = ("time_zone", "week_start", "fiscal_year_start_month")
COMPANY_FIELDS = (*CALENDAR_FIELDS, "default_currency")


def company_snapshot(tenant: Tenant) -> dict[str, Any]:
    """The tenant's calendar and currency, as the Settings form and the audit log show them."""
    return {field: getattr(tenant, field) for field in COMPANY_FIELDS}


@transaction.atomic
def company_set(
    *,
    tenant: Tenant,
    time_zone: str,
    week_start: int,
    fiscal_year_start_month: int,
    default_currency: str,
    actor: Actor,
) -> Tenant:
    """Set the tenant's time zone, week start, fiscal-year start and default currency.

    The currency names records that name none from now on. The calendar places every goal's
    cycles and stored quotas, so it changes only where no app refuses (``calendar_change_asked``:
    the goals app does while the tenant has goals). Audited when it changes; a ValidationError
    names the field."""
    before = company_snapshot(tenant)
    after = {
        "time_zone": time_zone,
        "week_start": week_start,
        "fiscal_year_start_month": fiscal_year_start_month,
        "default_currency": default_currency,
    }
    changed = [field for field in COMPANY_FIELDS if after[field] != before[field]]
    if not changed:
        return tenant
    calendar = [field for field in changed if field in CALENDAR_FIELDS]
    if calendar:
        for _receiver, reason in calendar_change_asked.send(sender=Tenant, tenant=tenant):
            if reason:
                raise ValidationError(dict.fromkeys(calendar, reason))
    for field in changed:
        setattr(tenant, field, after[field])
    try:
        tenant.full_clean(exclude=[f.name for f in Tenant._meta.fields if f.name not in changed])
    except ValidationError:
        tenant.refresh_from_db(fields=changed)
        raise
    tenant.save(update_fields=changed)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="tenant.update",
        target=tenant,
        before={field: before[field] for field in changed},
        after={field: after[field] for field in changed},
    )
    return tenant
