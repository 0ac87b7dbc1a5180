from __future__ import annotations

import pytest

from rulesets.catalogue import Vocabulary
from rulesets.forms import currency_note
from rulesets.presets import PRESETS, preset_needs, preset_rules
from rulesets.reference import matches
from rulesets.spec import Aggregation, RulesetError, ruleset_parse

VOCAB = {Vocabulary.STAGES: {"Proposal", "Won"}, Vocabulary.ACTIVITY_TYPES: {"Call"}}


@pytest.mark.parametrize("slug", sorted(PRESETS))
def test_every_preset_is_a_valid_rule(slug):
    chosen = preset_rules(slug, stage="Proposal", types=["Call"], currency="EUR")
    rules = ruleset_parse(chosen, vocab=VOCAB)
    assert rules


def test_the_chosen_activity_types_are_required_and_checked():
    (rule,) = ruleset_parse(preset_rules("activities_completed", types=["Call"]), vocab=VOCAB)
    assert matches(rule, {"type": "Call", "status": "completed"})
    assert not matches(rule, {"type": "Call", "status": "planned"})
    assert not matches(rule, {"type": "Email", "status": "completed"})
    (added,) = ruleset_parse(preset_rules("activities_added", types=["Call"]), vocab=VOCAB)
    assert matches(added, {"type": "Call", "status": "planned"})
    with pytest.raises(RulesetError, match="non-empty list"):
        ruleset_parse(preset_rules("activities_added", types=[]), vocab=VOCAB)
    with pytest.raises(RulesetError, match="'Fax' is not an activity type"):
        ruleset_parse(preset_rules("activities_added", types=["Fax"]), vocab=VOCAB)


@pytest.mark.parametrize(("slug", "needs"), [("deals_advanced", "stage"),
    ("advanced_value", "stage"), ("activities_added", "types"), ("deals_added", "")])  # fmt: skip
def test_a_preset_says_what_it_asks_for(slug, needs):
    assert preset_needs(slug) == needs


def test_value_presets_count_their_currency_only():
    for slug in ("won_value", "advanced_value"):
        (rule,) = ruleset_parse(preset_rules(slug, stage="Won", currency="USD"), vocab=VOCAB)
        assert rule.currency == "USD"
        assert "Only amounts in USD are counted" in currency_note(rule)
    (count,) = ruleset_parse(preset_rules("deals_won"), vocab=VOCAB)
    assert currency_note(count) == ""


def test_the_conversion_preset_divides_two_counted_rules():
    *parts, ratio = ruleset_parse(preset_rules("conversion_rate"), vocab=VOCAB)
    assert ratio.aggregation is Aggregation.RATIO and ratio.unit == "percent"
    assert (ratio.numerator, ratio.denominator) == tuple(p.key for p in parts)


def test_deals_advanced_needs_a_real_stage():
    with pytest.raises(RulesetError, match="'Closed' is not a to stage"):
        ruleset_parse(preset_rules("deals_advanced", stage="Closed"), vocab=VOCAB)


def test_value_presets_take_the_currency():
    (rule,) = ruleset_parse(preset_rules("won_value", currency="EUR"), vocab=VOCAB)
    assert (rule.currency, rule.unit) == ("EUR", "currency")
    assert preset_rules("won_value") is not preset_rules("won_value")


@pytest.mark.parametrize(
    ("status", "outcome", "counted"),
    [
        ("completed", "held", True),
        ("completed", "", True),  # no outcome recorded: the demo was given
        ("completed", None, True),
        ("completed", "no show", False),
        ("completed", "No show", False),
        ("completed", "No-Show", False),
        ("completed", "NO SHOW", False),
        ("completed", "noshow", False),
        ("planned", "held", False),
        ("cancelled", "", False),
    ],
)
def test_demos_completed_counts_only_demos_that_were_given(status, outcome, counted):
    (rule,) = ruleset_parse(preset_rules("demos_completed"), vocab=VOCAB)
    record = {"category": "demo", "status": status, "outcome": outcome}
    assert matches(rule, record) is counted
    assert not matches(rule, record | {"category": "meeting"})


LEADING = {"meetings_booked", "dialled_calls", "connected_calls", "call_duration",
           "emails_sent", "demos_scheduled", "demos_completed", "follow_ups_done", "new_leads",
           "contacted_leads", "leads_not_contacted", "deals_advanced", "pipeline_stage",
           "open_pipeline", "deals_added", "advanced_value", "activities_added",
           "activities_completed", "follow_up_tasks", "tasks_on_time",
           "tasks_overdue"}  # fmt: skip
LAGGING = {"deals_won", "won_value", "total_sales", "average_deal", "conversion_rate",
           "leads_converted", "disqualified_leads"}  # fmt: skip


def test_every_preset_says_whether_it_leads_or_lags():
    assert set(PRESETS) == LEADING | LAGGING and not LEADING & LAGGING
    for slug in PRESETS:
        raws = preset_rules(slug, stage="Proposal", types=["Call"])
        assert all(raw["indicator"] in ("leading", "lagging") for raw in raws)
        *_parts, rule = ruleset_parse(raws, vocab=VOCAB)  # a ratio comes after its parts
        assert rule.indicator == ("leading" if slug in LEADING else "lagging")


def test_the_pipeline_presets_count_opportunities_at_each_cycle_end():
    (in_stage,) = ruleset_parse(preset_rules("pipeline_stage", stage="Proposal"), vocab=VOCAB)
    assert in_stage.snapshot and in_stage.aggregation is Aggregation.COUNT
    assert in_stage.date_field is None
    assert matches(in_stage, {"stage": "Proposal"}) and not matches(in_stage, {"stage": "Won"})
    (pipeline,) = ruleset_parse(preset_rules("open_pipeline", currency="EUR"), vocab=VOCAB)
    assert pipeline.snapshot and pipeline.aggregation is Aggregation.SUM
    assert (pipeline.field, pipeline.currency, pipeline.unit) == ("value", "EUR", "currency")
    assert matches(pipeline, {"status": "open", "currency": "EUR"})
    assert not matches(pipeline, {"status": "open", "currency": "USD"})
    assert not matches(pipeline, {"status": "won", "currency": "EUR"})
