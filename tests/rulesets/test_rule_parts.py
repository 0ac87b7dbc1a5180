"""rule_parts over the database: nothing asked for, and numbers read back exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django_scopes import scope

from crm.ingest import records_upsert
from hierarchy.models import Member
from rulesets.compiler import Granularity, rule_parts
from rulesets.presets import preset_rules
from rulesets.services import rules_parse
from tests.conftest import Crm

pytestmark = pytest.mark.django_db

JANUARY = {"start": datetime(2026, 1, 1, tzinfo=UTC), "end": datetime(2026, 2, 1, tzinfo=UTC)}


def test_a_rule_over_no_members_has_no_parts(crm: Crm) -> None:
    tenant = crm.tenant
    with scope(tenant=tenant):
        (calls,) = rules_parse(tenant=tenant, rules=preset_rules("dialled_calls"))
        parts = rule_parts(
            calls,
            tenant=tenant,
            member_ids=[],
            granularity=Granularity.MONTH,
            **JANUARY,
        )
    assert parts == {}


def test_money_sums_exactly_on_every_database(crm: Crm) -> None:
    """SQLite adds money as floats (0.01 + 0.17 = 0.18000000000000002): read back exactly."""
    tenant = crm.tenant
    deals = [
        {"external_id": f"O{n}", "owner_email": crm.rep_email, "name": f"Deal {n}",
         "stage": "Prospect", "status": "won", "value": value, "currency": "USD",
         "closed_at": "2026-01-10T10:00"}
        for n, value in enumerate(("0.01", "0.17"))
    ]  # fmt: skip
    records_upsert(tenant=tenant, entity="opportunity", records=deals)
    with scope(tenant=tenant):
        (won,) = rules_parse(tenant=tenant, rules=preset_rules("won_value", currency="USD"))
        rep = Member.objects.get(user__email=crm.rep_email)
        parts = rule_parts(
            won, tenant=tenant, member_ids=[rep.pk], granularity=Granularity.MONTH, **JANUARY
        )
    assert [p.value(won.aggregation) for p in parts.values()] == [Decimal("0.18")]
