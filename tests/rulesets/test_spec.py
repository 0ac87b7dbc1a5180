from __future__ import annotations

import pytest

from rulesets.catalogue import Condition, Op
from rulesets.spec import Aggregation, AnyOf, RulesetError, Unit, ruleset_parse

REVENUE = [
    {
        "key": "won_value",
        "name": "Value of deals won",
        "entity": "opportunity",
        "aggregation": "sum",
        "field": "value",
        "date_field": "closed_at",
        "unit": "currency",
        "currency": "USD",
        "conditions": [{"field": "status", "op": "eq", "value": "won"}],
    },
    {
        "key": "won",
        "entity": "opportunity",
        "aggregation": "count",
        "date_field": "closed_at",
        "conditions": [{"field": "status", "op": "eq", "value": "won"}],
    },
    {
        "key": "closed",
        "entity": "opportunity",
        "aggregation": "count",
        "date_field": "closed_at",
        "conditions": [{"field": "status", "op": "in", "value": ["won", "lost"]}],
    },
    {
        "key": "win_rate",
        "aggregation": "ratio",
        "numerator": "won",
        "denominator": "closed",
        "unit": "percent",
    },
]


def problems(rules: list[dict]) -> list[str]:
    with pytest.raises(RulesetError) as exc:
        ruleset_parse(rules, default_currency="EUR")
    return [str(p) for p in exc.value.problems]


def test_it_parses_the_documented_example():
    won_value, won, closed, win_rate = ruleset_parse(REVENUE)
    assert won_value.aggregation is Aggregation.SUM and won_value.unit is Unit.CURRENCY
    assert won_value.conditions == (  # a value rule counts its own currency only
        Condition("status", Op.EQ, "won"),
        Condition("currency", Op.EQ, "USD"),
    )
    assert (won.member_field, won.date_field) == ("owner", "closed_at")
    assert closed.conditions[0].value == ("won", "lost")
    assert (win_rate.numerator, win_rate.denominator, win_rate.unit) == ("won", "closed", "percent")


def test_it_fills_sensible_defaults():
    (calls,) = ruleset_parse(
        [{"key": "talk", "entity": "activity", "aggregation": "sum", "field": "duration"}]
    )
    assert (calls.date_field, calls.member_field, calls.unit) == (
        "occurred_at",
        "owner",
        "duration",
    )
    (value,) = ruleset_parse(
        [{"key": "v", "entity": "opportunity", "aggregation": "average", "field": "value"}],
        default_currency="EUR",
    )
    assert (value.unit, value.currency) == ("currency", "EUR")


def test_it_reads_any_of_groups():
    (rule,) = ruleset_parse(
        [
            {
                "key": "touches",
                "entity": "activity",
                "conditions": [
                    {"field": "status", "op": "eq", "value": "completed"},
                    {
                        "any": [
                            {"field": "category", "op": "eq", "value": "call"},
                            {"field": "category", "op": "eq", "value": "meeting"},
                        ]
                    },
                ],
            }
        ]
    )
    assert isinstance(rule.conditions[1], AnyOf) and len(rule.conditions[1].conditions) == 2


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([{"key": "x", "entity": "deal"}], "rule x, entity: unknown entity 'deal'"),
        (
            [{"key": "x", "entity": "lead", "aggregation": "sum", "field": "salary"}],
            "rule x, field: 'salary' is not a numeric field of this entity",
        ),
        (
            [{"key": "x", "entity": "lead", "aggregation": "sum", "field": "status"}],
            "rule x, field: 'status' is not a numeric field of this entity",
        ),
        (
            [
                {
                    "key": "x",
                    "entity": "lead",
                    "conditions": [{"field": "status", "op": "gt", "value": 1}],
                }
            ],
            "rule x, conditions[0].op: Status does not allow gt",
        ),
        (
            [
                {
                    "key": "x",
                    "entity": "opportunity",
                    "conditions": [{"field": "value", "op": "eq", "value": "a"}],
                }
            ],
            "rule x, conditions[0].value: Value needs a number (use digits and a point: "
            "1250.50), not 'a'",
        ),
        (
            [
                {
                    "key": "x",
                    "entity": "lead",
                    "conditions": [{"field": "status", "op": "in", "value": []}],
                }
            ],
            "rule x, conditions[0].value: in needs a non-empty list of values",
        ),
        (
            [{"key": "x", "aggregation": "ratio", "numerator": "x", "denominator": "x"}],
            "rule x, numerator: a ratio cannot point at itself",
        ),
        (
            [{"key": "x", "aggregation": "ratio", "numerator": "won", "denominator": "closed"}],
            "rule x, numerator: no rule with the key 'won' in this ruleset",
        ),
        (
            [{"key": "a", "entity": "lead"}, {"key": "a", "entity": "lead"}],
            "rule a, key: the key 'a' is used twice",
        ),
        (
            [{"key": "Bad Key", "entity": "lead"}],
            "rule Bad Key, key: a key is lower_case letters, digits and _",
        ),
        (
            [{"key": "x", "entity": "lead", "aggregation": "median"}],
            "rule x, aggregation: unknown aggregation 'median'",
        ),
        (
            [{"key": "x", "entity": "lead", "date_field": "status"}],
            "rule x, date_field: 'status' is not a date field",
        ),
        (
            [{"key": "x", "entity": "lead", "unit": "bananas"}],
            "rule x, unit: unknown unit 'bananas'",
        ),
        (
            [{"key": "x", "entity": "lead", "indicator": "trailing"}],
            "rule x, indicator: indicator is 'leading' or 'lagging'",
        ),
        (
            [{"key": "x", "entity": "lead", "indicator": ["leading"]}],
            "rule x, indicator: indicator is 'leading' or 'lagging'",
        ),
        (
            [{"key": "x", "entity": "opportunity", "mode": "now"}],
            "rule x, mode: mode is 'in_cycle' or 'cycle_end'",
        ),
        (
            [{"key": "x", "entity": "activity", "mode": "cycle_end"}],
            "rule x, mode: only opportunities are counted as they stood at a cycle's end",
        ),
        (
            [
                {
                    "key": "x",
                    "entity": "opportunity",
                    "mode": "cycle_end",
                    "date_field": "created_at",
                }
            ],
            "rule x, date_field: a rule counted at each cycle's end takes no date field",
        ),
        (
            [
                {
                    "key": "x",
                    "entity": "opportunity",
                    "aggregation": "sum",
                    "field": "value",
                    "currency": "dollars",
                }
            ],
            "rule x, currency: 'dollars' is not a three-letter currency code",
        ),
    ],
)
def test_it_names_the_rule_and_field_of_every_problem(rules, expected):
    found = problems(rules)
    assert any(p.startswith(expected) for p in found), found


def test_it_reports_every_problem_at_once():
    found = problems(
        [
            {"key": "a", "entity": "deal"},
            {"key": "b", "entity": "lead", "aggregation": "median"},
            {"key": "r", "aggregation": "ratio", "numerator": "r", "denominator": "zz"},
        ]
    )
    assert len(found) == 4


def test_a_ratio_cannot_divide_ratios():
    found = problems(
        [
            {"key": "a", "entity": "lead"},
            {"key": "r", "aggregation": "ratio", "numerator": "a", "denominator": "a"},
            {"key": "rr", "aggregation": "ratio", "numerator": "r", "denominator": "a"},
        ]
    )
    assert found == ["rule rr, numerator: 'r' is a ratio; use a counted rule"]


@pytest.mark.parametrize(
    ("raw", "indicator"),
    [
        ({"entity": "activity"}, "leading"),
        ({"entity": "lead"}, "leading"),
        ({"entity": "lead", "date_field": "first_contacted_at"}, "leading"),
        ({"entity": "lead", "date_field": "converted_at"}, "lagging"),
        ({"entity": "lead", "date_field": "disqualified_at"}, "lagging"),
        ({"entity": "stage_change"}, "leading"),
        ({"entity": "opportunity"}, "lagging"),  # placed by closed_at: deals closed
        ({"entity": "opportunity", "date_field": "created_at"}, "leading"),
        ({"entity": "opportunity", "mode": "cycle_end"}, "leading"),  # the pipeline
        ({"entity": "activity", "indicator": "lagging"}, "lagging"),  # said: kept
        ({"entity": "opportunity", "indicator": "leading"}, "leading"),
    ],
)
def test_a_rule_leads_or_lags_as_it_says_or_by_what_it_counts(raw, indicator):
    (rule,) = ruleset_parse([{"key": "x"} | raw])
    assert rule.indicator == indicator


def test_a_ratio_lags_unless_it_says_otherwise():
    *_, ratio = ruleset_parse(REVENUE)
    assert ratio.indicator == "lagging"
    *_, ratio = ruleset_parse([*REVENUE[:3], REVENUE[3] | {"indicator": "leading"}])
    assert ratio.indicator == "leading"


def test_a_snapshot_rule_has_no_date_field_and_counts_opportunities():
    (rule,) = ruleset_parse([{"key": "x", "entity": "opportunity", "mode": "cycle_end"}])
    assert rule.snapshot and rule.date_field is None and rule.member_field == "owner"
    (flow,) = ruleset_parse([{"key": "x", "entity": "opportunity"}])
    assert not flow.snapshot and flow.mode == "in_cycle"
