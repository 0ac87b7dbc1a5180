from __future__ import annotations

from datetime import date

from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from core.working_time import WorkingTime
from hierarchy.models import Member, SalesRole, Tenant
from rulesets.models import GoalRule, Ruleset

from .calendar import Cycle, CycleKind, TenantCalendar, cycles


def tenant_calendar(tenant: Tenant) -> TenantCalendar:
    """The tenant's calendar with its working time: what cycles and pace are computed from."""
    return TenantCalendar(
        time_zone=tenant.time_zone,
        week_start=tenant.week_start,
        fiscal_year_start_month=tenant.fiscal_year_start_month,
        working_time=WorkingTime.of(
            tenant.working_days,
            tenant.working_hours_start,
            tenant.working_hours_end,
            tenant.holiday_dates,
        ),
    )


def tenant_today(tenant: Tenant) -> date:
    """Today's date where the tenant is (goals start and end on the tenant's dates)."""
    return timezone.now().astimezone(tenant_calendar(tenant).zone).date()


class GoalQuerySet(models.QuerySet["Goal"]):
    def live(self) -> GoalQuerySet:
        return self.filter(archived_at__isnull=True)

    def covering(self, member: Member) -> GoalQuerySet:
        """Goals whose team includes the member (their team is the member or above them)."""
        return self.filter(member.above_q("team"))

    def visible_to(self, member: Member) -> GoalQuerySet:
        """Goals of teams in the member's subtree (all of them for an admin)."""
        if member.is_admin:
            return self
        return self.filter(member.subtree_q("team"))


class Goal(models.Model):
    """A ruleset applied to a team for a date range, split into cycles, with targets per rule."""

    class Status(models.TextChoices):
        UPCOMING = "upcoming", "Upcoming"
        IN_PROGRESS = "in_progress", "In progress"
        ENDED = "ended", "Ended"
        ARCHIVED = "archived", "Archived"

    class Holders(models.TextChoices):
        REPS = "reps", "People without reports (managers' targets are their team's)"
        EVERYONE = "everyone", "Everyone, managers included (a personal share each)"

    class Split(models.TextChoices):
        """How a level without a split of its own divides (see ``goals.distribution``)."""

        EQUAL = "equal", "Equal per person carrying a target"
        LEVEL = "level", "Equal among direct reports, level by level"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="goals")
    name = models.CharField(max_length=200)
    ruleset = models.ForeignKey(Ruleset, on_delete=models.PROTECT, related_name="goals")
    team = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="team_goals")
    cycle = models.CharField(max_length=16, choices=[(k.value, k.value) for k in CycleKind])
    start = models.DateField()
    end = models.DateField(help_text="The goal's last day, inclusive.")
    holders = models.CharField(max_length=16, choices=Holders.choices, default=Holders.REPS)
    # Goals made before "equal" meant per person keep the level-by-level split (migration 0002).
    default_split = models.CharField(max_length=16, choices=Split.choices, default=Split.EQUAL)
    sales_role = models.ForeignKey(
        SalesRole,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="goals",
        help_text="The KPIs of a sales role: every member with the role holds the targets in full.",
    )
    backfilled = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(
        tenant="tenant", _manager_class=models.Manager.from_queryset(GoalQuerySet)
    )

    class Meta:
        ordering = ["-start", "name"]
        indexes = [models.Index(fields=["tenant", "end", "start"], name="goal_tenant_dates_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="goal_dates"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_template(self) -> bool:
        """The KPIs of a sales role: its holders hold the targets in full, nothing is split."""
        return self.sales_role_id is not None

    def status_on(self, today: date) -> Goal.Status:
        if self.archived_at is not None:
            return Goal.Status.ARCHIVED
        if today < self.start:
            return Goal.Status.UPCOMING
        if today > self.end:
            return Goal.Status.ENDED
        return Goal.Status.IN_PROGRESS

    @property
    def status(self) -> Goal.Status:
        return self.status_on(tenant_today(self.tenant))

    def cycles(self) -> list[Cycle]:
        return cycles(tenant_calendar(self.tenant), self.cycle, self.start, self.end)


class GoalTarget(models.Model):
    """One rule's team target in a goal: per full cycle, or a total phased across cycles."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="targets")
    rule = models.ForeignKey(GoalRule, on_delete=models.PROTECT, related_name="goal_targets")
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    phasing = models.JSONField(
        default=list, blank=True, help_text="Percentages per cycle; then amount is the total."
    )

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["goal", "rule__position"]
        constraints = [
            models.UniqueConstraint(fields=["goal", "rule"], name="goaltarget_unique_rule")
        ]

    def __str__(self) -> str:
        return f"{self.rule.key}: {self.amount}"


class GoalSplit(models.Model):
    """How one parent's share of a goal splits among their direct reports.

    ``shares`` maps a direct report's member id (as text), or "own" for the parent's personal
    share, to a percentage or a custom amount. Levels without a split split as the goal's
    ``default_split`` says.
    """

    class Method(models.TextChoices):
        EQUAL = "equal", "Equal per person"
        LEVEL = "level", "Equal among direct reports"
        PERCENTAGE = "percentage", "By percentage"
        CUSTOM = "custom", "Custom amounts"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="splits")
    rule = models.ForeignKey(GoalRule, on_delete=models.CASCADE, related_name="+")
    parent = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=16, choices=Method.choices)
    shares = models.JSONField(default=dict, blank=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["goal", "rule", "parent"], name="goalsplit_unique_level"
            )
        ]

    def __str__(self) -> str:
        return f"{self.parent} ({self.method})"


class Quota(models.Model):
    """One member's own and team target for one rule in one cycle of a goal, stored when the
    cycle's targets are first needed and read by every recompute after that.

    Only an explicit change writes a stored quota again: an edit of the goal's targets or
    distribution, a re-distribution, or quotas set through the API; closed cycles never
    change. ``manager`` is whom the member reported to in the goal's team when the quota was
    set: a member whose manager differs now has moved since.
    """

    class Source(models.TextChoices):
        DISTRIBUTION = "distribution", "Distributed from the goal's targets"
        REDISTRIBUTION = "redistribution", "Re-distributed after a change in the team"
        MANUAL = "manual", "Set by hand"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="quotas")
    rule = models.ForeignKey(GoalRule, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="quotas")
    manager = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cycle_index = models.PositiveIntegerField()
    cycle_start = models.DateTimeField()
    cycle_end = models.DateTimeField()
    own = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    team = models.DecimalField(max_digits=18, decimal_places=2)
    source = models.CharField(max_length=16, choices=Source.choices)
    set_by = models.CharField(max_length=300, help_text="Who or what set it: a member, a token.")
    set_at = models.DateTimeField()

    objects = ScopedManager(tenant="tenant")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["goal", "cycle_start", "rule", "member"], name="quota_unique_cell"
            )
        ]

    def __str__(self) -> str:
        return f"{self.goal_id}/{self.rule_id}/{self.member_id} @ {self.cycle_start:%Y-%m-%d}"
