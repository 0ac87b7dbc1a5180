"""The pipeline page with the test client: the open stages in order with counts and values equal
to the records, the pies equal to the goal rows Assigned to me shows, scrolling for more
cards, a deal's record page with its stage history, permissions and the query budget."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from achievements.models import Achievement
from achievements.services import goal_recompute
from crm.models import Opportunity, PipelineStage
from dashboards.pipeline import CARDS
from goals.models import Goal
from goals.services import TargetInput
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save
from tests.conftest import Org, client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mid_month")]


@dataclass
class Pipeline:
    org: Org
    goal: Goal


def deal(org: Org, key: str, owner, **fields) -> dict:  # noqa: ANN001
    return {"external_id": key, "owner_email": owner.email, "name": f"Deal {key}",
            "stage": "Prospect", "value": "1000", "currency": "USD",
            "created_at": (timezone.now() - timedelta(hours=2)).isoformat()} | fields  # fmt: skip


def advance(org: Org, *records: dict, stage: str = "Proposal") -> None:
    moment = (timezone.now() - timedelta(minutes=5)).isoformat()
    org.log(*(r | {"stage": stage, "stage_changed_at": moment} for r in records),
            entity="opportunity")  # fmt: skip


@pytest.fixture
def pipeline(org: Org) -> Pipeline:
    """East's reps advance deals to Proposal under a goal that tracks it; west's SDR works a
    deal of their own; one deal is in EUR; one is won and one lost."""
    tenant = org.admin.tenant
    with scope(tenant=tenant):
        PipelineStage.objects.create(tenant=tenant, name="Won", position=8, outcome="won")
        PipelineStage.objects.create(tenant=tenant, name="Lost", position=9, outcome="lost")
    rules = preset_rules("deals_advanced", stage="Proposal") + preset_rules(
        "advanced_value", stage="Proposal", currency="USD"
    )
    ruleset = ruleset_save(tenant=tenant, name="Pipeline", rules=rules)
    goal = org.goal(
        name="Proposals",
        ruleset=ruleset,
        targets={"deals_advanced": TargetInput(Decimal(4)),
                 "advanced_value": TargetInput(Decimal(10000))},
    )  # fmt: skip
    rep, rep2 = org.rep, org.rep2
    opened = [
        deal(org, "O-1", rep, value="1000"),
        deal(org, "O-2", rep, value="2000"),
        deal(org, "O-3", rep, value="500"),
        deal(org, "O-4", rep2, value="700"),
        deal(org, "O-5", rep, value="9000", currency="EUR"),
        deal(org, "W-1", org.sdr, value="300", stage="Negotiation"),
    ]
    org.log(*opened, entity="opportunity")
    advance(org, opened[0], opened[1], opened[3], opened[4])
    closed = (timezone.now() - timedelta(minutes=3)).isoformat()
    org.log(deal(org, "O-6", rep, value="4000", stage="Won", status="won", closed_at=closed),
            deal(org, "O-7", rep, value="50", stage="Lost", status="lost", closed_at=closed),
            entity="opportunity")  # fmt: skip
    goal_recompute(goal.pk)
    return Pipeline(org, goal)


def stage_sections(html: str) -> list[tuple[str, int, str]]:
    """(stage, count, value) of every column, in page order."""
    found = re.findall(
        r'data-stage="([^"]+)".*?class="stage-count">([\d,]+)</strong>.*?'
        r'class="stage-value">([^<]+)</span>',
        html,
        re.DOTALL,
    )
    return [(name, int(count.replace(",", "")), value) for name, count, value in found]


def pies(html: str, stage: str) -> list[tuple[int, str]]:
    """(data-percent, title) of the pies beside one stage."""
    column = html.split(f'data-stage="{stage}"')[1].split("</header>")[0]
    return re.findall(r'data-percent="(\d+)"><title>([^<]+)</title>', column)


def expected(org: Org, owners: list) -> list[tuple[str, int, str]]:  # noqa: ANN001
    """Straight from the records: each open stage's open deals of the owners, in order."""
    with scope(tenant=org.admin.tenant):
        rows = []
        for stage in PipelineStage.objects.filter(outcome="open").order_by("position"):
            deals = Opportunity.objects.filter(stage=stage, status="open", owner__in=owners)
            value = sum((d.value for d in deals if d.currency == "USD"), Decimal(0))
            rows.append((stage.name, deals.count(), f"USD {value:,.2f}"))
    return rows


def test_it_shows_the_open_stages_in_order_with_counts_and_values_of_the_records(
    pipeline: Pipeline,
) -> None:
    org = pipeline.org
    html = client_for(org.east).get("/records/pipeline/").content.decode()
    shown = stage_sections(html)
    assert [name for name, _, _ in shown] == ["Prospect", "Proposal", "Negotiation"]
    assert shown == expected(org, [org.east, org.rep, org.rep2])
    assert shown[1] == ("Proposal", 4, "USD 3,700.00")  # the EUR deal counted, not added in
    assert "+ 1 in other currencies" in html
    assert "Won</span> <strong>1</strong> · USD 4,000.00" in html
    assert "Lost</span> <strong>1</strong> · USD 50.00" in html
    # The admin sees everyone; the rep alone; a manager picks a rep of theirs.
    everyone = stage_sections(client_for(org.admin).get("/records/pipeline/").content.decode())
    assert everyone == expected(org, [org.east, org.rep, org.rep2, org.west, org.sdr])
    alone = stage_sections(client_for(org.rep).get("/records/pipeline/").content.decode())
    assert alone == expected(org, [org.rep])
    picked = client_for(org.east).get(f"/records/pipeline/?member={org.rep2.pk}&scope=own")
    assert stage_sections(picked.content.decode()) == expected(org, [org.rep2])


def test_a_period_keeps_deals_created_or_closed_in_it(pipeline: Pipeline) -> None:
    org = pipeline.org
    last_year = (timezone.now() - timedelta(days=400)).isoformat()
    org.log(deal(org, "OLD", org.rep, created_at=last_year), entity="opportunity")
    client = client_for(org.rep)

    def counts(url: str) -> dict[str, int]:
        html = client.get(url).content.decode()
        return {name: count for name, count, _ in stage_sections(html)}

    assert counts("/records/pipeline/?period=monthly")["Prospect"] == (
        counts("/records/pipeline/")["Prospect"] - 1
    )
    year = client.get("/records/pipeline/?period=monthly").content.decode()
    assert "Won this month</span> <strong>1</strong>" in year


def test_the_pies_are_the_goal_rows_assigned_to_me_shows(pipeline: Pipeline) -> None:
    org, goal = pipeline.org, pipeline.goal
    with scope(tenant=org.admin.tenant):
        rows = {
            (row.member_id, row.rule.key): row
            for row in Achievement.objects.filter(goal=goal, cycle_index=0).select_related("rule")
        }

    def percent(value: Decimal, target: Decimal) -> int:
        return int((value * 100 / target).to_integral_value())

    mine = rows[(org.rep.pk, "deals_advanced")], rows[(org.rep.pk, "advanced_value")]
    assert (mine[0].value, mine[1].value) == (3, 3000)  # the EUR deal is not in the value
    html = client_for(org.rep).get("/records/pipeline/").content.decode()
    shown = pies(html, "Proposal")
    assert [int(p) for p, _ in shown] == [percent(r.value, r.target) for r in mine]
    value, target = mine[1].value, mine[1].target
    assert shown[1][1] == (
        f"Proposals · Value of deals advanced: USD {value:,.2f} of USD {target:,.2f} "
        f"({percent(value, target)}%)"
    )
    assert pies(html, "Prospect") == [] and pies(html, "Negotiation") == []
    assert 'href="/me/" class="pie-link"' in html  # a rep's goal link: their own numbers
    # Assigned to me shows the same numbers.
    me = client_for(org.rep).get("/me/").content.decode()
    assert f"of USD {target:,.2f} · {percent(value, target)}%" in me
    # The manager holds the team's rows; a member picked is seen through their own rows.
    team = rows[(org.east.pk, "deals_advanced")]
    html = client_for(org.east).get("/records/pipeline/").content.decode()
    (count, _value) = pies(html, "Proposal")
    assert int(count[0]) == percent(team.team_value, team.team_target)
    assert f'href="/goals/{goal.pk}/progress/" class="pie-link"' in html
    other = client_for(org.east).get(f"/records/pipeline/?member={org.rep2.pk}").content.decode()
    assert [int(p) for p, _ in pies(other, "Proposal")] == [
        percent(rows[(org.rep2.pk, key)].value, rows[(org.rep2.pk, key)].target)
        for key in ("deals_advanced", "advanced_value")
    ]


def test_a_column_scrolls_to_more_cards_a_page_at_a_time(pipeline: Pipeline) -> None:
    org = pipeline.org
    org.log(*(deal(org, f"M-{n}", org.rep, value=str(n)) for n in range(CARDS + 5)),
            entity="opportunity")  # fmt: skip
    client = client_for(org.rep)
    html = client.get("/records/pipeline/").content.decode()
    prospect = html.split('data-stage="Prospect"')[1].split("</section>")[0]
    assert prospect.count('class="deal-card"') == CARDS
    more = re.search(r'hx-get="([^"]+)"', prospect)[1].replace("&amp;", "&")
    page = client.get(f"/records/pipeline/{more}", headers={"HX-Request": "true"}).content.decode()
    with scope(tenant=org.admin.tenant):
        total = Opportunity.objects.filter(owner=org.rep, status="open", stage__name="Prospect")
        total = total.count()
    assert page.count('class="deal-card"') == total - CARDS
    assert "Show more deals" not in page


def test_a_deal_card_opens_the_deal_with_its_stage_history(pipeline: Pipeline) -> None:
    org = pipeline.org
    with scope(tenant=org.admin.tenant):
        mine = Opportunity.objects.get(external_id="O-1")
        theirs = Opportunity.objects.get(external_id="W-1")
    html = client_for(org.rep).get("/records/pipeline/").content.decode()
    assert f'href="/records/opportunities/{mine.pk}/"' in html
    page = client_for(org.rep).get(f"/records/opportunities/{mine.pk}/").content.decode()
    history = page.split('class="table stage-history"')[1]
    assert re.findall(r"<tr><td>[^<]+</td><td>(.*?)</td><td>(\w+)</td>", history) == [
        ('<span class="muted">(created)</span>', "Prospect"),
        ("Prospect", "Proposal"),
    ]
    listed = client_for(org.east).get("/records/opportunities/").content.decode()
    assert f'<a href="/records/opportunities/{mine.pk}/">Deal O-1</a>' in listed
    # A deal outside the viewer's team is a 404, as is another tenant's for its admin.
    assert client_for(org.rep).get(f"/records/opportunities/{theirs.pk}/").status_code == 404
    assert client_for(org.admin).get(f"/records/opportunities/{theirs.pk}/").status_code == 200
    outsider = client_for(org.personas.outsider)
    assert outsider.get(f"/records/opportunities/{mine.pk}/").status_code == 404


def test_another_tenants_member_stage_and_people_outside_the_team_are_404(
    pipeline: Pipeline,
) -> None:
    org = pipeline.org
    outsider = client_for(org.personas.outsider)
    assert outsider.get(f"/records/pipeline/?member={org.rep.pk}").status_code == 404
    page = outsider.get("/records/pipeline/").content.decode()
    assert "Deal O-1" not in page and "Proposal" not in page
    assert client_for(org.east).get(f"/records/pipeline/?member={org.sdr.pk}").status_code == 404
    assert client_for(org.rep).get(f"/records/pipeline/?member={org.rep2.pk}").status_code == 404
    with scope(tenant=org.personas.outsider.tenant):
        closing = PipelineStage.objects.get(name="Closing")
    url = f"/records/pipeline/?stage={closing.pk}&offset=10"
    assert client_for(org.rep).get(url).status_code == 404


@pytest.mark.parametrize("viewer", ["admin", "east", "rep"])
def test_the_query_count_does_not_grow_with_the_deals(
    pipeline: Pipeline, viewer: str, django_assert_max_num_queries
) -> None:
    org = pipeline.org
    member = {"admin": org.admin, "east": org.east, "rep": org.rep}[viewer]
    client = client_for(member)
    client.get("/records/pipeline/")  # the panels' memory is filled once

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/records/pipeline/").status_code == 200
        return len(captured)

    few = queries()
    org.log(*(deal(org, f"N-{n}", org.rep, stage=("Prospect", "Proposal")[n % 2])
              for n in range(60)), entity="opportunity")  # fmt: skip
    assert queries() == few
    # The session, user and member; the members offered; the goals and the panel's rows
    # (kept in memory between recomputes); the stages, the columns, their cards, won and lost.
    with django_assert_max_num_queries(10):
        client.get("/records/pipeline/")


def test_a_filter_that_is_not_valid_falls_back_and_keeps_the_others(pipeline: Pipeline) -> None:
    org = pipeline.org
    url = f"/records/pipeline/?member={org.rep2.pk}&scope=own&period=fortnightly"
    html = client_for(org.east).get(url).content.decode()
    assert stage_sections(html) == expected(org, [org.rep2])  # any time, rep2 alone
