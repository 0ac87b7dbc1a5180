"""The Pipedrive-style presets against Maven's CRM data, each checked against plain Python.

The deals arrive as a CRM would send them over time: every deal first in its stage of the
engage date ("Engaging", or "Prospecting" for a deal never engaged), then the closed ones again
as won or lost on their close date, so each deal has a stage history. Activities are made from
the same rows: a discovery call on each engage date, a demo meeting on each close date (held
for a won deal, cancelled for a lost one). A backfilled monthly goal of the company over 2017
measures every new preset; each agent's, manager's, office's and the company's number in every
month must equal what this test computes from the CSV.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django_scopes import scope

from achievements.models import Achievement
from achievements.services import goal_recompute
from crm.ingest import records_upsert
from crm.models import ActivityType
from goals.services import TargetInput
from rulesets.presets import preset_rules
from tests.achievements.test_maven_crm import (
    DATA,
    build_tenant,
    company_goal,
    email,
    read,
    tenant_zone,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"the Maven CRM data set is not at {DATA}"),
]

TYPES = ["Discovery call", "Demo meeting"]
# One deal won in euros, in a month the dollars are counted: "won value" must not add it in.
EURO_DEAL = {"external_id": "EUR-1", "name": "GTX Pro for a Paris account", "stage": "Won",
             "status": "won", "value": "99999", "currency": "EUR",
             "created_at": "2017-05-02", "closed_at": "2017-06-15"}  # fmt: skip
EURO_AGENT = "Darcel Schlecht"


def deliver(tenant) -> None:  # noqa: ANN001
    rows = read("sales_pipeline.csv")
    first = [
        {
            "external_id": row["opportunity_id"],
            "owner_email": email(row["sales_agent"]),
            "name": f"{row['product']} for {row['account'] or 'unknown account'}",
            "stage": "Engaging" if row["engage_date"] else "Prospecting",
            "value": row["close_value"] or "0",
            "currency": "USD",
            "created_at": row["engage_date"] or "2016-10-01",
        }
        for row in rows
    ]
    closed = [
        deal
        | {
            "stage": row["deal_stage"],
            "status": row["deal_stage"].lower(),
            "closed_at": row["close_date"],
            "stage_changed_at": row["close_date"],
        }
        for row, deal in zip(rows, first, strict=True)
        if row["deal_stage"] in ("Won", "Lost")
    ]
    activities = [
        {"external_id": f"call-{row['opportunity_id']}", "owner_email": email(row["sales_agent"]),
         "type": "Discovery call", "occurred_at": row["engage_date"], "status": "completed"}
        for row in rows if row["engage_date"]
    ] + [
        {"external_id": f"demo-{row['opportunity_id']}", "owner_email": email(row["sales_agent"]),
         "type": "Demo meeting", "occurred_at": row["close_date"],
         "status": "completed" if row["deal_stage"] == "Won" else "cancelled"}
        for row in rows if row["close_date"]
    ]  # fmt: skip
    for entity, records in (("opportunity", first), ("opportunity", closed),
                            ("activity", activities)):  # fmt: skip
        for start in range(0, len(records), 1000):
            records_upsert(tenant=tenant, entity=entity, records=records[start : start + 1000])
    euro = EURO_DEAL | {"owner_email": email(EURO_AGENT)}
    records_upsert(tenant=tenant, entity="opportunity", records=[euro])


Totals = dict[tuple[str, str], Decimal]


def totals(
    teams: list[dict[str, str]],
    day_of: Callable[[dict[str, str]], str],
    amount_of: Callable[[dict[str, str]], Decimal],
) -> Totals:
    """(person, "YYYY-MM") -> the sum of ``amount_of`` over the CSV's rows whose ``day_of`` is
    in that month, for the row's agent, their manager, their office and the company."""
    chain = {row["sales_agent"]: [row["sales_agent"], row["manager"], row["regional_office"],
                                  "CEO"] for row in teams}  # fmt: skip
    found: Totals = defaultdict(Decimal)
    for row in read("sales_pipeline.csv"):
        day = day_of(row)
        if not day:
            continue
        for person in chain[row["sales_agent"]]:
            found[(person, day[:7])] += amount_of(row)
    return found


def _value(row: dict[str, str]) -> Decimal:
    return Decimal(row["close_value"] or 0)


def _won(row: dict[str, str]) -> str:
    return row["close_date"] if row["deal_stage"] == "Won" else ""


def merged(*found: Totals) -> Totals:
    summed: Totals = defaultdict(Decimal)
    for part in found:
        for key, value in part.items():
            summed[key] += value
    return summed


def _plus_euro_deal(found: Totals, teams: list[dict[str, str]], day: str) -> Totals:
    """A count with the euro deal on its ``day``: counts take every currency."""
    chain = next(row for row in teams if row["sales_agent"] == EURO_AGENT)
    for person in (EURO_AGENT, chain["manager"], chain["regional_office"], "CEO"):
        found[(person, EURO_DEAL[day][:7])] += 1
    return found


def test_every_pipedrive_preset_matches_the_csv() -> None:
    tenant, root, people, teams = build_tenant(deliver=False)
    with scope(tenant=tenant):
        for name in TYPES:
            ActivityType.objects.create(tenant=tenant, name=name, category="meeting")
    deliver(tenant)
    rules = [
        *preset_rules("deals_added"),
        *preset_rules("deals_advanced", stage="Engaging"),
        *preset_rules("advanced_value", stage="Engaging", currency="USD"),
        *preset_rules("deals_won"),
        *preset_rules("won_value", currency="USD"),
        *preset_rules("activities_added", types=TYPES),
        *preset_rules("activities_completed", types=TYPES),
    ]
    targets = {rule["key"]: TargetInput(Decimal(100)) for rule in rules}
    goal = company_goal(root, rules, date(2017, 1, 1), **targets)
    assert goal_recompute(goal.pk).errors == []
    one = lambda row: Decimal(1)  # noqa: E731
    engaged = lambda row: row["engage_date"]  # noqa: E731
    closed = lambda row: row["close_date"]  # noqa: E731
    expected = {
        # Deals without an engage date were created on 2016-10-01: before the goal.
        "deals_added": _plus_euro_deal(totals(teams, engaged, one), teams, "created_at"),
        "deals_advanced": totals(teams, engaged, one),
        "advanced_value": totals(teams, engaged, _value),
        "deals_won": _plus_euro_deal(totals(teams, _won, one), teams, "closed_at"),
        "won_value": totals(teams, _won, _value),  # dollars only: the euro deal left out
        # A call on each engage date; a demo on each close date, held only for a deal won.
        "activities_added": merged(totals(teams, engaged, one), totals(teams, closed, one)),
        "activities_completed": merged(totals(teams, engaged, one), totals(teams, _won, one)),
    }
    names = {member.pk: member.name for member in people.values()} | {root.pk: "CEO"}
    with scope(tenant=tenant):
        rows = list(Achievement.objects.filter(goal=goal).select_related("rule"))
    assert len(rows) == 12 * len(rules) * (1 + 3 + 6 + 35)
    for row in rows:
        month = row.cycle_start.astimezone(tenant_zone(tenant)).strftime("%Y-%m")
        want = expected[row.rule.key].get((names[row.member_id], month), 0)
        assert row.team_value == want, (names[row.member_id], month, row.rule.key)
    june = {r.rule.key: r.team_value for r in rows if r.member_id == root.pk and r.cycle_index == 5}
    assert june["deals_advanced"] > 0 and june["activities_completed"] > 0  # real numbers
    # The euro deal is a deal won in June, but not a dollar of the value won.
    csv_june = totals(teams, _won, one)[("CEO", "2017-06")]
    assert june["deals_won"] == csv_june + 1
    assert june["won_value"] == totals(teams, _won, _value)[("CEO", "2017-06")]
