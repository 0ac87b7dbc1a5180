from __future__ import annotations

import zoneinfo
from datetime import date, time
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django_scopes import ScopedManager, scope
from mptt.fields import TreeForeignKey
from mptt.managers import TreeManager
from mptt.models import MPTTModel

from core.working_time import (
    WORKING_DAYS,
    WORKING_END,
    WORKING_START,
    working_time_problems,
)


@cache
def _known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in _known_time_zones():
        raise ValidationError(
            "%(value)s is not a known time zone (use an IANA name such as Europe/Berlin).",
            params={"value": value},
            code="unknown_time_zone",
        )


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


def default_working_days() -> list[int]:
    return list(WORKING_DAYS)


class Tenant(models.Model):
    """One customer company. Everything a tenant owns carries ``tenant_id``.

    Its calendar (time zone, week start, fiscal year) and its working time (the weekdays, the
    hours of a working day on its wall clock, the holidays), which paces every goal, are read
    with the tenant itself: no page asks for them separately."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    week_start = models.PositiveSmallIntegerField(choices=Weekday.choices, default=Weekday.MONDAY)
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    default_currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. USD.")],
    )
    working_days = models.JSONField(
        default=default_working_days, help_text="Weekdays with working time, 0 = Monday."
    )
    working_hours_start = models.TimeField(default=WORKING_START)
    working_hours_end = models.TimeField(default=WORKING_END)
    holidays = models.JSONField(
        default=list, blank=True, help_text="Dates without working time (YYYY-MM-DD)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The working time's problems by field (``core.working_time`` checks it)."""
        days, start, end = self.working_days, self.working_hours_start, self.working_hours_end
        if not isinstance(days, list):
            raise ValidationError({"working_days": "Working days are a list of weekdays."})
        errors: dict[str, list[str]] = {}
        if malformed := holiday_problems(self.holidays):
            errors["holidays"] = malformed
        if isinstance(start, time) and isinstance(end, time):  # else the fields' own errors
            holidays = [] if malformed else self.holiday_dates
            names = {"days": "working_days", "end": "working_hours_end", "holidays": "holidays"}
            found = working_time_problems(days, start, end, holidays)
            errors |= {names[part]: [text] for part, text in found.items()}
        if "working_days" not in errors and len(set(days)) != len(days):
            errors["working_days"] = ["A working day is listed twice."]
        if errors:
            raise ValidationError(errors)

    @property
    def holiday_dates(self) -> list[date]:
        return [date.fromisoformat(day) for day in self.holidays]

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        # Inside its own scope, so that under row-level security the cascade sees (and
        # deletes) every row the tenant owns, whatever scope the caller is in.
        with scope(tenant=self.pk):
            return super().delete(*args, **kwargs)


def _is_iso_date(value: object) -> bool:
    if not isinstance(value, str) or len(value) != len("2026-12-25"):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def holiday_problems(holidays: object) -> list[str]:
    """What keeps a stored list of holidays from being dates (YYYY-MM-DD), each once."""
    if not isinstance(holidays, list):
        return ["Holidays are a list of dates (YYYY-MM-DD)."]
    problems = [f"{day!r} is not a date (YYYY-MM-DD)." for day in holidays if not _is_iso_date(day)]
    if not problems and len(set(holidays)) != len(holidays):
        problems.append("A holiday is listed twice.")
    return problems


def in_subtree(top: tuple[int, int, int], tree_id: int, lft: int) -> bool:
    """Whether the member at (``tree_id``, ``lft``) is in the subtree of ``top`` (its
    tree_id, lft and rght), the top included: the one test of the rule, on plain values."""
    top_tree, top_lft, top_rght = top
    return tree_id == top_tree and top_lft <= lft <= top_rght


class MemberQuerySet(models.QuerySet["Member"]):
    def subtree(self, member: Member, *, include_self: bool = True) -> MemberQuerySet:
        """The member's team: everyone in their subtree (one range query on lft/rght)."""
        if include_self:
            return self.filter(member.subtree_q())
        return self.filter(member.subtree_q(), lft__gt=member.lft)

    def visible_to(self, viewer: Member) -> MemberQuerySet:
        """Members the viewer may look at: everyone for admins, otherwise their own subtree."""
        return self.filter(tenant_id=viewer.tenant_id) if viewer.is_admin else self.subtree(viewer)

    def managers_of(self, member: Member) -> MemberQuerySet:
        """The chain of managers above the member, from the root down."""
        return self.filter(
            tree_id=member.tree_id, lft__lt=member.lft, rght__gt=member.rght
        ).order_by("lft")

    def search(self, text: str) -> MemberQuerySet:
        """Members whose name or email contains the text (case-insensitive)."""
        return self.filter(Q(name__icontains=text) | Q(user__email__icontains=text))


class MemberTreeManager(TreeManager):
    """mptt's bookkeeping manager, unscoped, that numbers each tenant's tree by its tenant.

    mptt would give a new root max(tree_id) + 1, which two tenants created at the same moment
    can both read. A tenant has exactly one tree, so its id is the tree id: no race, and a
    check constraint makes a shared tree impossible.
    """

    def insert_node(self, node, target, position="last-child", save=False, **kwargs):  # noqa: ANN001, ANN201
        if target is not None:
            if not self.model._mptt_updates_enabled:
                # Inside delay_mptt_updates() a rebuild follows: re-reading the parent's
                # lft/rght before every insert would only cost a query per member.
                kwargs["refresh_target"] = False
            return super().insert_node(node, target, position, save, **kwargs)
        node.lft, node.rght, node.level, node.reports_to = 1, 2, 0, None
        node.tree_id = node.tenant_id
        if save:
            node.save()
        return node


class SalesRole(models.Model):
    """What a person does in sales (SDR, Account executive...), held by members and mapped to
    KPIs: goals whose targets every member with the role holds in full. Unrelated to the
    permission roles (``Member.role``). A name is unique in a tenant in any case."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sales_roles")
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="salesrole_unique_name_any_case")
        ]

    def __str__(self) -> str:
        return self.name


class Member(MPTTModel):
    """A person in a tenant: a Django user, a role and a place in the reporting tree.

    ``objects`` is a plain scoped manager on purpose: a scoped ``TreeManager`` would scope
    mptt's own tree-id bookkeeping and let two tenants' trees interleave. mptt adds its own
    unscoped ``_tree_manager`` for that.
    """

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MANAGER = "manager", "Manager"
        REP = "rep", "Rep"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="members")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member"
    )
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REP)
    reports_to = TreeForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="direct_reports",
    )
    title = models.CharField(max_length=200, blank=True)
    sales_role = models.ForeignKey(
        SalesRole,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        help_text="What the member does in sales: they hold the role's KPIs.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(
        tenant="tenant", _manager_class=models.Manager.from_queryset(MemberQuerySet)
    )
    _tree_manager = MemberTreeManager()

    class MPTTMeta:
        parent_attr = "reports_to"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(reports_to__isnull=True),
                name="member_one_root_per_tenant",
            ),
            models.CheckConstraint(
                condition=Q(tree_id=F("tenant_id")), name="member_tree_is_tenant"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "tree_id", "lft"], name="member_tenant_tree_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def team_size(self) -> int:
        """How many people are in the member's subtree, below them."""
        return (self.rght - self.lft - 1) // 2

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def manages_people(self) -> bool:
        """Managers and admins see team pages and create goals."""
        return self.role in MANAGING_ROLES

    @property
    def leads_team(self) -> bool:
        """Whether anyone reports to this member, directly or not (their subtree is more than
        themselves)."""
        return self.rght - self.lft > 1

    def contains(self, other: Member) -> bool:
        """Whether ``other`` is this member or in their team (their subtree)."""
        return in_subtree((self.tree_id, self.lft, self.rght), other.tree_id, other.lft)

    def subtree_q(self, via: str = "") -> Q:
        """Rows whose member (reached through ``via``, e.g. "team") is in this member's team."""
        prefix = f"{via}__" if via else ""
        return Q(
            **{
                f"{prefix}tree_id": self.tree_id,
                f"{prefix}lft__gte": self.lft,
                f"{prefix}rght__lte": self.rght,
            }
        )

    def above_q(self, via: str = "") -> Q:
        """Rows whose member (through ``via``) is this member or one of their managers: the
        members whose team holds this one."""
        prefix = f"{via}__" if via else ""
        return Q(
            **{
                f"{prefix}tree_id": self.tree_id,
                f"{prefix}lft__lte": self.lft,
                f"{prefix}rght__gte": self.rght,
            }
        )

    def clean(self) -> None:
        if self.reports_to_id is None:
            roots = Member.objects.filter(tenant_id=self.tenant_id, reports_to=None)
            if roots.exclude(pk=self.pk).exists():
                raise ValidationError(
                    {"reports_to": "This organization already has a root member; pick a manager."}
                )
        elif self.reports_to.tenant_id != self.tenant_id:
            raise ValidationError({"reports_to": "The manager must belong to the same tenant."})


class ReportingLine(models.Model):
    """Who a member reported to, from ``valid_from`` until ``valid_to`` (None: still does).

    Every write of the tree writes these too (``hierarchy.services.lines_write``): a member has
    exactly one open line, whose manager is their ``reports_to``, and their lines never overlap.
    A member's first line runs from ``LINES_BEGIN``, before any record a tenant may hold, so
    records imported from before the member was added count for the team they joined; a move
    closes the open line and opens the next at the moment it is made. Team values credit each
    record to the team its member belonged to at the record's time (``hierarchy.history``).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="lines")
    reports_to = models.ForeignKey(
        Member, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(valid_to__isnull=True),
                name="reporting_line_one_open",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="reporting_line_not_empty",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "valid_from"], name="reporting_line_from_idx")]

    def __str__(self) -> str:
        return f"{self.member_id} -> {self.reports_to_id} [{self.valid_from}, {self.valid_to})"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        """Tokens that still authenticate: not revoked."""
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A tenant's key to the JSON API. Only a SHA-256 of the key is stored; the key is shown
    once, at creation. Keys are 256 random bits, so a fast hash is enough."""

    PREFIX = "gk_"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hint = models.CharField(max_length=16, help_text="The first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(
        tenant="tenant", _manager_class=models.Manager.from_queryset(ApiTokenQuerySet)
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_hint}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEntry(models.Model):
    """Who changed what in a tenant's configuration, with the values before and after."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=200, help_text="The actor as they were called then.")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.BigIntegerField(null=True)
    target_label = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_recent_idx")]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_label}"

    def changes(self) -> list[tuple[str, object, object]]:
        """(field, before, after) for every field whose value differs."""
        before, after = self.before or {}, self.after or {}
        return [
            (key, before.get(key), after.get(key))
            for key in dict.fromkeys([*before, *after])
            if before.get(key) != after.get(key)
        ]


MANAGING_ROLES = frozenset({Member.Role.ADMIN, Member.Role.MANAGER})
"""The roles that manage people: they see team pages and set goals for their team."""
