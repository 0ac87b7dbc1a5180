"""A sales organization with a ruleset, for goals.

Tenant A of the personas: the admin at the top; two managers (the personas' manager, "east",
and "west"); east has the personas' rep and a second rep, west has one rep (an SDR).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django_scopes import scopes_disabled

from goals.models import Goal, tenant_today
from goals.services import GoalDraft, TargetInput, goal_save
from hierarchy.models import Member
from rulesets.models import Ruleset
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save
from tests.conftest import Personas
from tests.crm.conftest import crm  # noqa: F401  (activity types and stages the rules name)
from tests.factories import MemberFactory


@dataclass
class Org:
    personas: Personas
    ruleset: Ruleset
    east: Member
    west: Member
    rep: Member
    rep2: Member
    sdr: Member

    @property
    def admin(self) -> Member:
        return self.personas.admin

    @property
    def today(self) -> date:
        return tenant_today(self.admin.tenant)

    def draft(self, **changes: Any) -> GoalDraft:
        """A monthly goal for east's team from today to the end of next month."""
        today = self.today
        end = (today.replace(day=1) + timedelta(days=62)).replace(day=1) - timedelta(days=1)
        fields: dict[str, Any] = {
            "name": "East calls",
            "ruleset": self.ruleset,
            "team": self.east,
            "cycle": "monthly",
            "start": today,
            "end": end,
            "targets": {"dialled_calls": TargetInput(Decimal(100))},
        }
        return GoalDraft(**(fields | changes))

    def goal(self, actor: Member | None = None, **changes: Any) -> Goal:
        return goal_save(draft=self.draft(**changes), actor=actor or self.east)


def refreshed(*members: Member) -> None:
    with scopes_disabled():
        for member in members:
            member.refresh_from_db()


@pytest.fixture
def org(crm) -> Org:  # noqa: F811
    personas = crm.personas
    tenant = personas.admin.tenant
    rules = (
        preset_rules("dialled_calls")
        + preset_rules("won_value", currency="USD")
        + preset_rules("conversion_rate")
    )
    ruleset = ruleset_save(tenant=tenant, name="Sales basics", rules=rules)
    east = personas.manager
    rep2 = MemberFactory(reports_to=east, name="Rita Rep")
    west = MemberFactory(reports_to=personas.admin, role=Member.Role.MANAGER, name="West")
    sdr = MemberFactory(reports_to=west, title="SDR", name="Sam SDR")
    refreshed(personas.admin, east, personas.rep, rep2, west, sdr)
    return Org(personas, ruleset, east, west, personas.rep, rep2, sdr)
