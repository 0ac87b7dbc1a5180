"""Empty values and custom fields of every type, compiled on the database in use.

Each case is checked against the reference evaluator too, over the same records, so the two
implementations agree on what is empty and where a custom date places a record.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scope

from crm.models import Lead
from rulesets.compiler import Granularity, rule_parts
from rulesets.reference import evaluate
from rulesets.services import rules_parse, tenant_vocabulary

ZONE = ZoneInfo("Europe/Berlin")
START = datetime(2025, 3, 1, tzinfo=ZONE)
END = datetime(2025, 4, 1, tzinfo=ZONE)
# How the reference reads the stored custom values (JSON) of the CRM fixture's lead fields.
TYPED = {"renewal": date.fromisoformat, "budget": Decimal, "employees": Decimal}


def _leads(crm, *rows: dict) -> list[dict]:
    """Store leads of the rep (March 2025) and return them as the reference reads records."""
    rep = crm.personas.rep
    records = []
    with scope(tenant=crm.tenant):
        for n, row in enumerate(rows):
            attributes = row.get("attributes", {})
            lead = Lead.objects.create(
                tenant=crm.tenant,
                external_id=f"L-{n}",
                owner=rep,
                name="Lead",
                source=row.get("source", ""),
                email=row.get("email", ""),
                created_at=row.get("created_at", datetime(2025, 3, 10, 12, tzinfo=UTC)),
                attributes=attributes,
            )
            record = {
                "owner": rep.pk,
                "status": lead.status,
                "source": lead.source,
                "email": lead.email,
                "created_at": lead.created_at,
                "first_contacted_at": None,
                "converted_at": None,
                "disqualified_at": None,
            }
            for name, value in attributes.items():
                record[f"custom.{name}"] = TYPED.get(name, lambda v: v)(value)
            records.append(record)
    return records


def _both(crm, raw_rule: dict, records: list[dict]) -> tuple[dict, dict]:
    """(compiled, reference) values per (member, local day) of one rule over March 2025."""
    tenant = crm.tenant
    custom, vocab = tenant_vocabulary(tenant)
    (rule,) = rules_parse(tenant=tenant, rules=[{"key": "r"} | raw_rule], custom=custom)
    team = {crm.personas.rep.pk}
    with scope(tenant=tenant):
        compiled = rule_parts(
            rule,
            tenant=tenant,
            start=START,
            end=END,
            member_ids=team,
            granularity=Granularity.DAY,
            custom=custom,
        )
    expected = evaluate(
        rule,
        records,
        start=START,
        end=END,
        members=team,
        bucket=lambda when: when.astimezone(ZONE).date(),
        zone=ZONE,
    )

    def values(parts: dict) -> dict:
        return {key: p.value(rule.aggregation) for key, p in parts.items()}

    return values(compiled), values(expected)


@pytest.mark.parametrize("field", ["source", "email", "custom.notes"])
def test_it_does_not_count_the_empty_value_as_a_distinct_value(crm, field):
    def row(value: str) -> dict:
        if field.startswith("custom."):
            return {"attributes": {field.removeprefix("custom."): value}}
        return {field: value}

    records = _leads(crm, row("email"), row(""), row("email"), row("phone"))
    compiled, expected = _both(
        crm, {"entity": "lead", "aggregation": "distinct_count", "field": field}, records
    )
    assert compiled == expected == {(crm.personas.rep.pk, date(2025, 3, 10)): Decimal(2)}


@pytest.mark.parametrize(
    ("condition", "matched"),
    [
        ({"field": "custom.notes", "op": "eq", "value": "hot"}, 1),
        ({"field": "custom.notes", "op": "ne", "value": "hot"}, 3),
        ({"field": "custom.notes", "op": "in", "value": ["hot", "cold"]}, 2),
        ({"field": "custom.notes", "op": "not_in", "value": ["hot"]}, 3),
        ({"field": "custom.notes", "op": "is_empty"}, 2),
        ({"field": "custom.notes", "op": "is_not_empty"}, 2),
        ({"field": "custom.notes", "op": "contains", "value": "OL"}, 1),
        ({"field": "custom.tier", "op": "eq", "value": "Gold"}, 1),
        ({"field": "custom.tier", "op": "ne", "value": "Gold"}, 3),
        ({"field": "custom.tier", "op": "in", "value": ["Gold", "Silver"]}, 2),
        ({"field": "custom.tier", "op": "not_in", "value": ["Silver"]}, 3),
        ({"field": "custom.tier", "op": "is_empty"}, 2),
        ({"field": "custom.vip", "op": "eq", "value": True}, 1),
        ({"field": "custom.vip", "op": "ne", "value": True}, 3),
        ({"field": "custom.vip", "op": "is_empty"}, 2),
        ({"field": "custom.employees", "op": "gte", "value": 10}, 1),
        ({"field": "custom.employees", "op": "eq", "value": 5}, 1),
        ({"field": "custom.employees", "op": "is_not_empty"}, 2),
        ({"field": "custom.budget", "op": "between", "value": ["100", "200"]}, 1),
        ({"field": "custom.renewal", "op": "gte", "value": "2025-06-01"}, 1),
        ({"field": "custom.renewal", "op": "is_empty"}, 2),
    ],
)
def test_it_compiles_every_operator_of_every_custom_field_type(crm, condition, matched):
    records = _leads(
        crm,
        {
            "attributes": {
                "notes": "hot",
                "tier": "Gold",
                "vip": True,
                "employees": 5,
                "budget": "150.00",
                "renewal": "2025-05-01",
            }
        },
        {
            "attributes": {
                "notes": "cold",
                "tier": "Silver",
                "vip": False,
                "employees": 12,
                "budget": "900.00",
                "renewal": "2025-07-01",
            }
        },
        {"attributes": {"notes": "", "tier": ""}},
        {},
    )
    compiled, expected = _both(crm, {"entity": "lead", "conditions": [condition]}, records)
    assert compiled == expected
    assert sum(compiled.values()) == matched


def test_it_places_records_in_cycles_by_a_custom_date_in_the_tenant_time_zone(crm):
    records = _leads(
        crm,
        {"attributes": {"renewal": "2025-03-01"}},  # the first local day of the window
        {"attributes": {"renewal": "2025-03-31"}},  # the last
        {"attributes": {"renewal": "2025-04-01"}},  # the next window's
        {"attributes": {"renewal": "2025-02-28"}},
        {},
    )
    rule = {"entity": "lead", "date_field": "custom.renewal"}
    compiled, expected = _both(crm, rule, records)
    rep = crm.personas.rep.pk
    assert compiled == expected
    assert compiled == {(rep, date(2025, 3, 1)): 1, (rep, date(2025, 3, 31)): 1}


@pytest.mark.parametrize("granularity", list(Granularity))
def test_it_buckets_a_custom_date_at_every_granularity(crm, granularity):
    _leads(crm, {"attributes": {"renewal": "2025-03-12"}})
    custom, _ = tenant_vocabulary(crm.tenant)
    (rule,) = rules_parse(
        tenant=crm.tenant,
        rules=[{"key": "r", "entity": "lead", "date_field": "custom.renewal"}],
        custom=custom,
    )
    with scope(tenant=crm.tenant):
        parts = rule_parts(
            rule,
            tenant=crm.tenant,
            start=START,
            end=END,
            member_ids=[crm.personas.rep.pk],
            granularity=granularity,
            custom=custom,
        )
    expected_bucket = {
        Granularity.DAY: date(2025, 3, 12),
        Granularity.WEEK: date(2025, 3, 10),
        Granularity.MONTH: date(2025, 3, 1),
    }[granularity]
    assert {key: p.count for key, p in parts.items()} == {(crm.personas.rep.pk, expected_bucket): 1}
