from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rulesets.catalogue import (
    ENTITIES,
    Condition,
    ConditionError,
    CustomFieldDecl,
    FieldType,
    Op,
    Vocabulary,
    condition_parse,
    fields_for,
)

VOCAB = {Vocabulary.ACTIVITY_TYPES: {"Call", "Demo"}, Vocabulary.STAGES: {"Proposal", "Won"}}
CUSTOM = [
    CustomFieldDecl("opportunity", "region", "choice", ("EMEA", "AMER")),
    CustomFieldDecl("opportunity", "seats", "number"),
    CustomFieldDecl("lead", "score", "number"),
    CustomFieldDecl("opportunity", "Bad Name; DROP TABLE", "text"),
]


def parse(entity: str, raw: dict) -> Condition:
    return condition_parse(raw, fields_for(entity, CUSTOM), VOCAB)


@pytest.mark.parametrize(
    ("entity", "raw", "expected"),
    [
        (
            "opportunity",
            {"field": "status", "op": "eq", "value": "won"},
            Condition("status", Op.EQ, "won"),
        ),
        (
            "opportunity",
            {"field": "status", "op": "in", "value": ["won", "lost"]},
            Condition("status", Op.IN, ("won", "lost")),
        ),
        (
            "opportunity",
            {"field": "value", "op": "gte", "value": "1000.50"},
            Condition("value", Op.GTE, Decimal("1000.50")),
        ),
        (
            "activity",
            {"field": "type", "op": "eq", "value": "Call"},
            Condition("type", Op.EQ, "Call"),
        ),
        (
            "activity",
            {"field": "duration", "op": "between", "value": [60, 600]},
            Condition("duration", Op.BETWEEN, (Decimal(60), Decimal(600))),
        ),
        (
            "lead",
            {"field": "first_contacted_at", "op": "is_empty"},
            Condition("first_contacted_at", Op.IS_EMPTY),
        ),
        (
            "lead",
            {"field": "source", "op": "contains", "value": "web"},
            Condition("source", Op.CONTAINS, "web"),
        ),
        (
            "lead",
            {"field": "created_at", "op": "lt", "value": "2027-01-01T00:00:00"},
            Condition("created_at", Op.LT, datetime(2027, 1, 1, tzinfo=UTC)),
        ),
        (
            "opportunity",
            {"field": "custom.region", "op": "eq", "value": "EMEA"},
            Condition("custom.region", Op.EQ, "EMEA"),
        ),
        (
            "stage_change",
            {"field": "to_stage", "op": "eq", "value": "Won"},
            Condition("to_stage", Op.EQ, "Won"),
        ),
    ],
)
def test_it_accepts_and_types_valid_conditions(entity, raw, expected):
    assert parse(entity, raw) == expected


@pytest.mark.parametrize(
    ("entity", "raw", "field", "message"),
    [
        ("lead", {"field": "salary", "op": "eq", "value": 1}, "field", "unknown field 'salary'"),
        ("lead", {"field": "status", "op": "like", "value": "x"}, "op", "unknown operator 'like'"),
        ("lead", {"field": "status", "op": "gt", "value": "new"}, "op", "Status does not allow gt"),
        ("lead", {"field": "status", "op": "eq", "value": "won"}, "value", "'won' is not a status"),
        (
            "lead",
            {"field": "status", "op": "in", "value": []},
            "value",
            "in needs a non-empty list",
        ),
        (
            "lead",
            {"field": "created_at", "op": "is_empty"},
            "op",
            "Created does not allow is_empty",
        ),
        (
            "lead",
            {"field": "created_at", "op": "lt", "value": "yesterday"},
            "value",
            "needs an ISO date",
        ),
        (
            "opportunity",
            {"field": "value", "op": "gt", "value": "lots"},
            "value",
            "Value needs a number",
        ),
        (
            "opportunity",
            {"field": "value", "op": "gt", "value": True},
            "value",
            "Value needs a number",
        ),
        ("opportunity", {"field": "value", "op": "gt", "value": "NaN"}, "value", "needs a number"),
        (
            "opportunity",
            {"field": "value", "op": "between", "value": [5, 1]},
            "value",
            "low <= high",
        ),
        ("opportunity", {"field": "value", "op": "between", "value": 5}, "value", "list of two"),
        (
            "activity",
            {"field": "type", "op": "eq", "value": "Carrier pigeon"},
            "value",
            "use one of Call, Demo",
        ),
        (
            "opportunity",
            {"field": "custom.region", "op": "eq", "value": "Mars"},
            "value",
            "use one of AMER, EMEA",
        ),
        ("lead", {"field": "custom.region", "op": "eq", "value": "EMEA"}, "field", "unknown field"),
    ],
)
def test_it_refuses_bad_conditions_naming_the_part(entity, raw, field, message):
    with pytest.raises(ConditionError) as exc:
        parse(entity, raw)
    assert exc.value.field == field
    assert message in exc.value.message


def test_it_never_lets_a_declared_name_become_a_column():
    names = set(fields_for("opportunity", CUSTOM))
    assert "custom.region" in names and "custom.seats" in names
    assert not any("DROP" in name for name in names)
    assert all(
        spec.path.replace("__", "").replace("_", "").isalnum()
        for entity in ENTITIES
        for spec in fields_for(entity, CUSTOM).values()
    )


def test_it_says_which_fields_can_be_summed():
    summable = {name for name, spec in fields_for("opportunity", CUSTOM).items() if spec.summable}
    assert summable == {"value", "custom.seats"}
    assert {n for n, s in fields_for("activity").items() if s.summable} == {"duration"}


def test_every_entity_has_a_date_and_a_member_field():
    for entity in ENTITIES:
        specs = fields_for(entity).values()
        assert any(s.places_in_cycle for s in specs)
        assert any(s.credits_member and s.type is FieldType.MEMBER for s in specs)
