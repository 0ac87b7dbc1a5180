"""The engine against real public data: Maven's CRM sales opportunities (8,800 deals).

The organization is the data set's own: regional office -> manager -> sales agent. A backfilled
monthly goal over March-December 2017 measures the value of deals won, deals won and the win
rate (won / won-or-lost). Every agent's, manager's and office's number in every month must equal
what this test computes straight from the CSV in plain Python.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django_scopes import scope

from achievements.models import Achievement
from achievements.services import goal_recompute
from crm.ingest import records_upsert
from crm.models import CustomField, PipelineStage
from goals.services import GoalDraft, TargetInput, goal_save
from hierarchy.models import Member
from hierarchy.services import member_create, member_move, tenant_create
from rulesets.services import ruleset_save

DATA = Path(settings.BASE_DIR).parent / "shared" / "datasets" / "maven-crm"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"the Maven CRM data set is not at {DATA}"),
]

RULES = [
    {"key": "won_value", "name": "Value of deals won", "entity": "opportunity",
     "aggregation": "sum", "field": "value", "currency": "USD", "date_field": "closed_at",
     "conditions": [{"field": "status", "op": "eq", "value": "won"}]},
    {"key": "won", "name": "Deals won", "entity": "opportunity", "date_field": "closed_at",
     "conditions": [{"field": "status", "op": "eq", "value": "won"}]},
    {"key": "closed", "name": "Deals closed", "entity": "opportunity", "date_field": "closed_at",
     "conditions": [{"field": "status", "op": "in", "value": ["won", "lost"]}]},
    {"key": "win_rate", "name": "Win rate", "aggregation": "ratio", "numerator": "won",
     "denominator": "closed", "unit": "percent"},
]  # fmt: skip
CUSTOM = (("product", "text"), ("account", "text"), ("sector", "text"), ("engaged_on", "date"))
STATUS = {"Won": "won", "Lost": "lost", "Engaging": "open", "Prospecting": "open"}


def email(name: str) -> str:
    return re.sub(r"[^a-z]+", ".", name.lower()).strip(".") + "@maventech.example"


def read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def size_band(employees: str) -> str:
    """An account's segment by its size: under 1,000 employees, under 5,000, or more."""
    count = int(employees)
    return "Small" if count < 1000 else "Mid-market" if count < 5000 else "Enterprise"


def build_tenant(  # noqa: ANN201
    *, custom: bool = False, history: bool = False, deliver: bool = True, accounts: bool = False
):
    """The data set's tenant; ``custom``: its deals also carry product, account, the account's
    sector and the engage date as custom fields (blank cells left out, as imports do);
    ``accounts``: the data set's accounts are imported, each in the segment of its size
    (``size_band``), and every deal names its account (many open ones have none);
    ``history``: each deal is written as it moved (``stage_history``), which gives it its
    stage changes, instead of at once in its last stage; ``deliver=False``: the organization
    and its stages only, no deals."""
    root = tenant_create(
        name="MavenTech",
        slug="maventech",
        time_zone="America/New_York",
        admin_email="ceo@maventech.example",
        admin_name="CEO",
        admin_password="correct-horse-battery",
    )
    tenant = root.tenant
    teams = read("sales_teams.csv")
    people: dict[str, Member] = {}
    for office in sorted({row["regional_office"] for row in teams}):
        people[office] = member_create(tenant=tenant, email=email(office), name=office,
                                       role=Member.Role.MANAGER, reports_to=root)  # fmt: skip
    for row in teams:
        if row["manager"] not in people:
            people[row["manager"]] = member_create(
                tenant=tenant, email=email(row["manager"]), name=row["manager"],
                role=Member.Role.MANAGER, reports_to=people[row["regional_office"]],
            )  # fmt: skip
        people[row["sales_agent"]] = member_create(
            tenant=tenant, email=email(row["sales_agent"]), name=row["sales_agent"],
            reports_to=people[row["manager"]],
        )  # fmt: skip
    with scope(tenant=tenant):
        for position, stage in enumerate(("Prospecting", "Engaging", "Won", "Lost")):
            PipelineStage.objects.create(
                tenant=tenant, name=stage, position=position, outcome=STATUS[stage]
            )
        for name, kind in CUSTOM if custom else ():
            CustomField.objects.create(tenant=tenant, entity="opportunity", name=name, type=kind)
    if not deliver:
        return tenant, root, people, teams
    sectors = {row["account"]: row["sector"] for row in read("accounts.csv")}
    if accounts:
        companies = [
            {"external_id": row["account"], "name": row["account"],
             "segment": size_band(row["employees"])}
            for row in read("accounts.csv")
        ]  # fmt: skip
        records_upsert(tenant=tenant, entity="account", records=companies)
    deals = [
        {
            "external_id": row["opportunity_id"],
            "owner_email": email(row["sales_agent"]),
            "name": f"{row['product']} for {row['account'] or 'unknown account'}",
            "stage": row["deal_stage"],
            "status": STATUS[row["deal_stage"]],
            "value": row["close_value"] or "0",
            "currency": "USD",
            "created_at": row["engage_date"] or "2016-10-01",
            "closed_at": row["close_date"] or None,
        }
        | ({"account_external_id": row["account"] or None} if accounts else {})
        | (
            {
                "attributes": {
                    "product": row["product"],
                    "account": row["account"],
                    "sector": sectors.get(row["account"], ""),
                    "engaged_on": row["engage_date"],
                }
            }
            if custom
            else {}
        )
        for row in read("sales_pipeline.csv")
    ]
    for written in stage_history(deals) if history else [deals]:
        for start in range(0, len(written), 1000):
            batch = written[start : start + 1000]
            records_upsert(tenant=tenant, entity="opportunity", records=batch)
    return tenant, root, people, teams


def prospected_on(row: dict[str, str]) -> str:
    """The generated day a deal entered Prospecting (the data set does not say): 1 to 20 days
    before it was engaged, or for one never engaged a day of 2017 taken from its id."""
    number = int(row["opportunity_id"], 36)
    if row["engage_date"]:
        return str(date.fromisoformat(row["engage_date"]) - timedelta(days=number % 20 + 1))
    return str(date(2017, 1, 1) + timedelta(days=number % 360))


def stage_history(deals: list[dict]) -> list[list[dict]]:
    """The deals as three imports, at noon in the tenant's time zone: every deal entering
    Prospecting (its creation), those engaged entering Engaging on their engage date, and those
    closed entering Won or Lost on their close date."""
    rows = {row["opportunity_id"]: row for row in read("sales_pipeline.csv")}
    prospects, engaged, closed = [], [], []
    for deal in deals:
        row = rows[deal["external_id"]]
        begun = f"{prospected_on(row)}T12:00:00"
        base = deal | {"created_at": begun, "closed_at": None, "status": "open"}
        prospects.append(base | {"stage": "Prospecting", "stage_changed_at": begun})
        if row["engage_date"]:
            moved = f"{row['engage_date']}T12:00:00"
            engaged.append(base | {"stage": "Engaging", "stage_changed_at": moved})
        if row["close_date"]:
            moved = f"{row['close_date']}T12:00:00"
            closed.append(deal | {"created_at": begun, "stage_changed_at": moved})
    return [prospects, engaged, closed]


def company_goal(root: Member, rules: list[dict], start: date, **targets: TargetInput):  # noqa: ANN201
    """A backfilled monthly goal of the whole company from ``start`` to the end of 2017."""
    ruleset = ruleset_save(tenant=root.tenant, name=f"Rules from {start}", rules=rules)
    draft = GoalDraft(
        name=f"2017 from {start}",
        ruleset=ruleset,
        team=root,
        cycle="monthly",
        start=start,
        end=date(2017, 12, 31),
        backfill=True,
        targets=targets,
    )
    return goal_save(draft=draft, actor=root)


# (agent, new manager, the day from which the agent reports to them)
Move = tuple[str, str, str]


def expected(
    teams: list[dict[str, str]], move: Move | None = None
) -> dict[tuple[str, str], dict[str, Decimal]]:
    """(person, "YYYY-MM") -> won value, won, closed: straight from the CSV, each deal counted
    for its agent, their manager, their office and the company; after ``move``'s day, the
    moved agent's deals for their new manager and office."""
    chain = {row["sales_agent"]: [row["sales_agent"], row["manager"], row["regional_office"],
                                  "CEO"] for row in teams}  # fmt: skip
    office = {row["manager"]: row["regional_office"] for row in teams}
    totals: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(
        lambda: {"won_value": Decimal(0), "won": Decimal(0), "closed": Decimal(0)}
    )
    for row in read("sales_pipeline.csv"):
        if row["deal_stage"] not in ("Won", "Lost"):
            continue
        month = row["close_date"][:7]
        people = chain[row["sales_agent"]]
        if move and row["sales_agent"] == move[0] and row["close_date"] >= move[2]:
            people = [move[0], move[1], office[move[1]], "CEO"]
        for person in people:
            cell = totals[(person, month)]
            cell["closed"] += 1
            if row["deal_stage"] == "Won":
                cell["won"] += 1
                cell["won_value"] += Decimal(row["close_value"])
    return totals


TARGETS = {
    "won_value": TargetInput(Decimal("600000")),
    "won": TargetInput(Decimal(450)),
    "win_rate": TargetInput(Decimal(60)),
}


def test_every_agent_manager_and_office_matches_the_csv() -> None:
    tenant, root, people, teams = build_tenant()
    goal = company_goal(root, RULES, date(2017, 3, 1), **TARGETS)
    result = goal_recompute(goal.pk)
    assert result.cycles == 10
    rows = assert_rows_match(tenant, goal, root, people, expected(teams))
    # The company's year, from the rows, equals the CSV's: 4,238 deals won.
    company_won = sum(r.team_value for r in rows if r.member_id == root.pk and r.rule.key == "won")
    assert company_won == 4238


def assert_rows_match(tenant, goal, root, people, totals) -> list[Achievement]:  # noqa: ANN001
    """Every stored row of ``goal`` has the team value of its person and month in ``totals``,
    zeros too; the rows, read back."""
    names = {member.pk: member.name for member in people.values()} | {root.pk: "CEO"}
    with scope(tenant=tenant):
        rows = list(Achievement.objects.filter(goal=goal).select_related("rule"))
    # months x rules x everyone, zeros too; "closed", a part of the win rate without a target
    # of its own, is on the win rate's rows (its denominator), not on rows of its own
    assert len(rows) == 10 * 3 * (1 + 3 + 6 + 35)
    assert {r.rule.key for r in rows} == {"won_value", "won", "win_rate"}
    checked = 0
    for row in rows:
        month = row.cycle_start.astimezone(tenant_zone(tenant)).strftime("%Y-%m")
        cell = totals.get((names[row.member_id], month))
        if row.rule.key == "win_rate":
            if cell is None or not cell["closed"]:
                assert row.team_value is None
            else:
                rate = cell["won"] * 100 / cell["closed"]
                assert row.team_value == rate.quantize(Decimal("0.0001")), (
                    names[row.member_id],
                    month,
                )
                assert (row.team_numerator, row.team_denominator) == (cell["won"], cell["closed"])
        else:
            assert row.team_value == (cell[row.rule.key] if cell else 0), (
                names[row.member_id],
                month,
                row.rule.key,
            )
        checked += 1
    assert checked == len(rows)
    return rows


def test_an_agent_who_moves_in_july_counts_for_each_manager_by_the_dates() -> None:
    """Anna Snelling moves from Dustin Brinkmann (Central) to Celia Rouche (West) as July 16
    begins, New York time: her deals closed until July 15 stay with Dustin and Central, those
    from July 16 on go to Celia and West, July itself split between them; the months before
    and the company's numbers are as if nobody had moved."""
    tenant, root, people, teams = build_tenant()
    agent, new_manager, day = "Anna Snelling", "Celia Rouche", "2017-07-16"
    assert {row["manager"] for row in teams if row["sales_agent"] == agent} == {"Dustin Brinkmann"}
    moment = datetime(2017, 7, 16, tzinfo=tenant_zone(tenant))
    with time_machine.travel(moment, tick=False):
        member_move(member=people[agent], reports_to=people[new_manager])
    goal = company_goal(root, RULES, date(2017, 3, 1), **TARGETS)
    goal_recompute(goal.pk)
    totals = expected(teams, (agent, new_manager, day))
    assert_rows_match(tenant, goal, root, people, totals)
    unmoved = expected(teams)
    for person in ("Celia Rouche", "West", "Dustin Brinkmann", "Central"):
        assert totals[(person, "2017-07")] != unmoved[(person, "2017-07")], person
        assert totals[(person, "2017-06")] == unmoved[(person, "2017-06")], person
    assert totals[("CEO", "2017-07")] == unmoved[("CEO", "2017-07")]


def tenant_zone(tenant):  # noqa: ANN001, ANN201
    from zoneinfo import ZoneInfo

    return ZoneInfo(tenant.time_zone)


CUSTOM_RULES = [
    {"key": "accounts_won", "name": "Accounts won", "entity": "opportunity",
     "aggregation": "distinct_count", "field": "custom.account", "date_field": "closed_at",
     "conditions": [{"field": "status", "op": "eq", "value": "won"}]},
    {"key": "deal_size", "name": "Average deal won", "entity": "opportunity",
     "aggregation": "average", "field": "value", "currency": "USD", "date_field": "closed_at",
     "conditions": [{"field": "status", "op": "eq", "value": "won"}]},
    {"key": "tech_won", "name": "Deals won in tech", "entity": "opportunity",
     "date_field": "closed_at", "conditions": [
         {"field": "status", "op": "eq", "value": "won"},
         {"field": "custom.sector", "op": "in", "value": ["technolgy", "software"]}]},
    {"key": "engaged", "name": "Deals engaged", "entity": "opportunity",
     "date_field": "custom.engaged_on"},
]  # fmt: skip


def expected_custom(teams: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, object]]:
    """(person, "YYYY-MM") -> the custom rules' parts straight from the CSV: accounts won (a
    set; a deal without an account names none), won value and count, tech deals won, deals
    engaged (by the engage date's month)."""
    chain = {row["sales_agent"]: [row["sales_agent"], row["manager"], row["regional_office"],
                                  "CEO"] for row in teams}  # fmt: skip
    sectors = {row["account"]: row["sector"] for row in read("accounts.csv")}
    totals: dict[tuple[str, str], dict[str, object]] = defaultdict(
        lambda: {"accounts": set(), "won_value": Decimal(0), "won": 0, "tech": 0, "engaged": 0}
    )
    for row in read("sales_pipeline.csv"):
        for person in chain[row["sales_agent"]]:
            if row["engage_date"]:
                totals[(person, row["engage_date"][:7])]["engaged"] += 1
            if row["deal_stage"] != "Won":
                continue
            cell = totals[(person, row["close_date"][:7])]
            if row["account"]:
                cell["accounts"].add(row["account"])
            cell["won"] += 1
            cell["won_value"] += Decimal(row["close_value"])
            cell["tech"] += sectors.get(row["account"]) in ("technolgy", "software")
    return totals


def test_distinct_counts_averages_custom_texts_and_custom_dates_match_the_csv() -> None:
    tenant, root, people, teams = build_tenant(custom=True)
    # Only the accounts won have a target: the other rules are tracked metrics.
    goal = company_goal(root, CUSTOM_RULES, date(2017, 1, 1), accounts_won=TargetInput(80))
    assert goal_recompute(goal.pk).errors == []
    names = {member.pk: member.name for member in people.values()} | {root.pk: "CEO"}
    totals = expected_custom(teams)
    with scope(tenant=tenant):
        rows = list(Achievement.objects.filter(goal=goal).select_related("rule"))
    assert len(rows) == 12 * 4 * (1 + 3 + 6 + 35)
    for row in rows:
        month = row.cycle_start.astimezone(tenant_zone(tenant)).strftime("%Y-%m")
        cell = totals.get((names[row.member_id], month))
        won = cell["won"] if cell else 0
        want = {
            "accounts_won": Decimal(len(cell["accounts"])) if cell else 0,
            "deal_size": (cell["won_value"] / won).quantize(Decimal("0.0001")) if won else None,
            "tech_won": cell["tech"] if cell else 0,
            "engaged": cell["engaged"] if cell else 0,
        }[row.rule.key]
        assert row.team_value == want, (names[row.member_id], month, row.rule.key)
    company = {
        r.rule.key: r.team_value for r in rows if r.member_id == root.pk and r.cycle_index == 5
    }
    assert company["engaged"] > 0 and company["accounts_won"] > 0  # June 2017: real numbers


SNAPSHOT_RULES = [
    {"key": f"in_{stage.lower()}", "name": f"In {stage}", "entity": "opportunity",
     "mode": "cycle_end", "conditions": [{"field": "stage", "op": "eq", "value": stage}]}
    for stage in ("Prospecting", "Engaging", "Won", "Lost")
] + [
    {"key": "open", "name": "Open deals", "entity": "opportunity", "mode": "cycle_end",
     "conditions": [{"field": "status", "op": "eq", "value": "open"}]},
    {"key": "won_to_date", "name": "Won to date", "entity": "opportunity", "mode": "cycle_end",
     "aggregation": "sum", "field": "value", "currency": "USD",
     "conditions": [{"field": "status", "op": "eq", "value": "won"}]},
]  # fmt: skip


def expected_in_stages(teams: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, Decimal]]:
    """(person, "YYYY-MM") -> deals in each stage, open deals and the value of deals won, at
    the end of each month of 2017, straight from the CSV's dates: on a month's last day a deal
    is in its last stage if it closed by then, else Engaging if engaged by then, else
    Prospecting if prospected by then (``prospected_on``), else it does not exist yet."""
    chain = {row["sales_agent"]: [row["sales_agent"], row["manager"], row["regional_office"],
                                  "CEO"] for row in teams}  # fmt: skip
    totals: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for month in range(1, 13):
        last = (date(2017, month, 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        for row in read("sales_pipeline.csv"):
            if row["close_date"] and date.fromisoformat(row["close_date"]) <= last:
                stage = row["deal_stage"]
            elif row["engage_date"] and date.fromisoformat(row["engage_date"]) <= last:
                stage = "Engaging"
            elif date.fromisoformat(prospected_on(row)) <= last:
                stage = "Prospecting"
            else:
                continue
            for person in chain[row["sales_agent"]]:
                cell = totals[(person, f"2017-{month:02d}")]
                cell[f"in_{stage.lower()}"] += 1
                cell["open"] += stage in ("Prospecting", "Engaging")
                if stage == "Won":
                    cell["won_to_date"] += Decimal(row["close_value"])
    return totals


def test_deals_in_each_stage_at_each_month_end_match_the_csv() -> None:
    """From a stage history generated for every deal: the snapshot rules' number of every
    agent, manager, office and the company at the end of every month of 2017."""
    tenant, root, people, teams = build_tenant(history=True)
    goal = company_goal(root, SNAPSHOT_RULES, date(2017, 1, 1),
                        in_engaging=TargetInput(Decimal(100)))  # fmt: skip
    with time_machine.travel(datetime(2018, 1, 15, 12), tick=False):
        goal_recompute(goal.pk)
    names = {member.pk: member.name for member in people.values()} | {root.pk: "CEO"}
    totals = expected_in_stages(teams)
    with scope(tenant=tenant):
        rows = list(Achievement.objects.filter(goal=goal).select_related("rule"))
    assert len(rows) == 12 * len(SNAPSHOT_RULES) * len(names)
    for row in rows:
        month = goal.cycles()[row.cycle_index].local_start.strftime("%Y-%m")
        wanted = totals[(names[row.member_id], month)][row.rule.key]
        assert row.team_value == wanted, (names[row.member_id], month, row.rule.key)
    company = {(r.cycle_index, r.rule.key): r.team_value for r in rows if r.member_id == root.pk}
    assert company[(11, "in_won")] + company[(11, "in_lost")] + company[(11, "open")] == 8800
