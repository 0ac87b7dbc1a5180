"""Dashboards by audience: named pages of metrics that admins compose for a sales role, the
managers or everyone. A metric is a rule of a ruleset (with an optional breakdown and trend)
or the customers block (CAC, LTV, LTV:CAC); ``dashboards.audience`` computes what they show."""

from __future__ import annotations

from django.db import models
from django_scopes import ScopedManager

from goals.calendar import CycleKind
from hierarchy.models import Member, SalesRole, Tenant
from rulesets.models import Ruleset


class Dashboard(models.Model):
    class Audience(models.TextChoices):
        EVERYONE = "everyone", "Everyone"
        MANAGERS = "managers", "The managers"
        ROLE = "role", "A sales role"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=120)
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.EVERYONE)
    sales_role = models.ForeignKey(
        SalesRole, on_delete=models.CASCADE, null=True, blank=True, related_name="dashboards"
    )
    position = models.PositiveIntegerField(default=0)
    reps_see_team = models.BooleanField(
        default=False, help_text="Reps see their team's totals beside their own numbers."
    )

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.title

    def shown_to(self, member: Member) -> bool:
        """Whether the member is in the dashboard's audience (admins see every dashboard)."""
        if member.is_admin or self.audience == self.Audience.EVERYONE:
            return True
        if self.audience == self.Audience.MANAGERS:
            return member.manages_people
        return member.sales_role_id is not None and member.sales_role_id == self.sales_role_id


def dashboards_for(member: Member) -> models.QuerySet[Dashboard]:
    """The dashboards of the member's audience, in order (one query): what the nav lists."""
    if member.is_admin:
        return Dashboard.objects.all()
    audiences = models.Q(audience=Dashboard.Audience.EVERYONE)
    if member.manages_people:
        audiences |= models.Q(audience=Dashboard.Audience.MANAGERS)
    if member.sales_role_id is not None:
        audiences |= models.Q(audience=Dashboard.Audience.ROLE, sales_role_id=member.sales_role_id)
    return Dashboard.objects.filter(audiences)


class DashboardMetric(models.Model):
    class Kind(models.TextChoices):
        RULE = "rule", "A rule of a ruleset"
        CUSTOMERS = "customers", "Customers: CAC, LTV and LTV:CAC"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="metrics")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.RULE)
    ruleset = models.ForeignKey(Ruleset, on_delete=models.CASCADE, null=True, blank=True)
    rule_key = models.SlugField(max_length=50, blank=True)
    breakdown = models.CharField(max_length=64, blank=True, help_text="A field to split by.")
    trend = models.PositiveSmallIntegerField(default=0, help_text="Cycles shown; 0: no trend.")
    cycle = models.CharField(
        max_length=16,
        choices=[(k.value, k.value.capitalize()) for k in CycleKind],
        default=CycleKind.MONTHLY.value,
        help_text="The cycle of a metric without a running goal.",
    )

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.rule_key or self.get_kind_display()
