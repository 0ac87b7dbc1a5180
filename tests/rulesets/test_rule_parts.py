"""rule_parts over the database: what it gives when there is nothing to ask for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django_scopes import scope

from rulesets.compiler import Granularity, rule_parts
from rulesets.presets import preset_rules
from rulesets.services import rules_parse
from tests.crm.conftest import Crm

pytestmark = pytest.mark.django_db


def test_a_rule_over_no_members_has_no_parts(crm: Crm) -> None:
    tenant = crm.tenant
    with scope(tenant=tenant):
        (calls,) = rules_parse(tenant=tenant, rules=preset_rules("dialled_calls"))
        parts = rule_parts(
            calls,
            tenant=tenant,
            start=datetime(2026, 1, 1, tzinfo=UTC),
            end=datetime(2026, 2, 1, tzinfo=UTC),
            member_ids=[],
            granularity=Granularity.MONTH,
        )
    assert parts == {}
