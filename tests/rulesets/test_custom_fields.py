"""Empty values and custom fields of every type, compiled on the database in use.

Each case is checked against the reference evaluator too, over the same records, so the two
implementations agree on what is empty and where a custom date places a record.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.models import CustomField, Lead
from rulesets.catalogue import FieldType, Op, fields_for
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

    return {key: p.value(rule.aggregation) for key, p in compiled.items()}, expected


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


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Pacific/Auckland"])
@pytest.mark.parametrize("granularity", list(Granularity))
def test_it_buckets_a_custom_date_at_every_granularity(crm, granularity, zone):
    crm.tenant.time_zone = zone
    crm.tenant.save()
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


# --- the differential test, widened to every field the catalogue offers on leads -------------

# Texts as CRM exports write them: empty, blank, mixed case, trailing spaces, non-ASCII.
TEXTS = ("", " ", "email", "Email", "EMAIL ", "café", "CAFÉ", "Straße", "日本", "naïve")
TIERS = ("Gold", "Silver", "Café")
EMAILS = ("", "ann@example.com", "ANN@example.com", "zoë@exämple.com")
WINDOW_DAYS = st.integers(min_value=-3, max_value=34).map(lambda d: date(2025, 3, 1) + timedelta(d))
moments = st.integers(min_value=-3 * 24 * 60, max_value=34 * 24 * 60).map(
    lambda minutes: (START + timedelta(minutes=minutes)).astimezone(UTC)
)
money = st.decimals(min_value=0, max_value=999, places=2)
lead_rows = st.fixed_dictionaries(
    {
        "owner": st.integers(0, 1),
        "status": st.sampled_from(("new", "contacted", "converted")),
        "source": st.sampled_from(TEXTS),
        "email": st.sampled_from(EMAILS),
        "created_at": moments,
        "converted_at": st.none() | moments,
        "notes": st.none() | st.sampled_from(TEXTS),
        "tier": st.none() | st.sampled_from(("", "gold", *TIERS)),
        "vip": st.none() | st.booleans(),
        "employees": st.none() | st.integers(-5, 50),
        "budget": st.none() | money,
        "renewal": st.none() | WINDOW_DAYS,
    }
)
DECLARED = (
    ("notes", "text", []),
    ("tier", "choice", list(TIERS)),
    ("vip", "boolean", []),
    ("employees", "number", []),
    ("budget", "money", []),
    ("renewal", "date", []),
)


def _values_for(spec) -> st.SearchStrategy:  # noqa: ANN001
    """Condition values of a field's type, as a rule in JSON gives them."""
    if spec.type in (FieldType.NUMBER, FieldType.MONEY, FieldType.DURATION):
        return st.integers(-5, 50).map(str) | money.map(str)
    if spec.type is FieldType.BOOLEAN:
        return st.booleans()
    if spec.type is FieldType.MEMBER:
        return st.integers(1, 10_000)
    if spec.type in (FieldType.DATE, FieldType.DATETIME):
        return WINDOW_DAYS.map(str)
    if spec.choices:
        return st.sampled_from(spec.choices)
    return st.sampled_from([text for text in (*TEXTS, *EMAILS) if text])


@st.composite
def lead_conditions(draw: st.DrawFn, specs: dict) -> dict:
    spec = draw(st.sampled_from([s for s in specs.values() if s.operators]))
    op = draw(st.sampled_from(sorted(spec.operators)))
    if op in (Op.IS_EMPTY, Op.IS_NOT_EMPTY):
        return {"field": spec.name, "op": op}
    if op in (Op.IN, Op.NOT_IN):
        values = draw(st.lists(_values_for(spec), min_size=1, max_size=3))
        return {"field": spec.name, "op": op, "value": values}
    if op is Op.BETWEEN:
        dated = spec.type in (FieldType.DATE, FieldType.DATETIME)
        pair = draw(st.lists(_values_for(spec), min_size=2, max_size=2))
        low, high = sorted(pair, key=str if dated else Decimal)
        return {"field": spec.name, "op": op, "value": [low, high]}
    return {"field": spec.name, "op": op, "value": draw(_values_for(spec))}


@st.composite
def lead_rules(draw: st.DrawFn, specs: dict) -> dict:
    countable = [n for n, s in specs.items() if s.type not in (FieldType.DATETIME,)]
    numeric = [n for n, s in specs.items() if s.summable]
    aggregation = draw(st.sampled_from(["count", "distinct_count", "sum", "average", "min", "max"]))
    rule: dict = {"key": "r", "entity": "lead", "aggregation": aggregation}
    if aggregation == "distinct_count":
        rule["field"] = draw(st.sampled_from([n for n in countable if n != "owner"]))
    elif aggregation != "count":
        rule["field"] = draw(st.sampled_from(numeric))
    rule["date_field"] = draw(st.sampled_from([n for n, s in specs.items() if s.places_in_cycle]))
    rule["conditions"] = draw(st.lists(lead_conditions(specs), max_size=2))
    if draw(st.booleans()):
        group = draw(st.lists(lead_conditions(specs), min_size=1, max_size=3))
        rule["conditions"].append({"any": group})
    return rule


def _reference_view(row: dict, owner: int) -> dict:
    """A generated row as the reference reads a record: catalogue names, typed values."""
    record = {
        "owner": owner,
        "first_contacted_at": None,
        "disqualified_at": None,
        **{name: row[name] for name in ("status", "source", "email", "created_at")},
        "converted_at": row["converted_at"],
    }
    for name, _kind, _choices in DECLARED:
        value = row[name]
        record[f"custom.{name}"] = (
            Decimal(value) if name == "employees" and value is not None else value
        )
    return record


@pytest.fixture
def declared(crm):
    """The CRM fixture's tenant with one lead field of every custom type (and two reps)."""
    with scope(tenant=crm.tenant):
        CustomField.objects.filter(entity="lead").delete()
        for name, kind, choices in DECLARED:
            CustomField.objects.create(
                tenant=crm.tenant, entity="lead", name=name, type=kind, choices=choices
            )
    return crm


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_the_compiled_query_agrees_with_the_reference_on_every_lead_field(declared, data):
    tenant = declared.tenant
    custom, vocab = tenant_vocabulary(tenant)
    specs = fields_for("lead", custom)
    raw_rule = data.draw(lead_rules(specs))
    (rule,) = rules_parse(tenant=tenant, rules=[raw_rule], custom=custom, vocab=vocab)
    granularity = data.draw(st.sampled_from(list(Granularity)))
    owners = [declared.personas.rep, declared.personas.manager]
    rows = data.draw(st.lists(lead_rows, max_size=20))
    records = []
    with scope(tenant=tenant):
        Lead.objects.all().delete()
        for n, row in enumerate(rows):
            attributes = {
                name: (str(row[name]) if name == "budget" else row[name])
                for name, _kind, _choices in DECLARED
                if row[name] is not None
            }
            if "renewal" in attributes:
                attributes["renewal"] = attributes["renewal"].isoformat()
            Lead.objects.create(
                tenant=tenant,
                external_id=str(n),
                owner=owners[row["owner"]],
                name="Lead",
                status=row["status"],
                source=row["source"],
                email=row["email"],
                created_at=row["created_at"],
                converted_at=row["converted_at"],
                attributes=attributes,
            )
            records.append(_reference_view(row, owners[row["owner"]].pk))
        compiled = rule_parts(
            rule,
            tenant=tenant,
            start=START,
            end=END,
            member_ids=[declared.personas.rep.pk],
            granularity=granularity,
            custom=custom,
        )
    expected = evaluate(
        rule,
        records,
        start=START,
        end=END,
        members={declared.personas.rep.pk},
        bucket=lambda when: _bucket_of(when.astimezone(ZONE).date(), granularity),
        zone=ZONE,
    )
    assert {k: p.value(rule.aggregation) for k, p in compiled.items()} == expected, raw_rule


def _bucket_of(day: date, granularity: Granularity) -> date:
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    return day


@pytest.mark.parametrize("field", ["source", "custom.notes"])
@pytest.mark.parametrize("wanted", ["CAFÉ", "é", "straße", "日本"])
def test_contains_ignores_case_beyond_ascii(crm, field, wanted):
    def row(value: str) -> dict:
        if field.startswith("custom."):
            return {"attributes": {field.removeprefix("custom."): value}}
        return {field: value}

    records = _leads(crm, row("Café Noir"), row("STRASSE"), row("Straße 1"), row("日本橋"), row(""))
    condition = {"field": field, "op": "contains", "value": wanted}
    compiled, expected = _both(crm, {"entity": "lead", "conditions": [condition]}, records)
    assert compiled == expected
    assert sum(compiled.values()) == 1
