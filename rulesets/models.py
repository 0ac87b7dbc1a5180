from __future__ import annotations

from typing import Any

from django.db import models
from django_scopes import ScopedManager

from hierarchy.models import Tenant

from .spec import Aggregation, Direction, Indicator, Mode, Unit


class Ruleset(models.Model):
    """A named set of goal rules that admins build and managers pick when they create goals."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="rulesets")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="ruleset_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class GoalRule(models.Model):
    """How one metric is measured; the columns are what ``rulesets.spec`` parsed and checked."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    ruleset = models.ForeignKey(Ruleset, on_delete=models.CASCADE, related_name="rules")
    key = models.SlugField(max_length=50)
    name = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    entity = models.CharField(max_length=16, blank=True)  # empty for ratios
    aggregation = models.CharField(max_length=16, choices=[(a, a) for a in Aggregation])
    field = models.CharField(max_length=80, blank=True)
    date_field = models.CharField(max_length=80, blank=True)
    member_field = models.CharField(max_length=80, blank=True)
    unit = models.CharField(max_length=16, choices=[(u, u) for u in Unit])
    currency = models.CharField(max_length=3, blank=True)
    direction = models.CharField(max_length=8, choices=[(d, d) for d in Direction])
    conditions = models.JSONField(default=list, blank=True)
    numerator = models.SlugField(max_length=50, blank=True)
    denominator = models.SlugField(max_length=50, blank=True)
    indicator = models.CharField(
        max_length=8, choices=[(i, i) for i in Indicator], default=Indicator.LEADING
    )
    mode = models.CharField(max_length=16, choices=[(m, m) for m in Mode], default=Mode.IN_CYCLE)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        ordering = ["ruleset", "position"]
        constraints = [
            models.UniqueConstraint(fields=["ruleset", "key"], name="goalrule_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"

    def definition(self) -> dict[str, Any]:
        """The rule as JSON, the form the API and ``ruleset_parse`` take."""
        raw: dict[str, Any] = {
            "key": self.key,
            "name": self.name,
            "aggregation": self.aggregation,
            "unit": self.unit,
            "direction": self.direction,
            "indicator": self.indicator,
        }
        if self.aggregation == Aggregation.RATIO:
            return raw | {"numerator": self.numerator, "denominator": self.denominator}
        raw |= {
            "entity": self.entity,
            "mode": self.mode,
            "member_field": self.member_field,
            "conditions": self.conditions,
        }
        if self.date_field:  # none for a rule counted at each cycle's end
            raw["date_field"] = self.date_field
        if self.field:
            raw["field"] = self.field
        if self.currency:
            raw["currency"] = self.currency
        return raw
