"""A CRM set-up for tenant A of the personas, and a little of the same for tenant B."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django_scopes import scope

from crm.models import ActivityType, CustomField, PipelineStage
from hierarchy.models import Tenant
from tests.conftest import Personas


@dataclass
class Crm:
    """Tenant A (Europe/Berlin, USD) with activity types, a pipeline and custom fields."""

    personas: Personas
    tenant: Tenant
    stages: dict[str, PipelineStage]

    @property
    def rep_email(self) -> str:
        return self.personas.rep.email

    def lead(self, **fields: Any) -> dict[str, Any]:
        return {
            "external_id": "L-1",
            "owner_email": self.rep_email,
            "name": "Ada Lovelace",
        } | fields

    def activity(self, **fields: Any) -> dict[str, Any]:
        base = {"external_id": "A-1", "owner_email": self.rep_email, "type": "Call"}
        return base | {"occurred_at": "2025-03-03T10:00:00"} | fields

    def opportunity(self, **fields: Any) -> dict[str, Any]:
        base = {"external_id": "O-1", "owner_email": self.rep_email, "name": "Big deal"}
        return base | {"stage": "Prospect", "value": "1000"} | fields


@pytest.fixture
def crm(personas: Personas) -> Crm:
    tenant = personas.admin.tenant
    with scope(tenant=tenant):
        for name, category in (("Call", "call"), ("Email", "email"), ("Demo", "demo")):
            ActivityType.objects.create(tenant=tenant, name=name, category=category)
        stages = {
            name: PipelineStage.objects.create(tenant=tenant, name=name, position=position)
            for position, name in enumerate(("Prospect", "Proposal", "Negotiation"))
        }
        for entity, name, kind, choices in (
            ("lead", "budget", "money", []),
            ("lead", "employees", "number", []),
            ("lead", "vip", "boolean", []),
            ("lead", "renewal", "date", []),
            ("lead", "tier", "choice", ["Gold", "Silver"]),
            ("lead", "notes", "text", []),
            ("activity", "campaign", "text", []),
        ):
            CustomField.objects.create(
                tenant=tenant, entity=entity, name=name, type=kind, choices=choices
            )
    # Tenant B has names of its own that tenant A must never resolve, and a Call too.
    other = personas.outsider.tenant
    with scope(tenant=other):
        for name in ("Call", "Carrier pigeon"):
            ActivityType.objects.create(tenant=other, name=name, category="other")
        PipelineStage.objects.create(tenant=other, name="Closing", position=0)
    return Crm(personas=personas, tenant=tenant, stages=stages)
