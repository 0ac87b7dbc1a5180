"""The CRM records that goal rules measure: leads, activities, opportunities, stage changes
and tasks; and the accounts (customers) deals are won from and the marketing spend that wins
them.

Every row belongs to one tenant and carries the ``external_id`` the tenant's CRM knows it by,
unique per tenant, so that delivering a record again updates it instead of adding a copy.
``attributes`` holds the values of the custom fields the tenant declared (``CustomField``).

Each entity lists the date fields that can place a record in a goal's cycle
(``DATE_FIELDS``) and has a (tenant, owner, date) index for each: recompute filters by tenant
and date window and groups by the member who gets the credit (``OWNED``: the ``owner``; an
account or a spend credits nobody, so no rule measures it). ``RECORD_FIELDS`` are the fields
of the entity's ingestion record (API and CSV, in CSV column order): model fields, and
references by what the sender knows (``owner_email``, ``lead_external_id``...).
"""

from __future__ import annotations

from typing import ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_scopes import ScopedManager

from hierarchy.models import Member, Tenant


class Entity(models.TextChoices):
    LEAD = "lead", "Lead"
    ACTIVITY = "activity", "Activity"
    OPPORTUNITY = "opportunity", "Opportunity"
    ACCOUNT = "account", "Account"
    SPEND = "spend", "Spend"
    TASK = "task", "Task"


class ActivityType(models.Model):
    """A kind of activity the tenant logs ("Cold call", "Demo"), in one fixed category."""

    class Category(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        DEMO = "demo", "Demo"
        FOLLOW_UP = "follow_up", "Follow-up"
        TASK = "task", "Task"
        CAMPAIGN = "campaign", "Campaign"
        OTHER = "other", "Other"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="activity_types")
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.OTHER)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["name"]
        constraints = [
            # Records name their type in any case ("call", "Call"): names must differ by more.
            models.UniqueConstraint(
                "tenant",
                Lower("name"),
                name="crm_activitytype_unique_name",
                violation_error_message="This organization already has an activity type "
                "with this name.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PipelineStage(models.Model):
    """One step of the tenant's sales pipeline; ``position`` orders them. A stage may mark
    the end of a deal (won or lost): the pipeline's open columns are the others."""

    class Outcome(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="pipeline_stages")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    outcome = models.CharField(
        max_length=4,
        choices=Outcome.choices,
        default=Outcome.OPEN,
        help_text="Won or lost: a deal in this stage has ended.",
    )

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("name"),
                name="crm_pipelinestage_unique_name",
                violation_error_message="This organization already has a stage with this name.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """The name, with the outcome when the stage ends a deal: "Closed won (won)"."""
        if self.outcome == self.Outcome.OPEN:
            return self.name
        return f"{self.name} ({self.get_outcome_display().lower()})"


# An opportunity's currency is checked by the rule of the tenant's default currency (its
# RegexValidator; the field's own max_length check comes with every CharField).
CURRENCY_VALIDATORS = [
    validator
    for validator in Tenant._meta.get_field("default_currency").validators
    if isinstance(validator, RegexValidator)
]


def _unique_external_id(model: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=["tenant", "external_id"], name=f"crm_{model}_unique_external_id"
    )


class Account(models.Model):
    """A company the tenant sells to; it becomes a customer when its first deal is won.

    ``channel`` is how the customer was acquired (the same words as the spend's channels): the
    customers metrics count a new customer, and its value, in that channel's CAC and LTV.
    """

    OWNED: ClassVar[bool] = False
    DATE_FIELDS: ClassVar[tuple[str, ...]] = ()  # no rule places an account in a cycle
    RECORD_FIELDS: ClassVar[tuple[str, ...]] = ("external_id", "name", "segment", "channel")
    # What rules read of it, through the records that name it (``account_segment``...): an
    # edit of one of these has their goals recomputed, an edit of its name does not.
    READ_FIELDS: ClassVar[tuple[str, ...]] = ("external_id", "segment", "channel")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="accounts")
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    segment = models.CharField(max_length=100, blank=True, help_text="e.g. SMB, Enterprise.")
    channel = models.CharField(
        max_length=100, blank=True, help_text="The acquisition channel the customer came from."
    )
    attributes = models.JSONField(default=dict, blank=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["name", "pk"]
        constraints = [_unique_external_id("account")]

    def __str__(self) -> str:
        return self.name


class Lead(models.Model):
    """A prospective customer, owned by the member working it."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        QUALIFIED = "qualified", "Qualified"
        CONVERTED = "converted", "Converted"
        DISQUALIFIED = "disqualified", "Disqualified"

    OWNED: ClassVar[bool] = True
    DATE_FIELDS: ClassVar[tuple[str, ...]] = (
        "created_at",
        "first_contacted_at",
        "converted_at",
        "disqualified_at",
    )
    RECORD_FIELDS: ClassVar[tuple[str, ...]] = (
        "external_id",
        "owner_email",
        "name",
        "email",
        "phone",
        "source",
        "status",
        *DATE_FIELDS,
        "account_external_id",
    )

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="leads")
    external_id = models.CharField(max_length=100)
    owner = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="leads")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    source = models.CharField(max_length=100, blank=True, help_text="The channel it came from.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    created_at = models.DateTimeField(default=timezone.now)
    first_contacted_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    disqualified_at = models.DateTimeField(null=True, blank=True)
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="leads"
    )
    attributes = models.JSONField(default=dict, blank=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        constraints = [_unique_external_id("lead")]
        indexes = [
            models.Index(
                fields=["tenant", "owner", "created_at"],
                include=["status"],
                name="crm_lead_created_idx",
            ),
            models.Index(
                fields=["tenant", "owner", "first_contacted_at"], name="crm_lead_contacted_idx"
            ),
            models.Index(
                fields=["tenant", "owner", "converted_at"],
                include=["status"],
                name="crm_lead_converted_idx",
            ),
            models.Index(
                fields=["tenant", "owner", "disqualified_at"], name="crm_lead_disqualified_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Opportunity(models.Model):
    """A deal in the tenant's pipeline, worth ``value`` in ``currency``."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    OWNED: ClassVar[bool] = True
    DATE_FIELDS: ClassVar[tuple[str, ...]] = ("created_at", "closed_at")
    RECORD_FIELDS: ClassVar[tuple[str, ...]] = (
        "external_id",
        "owner_email",
        "name",
        "stage",
        "status",
        "value",
        "currency",
        *DATE_FIELDS,
        "stage_changed_at",
        "lead_external_id",
        "account_external_id",
    )

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="opportunities")
    external_id = models.CharField(max_length=100)
    owner = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="opportunities")
    lead = models.ForeignKey(
        Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="opportunities"
    )
    name = models.CharField(max_length=200)
    stage = models.ForeignKey(PipelineStage, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    value = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, validators=CURRENCY_VALIDATORS)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="opportunities"
    )
    attributes = models.JSONField(default=dict, blank=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        verbose_name_plural = "opportunities"
        constraints = [_unique_external_id("opportunity")]
        indexes = [
            models.Index(fields=["tenant", "owner", "created_at"], name="crm_opp_created_idx"),
            models.Index(
                fields=["tenant", "owner", "closed_at"],
                include=["status", "currency", "value"],
                name="crm_opp_closed_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Activity(models.Model):
    """A piece of sales work of one of the tenant's types: a call, an email, a demo..."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    OWNED: ClassVar[bool] = True
    DATE_FIELDS: ClassVar[tuple[str, ...]] = ("occurred_at",)
    RECORD_FIELDS: ClassVar[tuple[str, ...]] = (
        "external_id",
        "owner_email",
        "type",
        "occurred_at",
        "status",
        "outcome",
        "duration_seconds",
        "lead_external_id",
        "opportunity_external_id",
    )

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="activities")
    external_id = models.CharField(max_length=100)
    type = models.ForeignKey(ActivityType, on_delete=models.PROTECT, related_name="activities")
    owner = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="activities")
    # The activity still happened when its lead or opportunity is deleted.
    lead = models.ForeignKey(
        Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="activities"
    )
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="activities"
    )
    occurred_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETED)
    outcome = models.CharField(max_length=100, blank=True, help_text="e.g. connected, no answer")
    duration_seconds = models.PositiveIntegerField(default=0)
    attributes = models.JSONField(default=dict, blank=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        verbose_name_plural = "activities"
        constraints = [_unique_external_id("activity")]
        indexes = [
            # Covering: a rule's grouped query reads the index alone (PostgreSQL INCLUDE; other
            # databases index the key columns).
            models.Index(
                fields=["tenant", "owner", "occurred_at"],
                include=["type", "status", "duration_seconds"],
                name="crm_activity_occurred_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.external_id}"


class Task(models.Model):
    """A piece of work due by a moment (a to-do, a follow-up), of one of the tenant's activity
    types whose category is task or follow-up (``TYPE_CATEGORIES``).

    Completed on time: completed, at or before ``due_at``. Overdue: due, and open or completed
    after ``due_at`` (see docs/crm-import.md, "Tasks")."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    TYPE_CATEGORIES: ClassVar[tuple[str, ...]] = (
        ActivityType.Category.TASK,
        ActivityType.Category.FOLLOW_UP,
    )
    OWNED: ClassVar[bool] = True
    DATE_FIELDS: ClassVar[tuple[str, ...]] = ("created_at", "due_at", "completed_at")
    RECORD_FIELDS: ClassVar[tuple[str, ...]] = (
        "external_id",
        "owner_email",
        "type",
        "subject",
        "status",
        *DATE_FIELDS,
        "lead_external_id",
        "opportunity_external_id",
    )

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="tasks")
    external_id = models.CharField(max_length=100)
    type = models.ForeignKey(ActivityType, on_delete=models.PROTECT, related_name="tasks")
    owner = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="tasks")
    # The task still was work when its lead or opportunity is deleted.
    lead = models.ForeignKey(
        Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        constraints = [_unique_external_id("task")]
        indexes = [
            models.Index(fields=["tenant", "owner", "created_at"], name="crm_task_created_idx"),
            # Covering the on-time and overdue tests, which read the status and both moments.
            models.Index(
                fields=["tenant", "owner", "due_at"],
                include=["type", "status", "completed_at"],
                name="crm_task_due_idx",
            ),
            models.Index(
                fields=["tenant", "owner", "completed_at"],
                include=["type", "status", "due_at"],
                name="crm_task_completed_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.subject


class StageChange(models.Model):
    """An opportunity entering a stage; written by ingestion, never edited.

    ``from_stage`` is empty for the stage an opportunity was created in.
    """

    DATE_FIELDS: ClassVar[tuple[str, ...]] = ("changed_at",)

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="stage_changes")
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.ForeignKey(
        PipelineStage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(PipelineStage, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()
    member = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="stage_changes"
    )

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["changed_at", "pk"]
        indexes = [
            models.Index(
                fields=["tenant", "member", "changed_at"], name="crm_stagechange_changed_idx"
            ),
            # An opportunity's history in order: where it stood at a moment, and its next
            # change (rules counted at each cycle's end look one up for every change).
            models.Index(fields=["opportunity", "changed_at"], name="crm_stagechange_history_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity}: {self.from_stage or '(new)'} -> {self.to_stage}"


class Spend(models.Model):
    """Money spent on winning customers through one channel on one day ("Paid search",
    "Events"), for the whole company or for a team (the member whose subtree it belongs to)."""

    OWNED: ClassVar[bool] = False  # a team's, or the company's
    DATE_FIELDS: ClassVar[tuple[str, ...]] = ()  # measured by the customers metrics, not rules
    RECORD_FIELDS: ClassVar[tuple[str, ...]] = (
        "external_id",
        "date",
        "channel",
        "amount",
        "currency",
        "team_email",
    )

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="spend")
    external_id = models.CharField(max_length=100)
    date = models.DateField()
    channel = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, validators=CURRENCY_VALIDATORS)
    team = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="spend"
    )
    attributes = models.JSONField(default=dict, blank=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        verbose_name_plural = "spend"
        constraints = [_unique_external_id("spend")]
        indexes = [models.Index(fields=["tenant", "date"], name="crm_spend_date_idx")]

    def __str__(self) -> str:
        return f"{self.channel} {self.date}"


ENTITY_MODELS: dict[str, type[Lead | Activity | Opportunity | Task | Account | Spend]] = {
    Entity.LEAD: Lead,
    Entity.ACTIVITY: Activity,
    Entity.OPPORTUNITY: Opportunity,
    Entity.TASK: Task,
    Entity.ACCOUNT: Account,
    Entity.SPEND: Spend,
}


class CustomField(models.Model):
    """A field the tenant adds to an entity; its values live in the records' ``attributes``."""

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        MONEY = "money", "Money"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Yes/no"
        CHOICE = "choice", "Choice"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="custom_fields")
    entity = models.CharField(max_length=16, choices=Entity.choices)
    # The name is a CSV column and a JSON key, so it keeps to what both read without quoting.
    name = models.CharField(
        max_length=63,
        validators=[
            RegexValidator(
                r"^[a-z][a-z0-9_]*$",
                "Use lowercase letters, digits and underscores, starting with a letter.",
            )
        ],
    )
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.TEXT)
    choices = models.JSONField(
        default=list, blank=True, help_text="The allowed values of a choice."
    )

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["entity", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "entity", "name"], name="crm_customfield_unique_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity}.{self.name}"

    def clean(self) -> None:
        model = ENTITY_MODELS.get(self.entity)
        # Custom values arrive beside the standard ones (a CSV column, a record key).
        if model is not None and self.name in (*model.RECORD_FIELDS, "attributes"):
            raise ValidationError({"name": f"Every {self.entity} already has a field {self.name}."})
        if self.type == self.Type.CHOICE:
            if not self.choices or not all(isinstance(c, str) and c for c in self.choices):
                raise ValidationError({"choices": "List the allowed values, as text."})
        elif self.choices:
            raise ValidationError({"choices": "Only a choice field has a list of values."})
