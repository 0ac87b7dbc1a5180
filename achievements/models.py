from __future__ import annotations

from django.db import models
from django_scopes import ScopedManager

from goals.models import Goal
from hierarchy.models import Member, Tenant
from rulesets.models import GoalRule


class Achievement(models.Model):
    """The measured value of one rule for one member in one cycle of a goal.

    ``value`` is the member's own; ``team_value`` is theirs plus their whole subtree's, rolled
    up from parts, never from values: ``*_numerator``/``*_denominator`` hold a ratio's two
    sides or an average's sum and count, so that a team's ratio is sum over sum. A member with
    no records has a row too, with zeros. ``final`` rows belong to closed cycles and are frozen.
    """

    class Status(models.TextChoices):
        """A closed cycle's verdict (the final ``Pace``); open cycles have none yet."""

        OPEN = "", "Open"
        ACHIEVED = "achieved", "Achieved"
        MISSED = "missed", "Missed"
        NO_TARGET = "no_target", "No target"
        NO_DATA = "no_data", "No data"

    # No index of their own for tenant, goal, rule and member: the unique cell leads with rule
    # and goal, the member index with member, and every index is one more write for each of a
    # recompute's rows. No reader looks rows up by tenant alone, and an index on it misled the
    # planner: while the statistics know nothing of a tenant's rows yet ("one row"), the
    # recompute's read of one goal's cycles scanned all the tenant's rows through it. Deleting
    # a whole tenant scans the table instead.
    #
    # Only the goal's key is checked by the database. Rows are derived, written only by the
    # recompute under its lock on the goal, and each key check is one more lookup at commit for
    # every row written: for the 54,000 rows the other three cost 0.5 s of 2.9. What
    # keeps those keys true: the tenant is the goal's (and row-level security checks it on
    # every write); a rule is deleted through the ORM, whose cascade takes its rows (a rule
    # with a target is protected from deletion, a tracked one is not); members
    # are deactivated, never deleted, except with their tenant, whose goals go first. Deletes
    # still cascade here, in Django; the goal's key check catches a goal (or tenant) deleted
    # while a recompute writes its rows.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    goal = models.ForeignKey(
        Goal, on_delete=models.CASCADE, related_name="achievements", db_index=False
    )
    rule = models.ForeignKey(
        GoalRule, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    member = models.ForeignKey(
        Member,
        on_delete=models.CASCADE,
        related_name="achievements",
        db_index=False,
        db_constraint=False,
    )
    cycle_index = models.PositiveIntegerField()
    cycle_start = models.DateTimeField()
    cycle_end = models.DateTimeField()
    value = models.DecimalField(max_digits=20, decimal_places=4, null=True)
    team_value = models.DecimalField(max_digits=20, decimal_places=4, null=True)
    numerator = models.DecimalField(max_digits=20, decimal_places=4, null=True)
    denominator = models.DecimalField(max_digits=20, decimal_places=4, null=True)
    team_numerator = models.DecimalField(max_digits=20, decimal_places=4, null=True)
    team_denominator = models.DecimalField(max_digits=20, decimal_places=4, null=True)
    target = models.DecimalField(max_digits=18, decimal_places=2, null=True)
    team_target = models.DecimalField(max_digits=18, decimal_places=2, null=True)
    computed_at = models.DateTimeField()
    final = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, blank=True, default="")

    objects = ScopedManager(tenant="tenant")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "goal", "member", "cycle_start"], name="achievement_unique_cell"
            )
        ]
        indexes = [
            models.Index(fields=["member", "cycle_start"], name="achievement_member_idx"),
            models.Index(fields=["goal", "cycle_start"], name="achievement_goal_cycle_idx"),
            # Which cycles of a goal are closed, asked by every recompute: a few rows to read
            # instead of all the goal's.
            models.Index(
                fields=["goal", "cycle_start"],
                condition=models.Q(final=True),
                name="achievement_final_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.goal_id}/{self.rule_id}/{self.member_id} @ {self.cycle_start:%Y-%m-%d}"


class GoalComputation(models.Model):
    """When a goal's achievements were last computed, and whether more work is waiting."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    goal = models.OneToOneField(Goal, on_delete=models.CASCADE, related_name="computation")
    computed_at = models.DateTimeField(null=True)
    duration_ms = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(null=True, help_text="A recompute was asked for then.")
    # What the last recompute could not compute: [{"rule": key, "name": rule name, "message":
    # why}] (an empty key: the goal as a whole), when; emptied by the next run without any.
    errors = models.JSONField(default=list, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(tenant="tenant")

    def __str__(self) -> str:
        return f"goal {self.goal_id} computed {self.computed_at}"

    @property
    def error_lines(self) -> list[str]:
        """Each failure as a sentence: "Deals by segment could not be computed: ..."."""
        return [
            f"{error['name'] or 'The goal'} could not be computed: {error['message']}"
            for error in self.errors
        ]

    @property
    def pending(self) -> bool:
        return self.requested_at is not None and (
            self.computed_at is None or self.requested_at > self.computed_at
        )
