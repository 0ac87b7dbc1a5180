"""Breakdowns against real public data: Maven's CRM deals (8,800), each deal's account sector
(accounts.csv) and product as custom fields, or each deal naming its account, whose segment
is its size band. The won value by sector, by product and by the account's segment and the
average deal won by product must equal what plain Python computes from the CSV, and the bars
must add up to the company's stored number."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django_scopes import scope

from achievements.models import Achievement
from achievements.services import goal_recompute
from dashboards.breakdowns import rule_breakdown
from dashboards.records import Number, Rules, Window, number_window
from goals.services import GoalDraft, TargetInput, goal_save
from rulesets.services import ruleset_save
from tests.achievements.test_maven_crm import DATA, build_tenant, read, size_band

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"the Maven CRM data set is not at {DATA}"),
]

WON = [{"field": "status", "op": "eq", "value": "won"}]
RULES = [
    {"key": "won_value", "name": "Value of deals won", "entity": "opportunity",
     "aggregation": "sum", "field": "value", "currency": "USD", "conditions": WON},
    {"key": "deal_size", "name": "Average deal won", "entity": "opportunity",
     "aggregation": "average", "field": "value", "currency": "USD", "conditions": WON},
    {"key": "open_deals", "name": "Deals engaged, still open", "entity": "opportunity",
     "date_field": "created_at", "conditions": [{"field": "status", "op": "eq", "value": "open"}]},
]  # fmt: skip


def from_the_csv(by: str, stages: tuple[str, ...] = ("Won",)) -> dict[str | None, tuple]:
    """Deals in ``stages`` closed in 2017 (open ones: engaged in 2017) by the account's sector
    or size band (``segment``) or by product: (value, how many); a deal without an account
    has neither (None)."""
    accounts = {row["account"]: row for row in read("accounts.csv")}
    totals: dict[str | None, tuple[Decimal, int]] = defaultdict(lambda: (Decimal(0), 0))
    for row in read("sales_pipeline.csv"):
        day = row["close_date"] if row["deal_stage"] == "Won" else row["engage_date"]
        if row["deal_stage"] not in stages or not day.startswith("2017"):
            continue
        if by == "product":
            key = row["product"]
        elif (account := accounts.get(row["account"])) is None:
            key = None
        else:
            key = account["sector"] if by == "sector" else size_band(account["employees"])
        value, count = totals[key or None]
        totals[key or None] = (value + Decimal(row["close_value"] or 0), count + 1)
    return totals


def company_2017(tenant, root) -> tuple[dict, dict, Window]:  # noqa: ANN001
    """The company's 2017 goal of RULES, computed: its rules by key, the company's stored
    value of each, and the window of its won value."""
    ruleset = ruleset_save(tenant=tenant, name="Deals", rules=RULES)
    draft = GoalDraft(name="2017", ruleset=ruleset, team=root, cycle="yearly",
                      start=date(2017, 1, 1), end=date(2017, 12, 31), backfill=True,
                      targets={"won_value": TargetInput(Decimal(3_000_000))})  # fmt: skip
    goal = goal_save(draft=draft, actor=root)
    assert goal_recompute(goal.pk).errors == []
    with scope(tenant=tenant):
        rules = {rule.key: rule for rule in goal.ruleset.rules.all()}
        stored = {
            row.rule.key: row.team_value
            for row in Achievement.objects.filter(goal=goal, member=root).select_related("rule")
        }
        (cycle,) = goal.cycles()
        number = Number(goal, rules["won_value"], root, cycle, whole_team=True, side="numerator")
        return rules, stored, number_window(tenant, number)


def test_won_value_and_average_deal_by_sector_and_product_match_the_csv() -> None:
    tenant, root, _people, _teams = build_tenant(custom=True)
    rules, stored, window = company_2017(tenant, root)
    with scope(tenant=tenant):
        won_value = Rules.of(tenant, rules["won_value"])
        deal_size = Rules.of(tenant, rules["deal_size"])
        split = {
            (key, by): rule_breakdown(rule, window, f"custom.{by}", top=50)
            for key, rule in (("won_value", won_value), ("deal_size", deal_size))
            for by in ("sector", "product")
        }
        top_three = rule_breakdown(won_value, window, "custom.sector", top=3)
        open_deals = Rules.of(tenant, rules["open_deals"])
        open_by_sector = rule_breakdown(open_deals, window, "custom.sector", top=3)
    for by in ("sector", "product"):
        expected = from_the_csv(by)
        value_bars = {bar.bucket.value: bar.value for bar in split[("won_value", by)].bars}
        assert value_bars == {key: value for key, (value, _count) in expected.items()}, by
        average_bars = {bar.bucket.value: bar.value for bar in split[("deal_size", by)].bars}
        assert average_bars == {key: value / count for key, (value, count) in expected.items()}
        assert split[("won_value", by)].total.value == stored["won_value"]
        assert (
            split[("deal_size", by)].total.value.quantize(Decimal("0.0001"))
            == (stored["deal_size"])
        )
    sectors = from_the_csv("sector")
    assert "technolgy" in sectors and None not in sectors  # the data's spelling; all have one
    named = sorted((value for value, _count in sectors.values()), reverse=True)
    shown = [(bar.label, bar.value) for bar in top_three.bars]
    assert [value for _label, value in shown[:3]] == named[:3]
    assert shown[3:] == [("Other", sum(named[3:]))]
    assert sum(value for _label, value in shown) == stored["won_value"]
    # Open deals: many have no account, so no sector: their "(none)" bar.
    engaged = from_the_csv("sector", stages=("Engaging", "Prospecting"))
    counts = sorted((n for key, (_v, n) in engaged.items() if key is not None), reverse=True)
    bars = [(bar.label, bar.value) for bar in open_by_sector.bars]
    assert [value for _label, value in bars[:3]] == counts[:3]
    assert bars[3:] == [("(none)", engaged[None][1]), ("Other", sum(counts[3:]))]
    assert engaged[None][1] > 100
    assert open_by_sector.total.value == stored["open_deals"]


def test_won_value_by_the_accounts_segment_matches_the_csv() -> None:
    """Deals that name their account, each account in its size band: the won value and the
    open deals split by the account's segment; an open deal without an account is "(none)"."""
    tenant, root, _people, _teams = build_tenant(accounts=True)
    rules, stored, window = company_2017(tenant, root)
    with scope(tenant=tenant):
        won = rule_breakdown(Rules.of(tenant, rules["won_value"]), window, "account_segment")
        engaged = Rules.of(tenant, rules["open_deals"])
        still_open = rule_breakdown(engaged, window, "account_segment")
    expected = from_the_csv("segment")
    assert {bar.bucket.value: bar.value for bar in won.bars} == {
        key: value for key, (value, _count) in expected.items()
    }
    assert set(expected) == {"Small", "Mid-market", "Enterprise"}  # every won deal names one
    assert won.total.value == stored["won_value"]
    open_deals = from_the_csv("segment", stages=("Engaging", "Prospecting"))
    assert {bar.label: bar.value for bar in still_open.bars} == {
        key or "(none)": Decimal(count) for key, (_value, count) in open_deals.items()
    }
    assert open_deals[None][1] > 100
    assert still_open.total.value == stored["open_deals"]
