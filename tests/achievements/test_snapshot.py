"""Rules counted at each cycle's end: the pipeline as it stood then, computed by the recompute,
rolled up the tree, and kept for past cycles whatever the deals did afterwards."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from achievements.models import Achievement
from achievements.pace import Pace, rule_pace
from achievements.selectors import goals_affected
from achievements.services import goal_recompute
from crm.models import CustomField, PipelineStage
from goals.models import Goal
from goals.services import TargetInput
from rulesets.compiler import Granularity, rule_parts
from rulesets.presets import preset_rules
from rulesets.services import rules_compile, ruleset_save, tenant_vocabulary
from rulesets.spec import ruleset_parse
from tests.conftest import Org, client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_noon")]


def local(day: date, hour: int, org: Org) -> str:
    zone = ZoneInfo(org.admin.tenant.time_zone)
    return datetime.combine(day, time(hour), zone).isoformat()


@pytest.fixture
def goal(org: Org) -> Goal:
    """A backfilled monthly goal over last month and this one, for the whole company, with
    the pipeline presets: deals in Proposal, and the open pipeline's value in USD."""
    tenant = org.admin.tenant
    with scope(tenant=tenant):
        PipelineStage.objects.create(tenant=tenant, name="Won", position=9, outcome="won")
    rules = preset_rules("pipeline_stage", stage="Proposal") + preset_rules(
        "open_pipeline", currency="USD"
    )
    ruleset = ruleset_save(tenant=tenant, name="Pipeline", rules=rules)
    first = (org.today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return org.goal(
        actor=org.admin,
        team=org.admin,
        ruleset=ruleset,
        name="Pipeline",
        start=first,
        backfill=True,
        targets={"in_stage": TargetInput(Decimal(4))},
    )


def deal(org: Org, key: str, stage: str, at: str, value: str = "1000", **more: str) -> dict:
    return {"external_id": key, "owner_email": more.pop("owner", org.rep.email), "name": key,
            "stage": stage, "value": value, "stage_changed_at": at, **more}  # fmt: skip


def values(goal: Goal, key: str, cycle: int) -> dict[int, tuple[Decimal, Decimal]]:
    with scope(tenant=goal.tenant):
        rows = Achievement.objects.filter(goal=goal, rule__key=key, cycle_index=cycle)
        return {row.member_id: (row.value, row.team_value) for row in rows}


def test_a_past_month_keeps_the_pipeline_it_ended_with(org: Org, goal: Goal) -> None:
    last_month = goal.start
    today = org.today
    made = {"created_at": local(last_month, 9, org)}
    org.log(
        deal(org, "O-1", "Prospect", local(last_month, 9, org), **made),
        deal(org, "O-2", "Proposal", local(last_month, 9, org), "500", owner=org.rep2.email,
             **made),
        deal(org, "O-3", "Proposal", local(last_month, 9, org), "700", owner=org.sdr.email,
             **made),
        entity="opportunity",
    )  # fmt: skip
    # O-1 enters Proposal on the month's second day; O-3 is won the same month.
    second = last_month + timedelta(days=1)
    org.log(deal(org, "O-1", "Proposal", local(second, 10, org)), entity="opportunity")
    org.log(deal(org, "O-3", "Won", local(second, 11, org), "700", owner=org.sdr.email),
            entity="opportunity")  # fmt: skip
    goal_recompute(goal.pk)
    before = values(goal, "in_stage", 0), values(goal, "open_pipeline", 0)
    in_stage, pipeline = before
    assert in_stage[org.rep.pk] == (1, 1) and in_stage[org.rep2.pk] == (1, 1)
    assert in_stage[org.sdr.pk] == (0, 0)  # won before the month ended
    assert in_stage[org.east.pk] == (0, 2) and in_stage[org.admin.pk] == (0, 2)
    assert pipeline[org.admin.pk][1] == Decimal("1500.00")

    # This month O-1 is won, O-2 is moved back to Prospect and a new deal enters Proposal:
    # the past month's numbers stay as they were, this month's follow.
    org.log(deal(org, "O-1", "Won", local(today, 8, org)), entity="opportunity")
    org.log(deal(org, "O-2", "Prospect", local(today, 8, org), "500", owner=org.rep2.email),
            entity="opportunity")  # fmt: skip
    new = local(today, 9, org)
    org.log(deal(org, "O-4", "Proposal", new, "300", created_at=new), entity="opportunity")
    goal_recompute(goal.pk, all_cycles=True)
    assert (values(goal, "in_stage", 0), values(goal, "open_pipeline", 0)) == before
    now = values(goal, "in_stage", 1)
    assert now[org.rep.pk] == (1, 1) and now[org.rep2.pk] == (0, 0)  # O-4; O-1 won
    assert values(goal, "open_pipeline", 1)[org.admin.pk][1] == Decimal("800.00")  # O-2, O-4

    # The records behind last month's number are the deals as they stood then.
    with scope(tenant=goal.tenant):
        rule = goal.ruleset.rules.get(key="in_stage")
    query = f"goal={goal.pk}&rule={rule.pk}&member={org.east.pk}&cycle=0&scope=team"
    page = client_for(org.east).get(f"/numbers/records/?{query}")
    assert page.status_code == 200
    listed = {record.external_id for record in page.context["page"]}
    assert listed == {"O-1", "O-2"}
    assert page.context["counted"] == page.context["dashboard"] == 2
    outsider = client_for(org.personas.outsider)
    assert outsider.get(f"/numbers/records/?{query}").status_code == 404


def test_the_recompute_runs_one_query_per_snapshot_rule(org: Org, goal: Goal) -> None:
    org.log(deal(org, "O-1", "Proposal", local(goal.start, 9, org)), entity="opportunity")
    with CaptureQueriesContext(connection) as queries:
        goal_recompute(goal.pk, all_cycles=True)
    stage_history = [q for q in queries if "crm_stagechange" in q["sql"]]
    assert len(stage_history) == 2  # one per rule, for both cycles and the whole team


def test_a_stage_change_asks_for_the_recompute_of_goals_that_had_not_ended(
    org: Org, goal: Goal
) -> None:
    tenant = org.admin.tenant.pk
    moment = datetime.combine(goal.start - timedelta(days=90), time(12), ZoneInfo("UTC"))
    # Long before the goal began, and still in every snapshot the goal takes.
    found = goals_affected(tenant, "stage_change", owner_ids=[org.rep.pk], start=moment,
                           end=moment)  # fmt: skip
    assert found == [goal.pk]
    after = datetime.combine(goal.end + timedelta(days=3), time(12), ZoneInfo("UTC"))
    assert goals_affected(tenant, "stage_change", owner_ids=[org.rep.pk], start=after,
                          end=after) == []  # fmt: skip


def test_a_snapshot_is_paced_on_its_whole_target_and_achieved_only_at_the_end() -> None:
    """A pipeline can shrink again: halfway through the cycle it is measured against the whole
    target, not half of it, and reaching it early is not yet achieved."""
    (flow, snapshot) = ruleset_parse(
        [
            {"key": "made", "entity": "opportunity", "date_field": "created_at"},
            {"key": "standing", "entity": "opportunity", "mode": "cycle_end"},
        ]
    )
    target = Decimal(10)
    assert rule_pace(flow, Decimal(5), target, 0.5, final=False) is Pace.ON_TRACK
    assert rule_pace(snapshot, Decimal(5), target, 0.5, final=False) is Pace.BEHIND
    assert rule_pace(flow, Decimal(10), target, 0.5, final=False) is Pace.ACHIEVED
    assert rule_pace(snapshot, Decimal(10), target, 0.5, final=False) is Pace.ON_TRACK
    assert rule_pace(snapshot, Decimal(10), target, 1.0, final=True) is Pace.ACHIEVED


def test_a_snapshot_reads_custom_fields_of_the_opportunity(org: Org) -> None:
    tenant = org.admin.tenant
    with scope(tenant=tenant):
        CustomField.objects.create(tenant=tenant, entity="opportunity", name="region", type="text")
    earlier = local(org.today - timedelta(days=3), 9, org)
    org.log(
        deal(org, "N-1", "Proposal", earlier, created_at=earlier, attributes={"region": "North"}),
        deal(org, "S-1", "Proposal", earlier, created_at=earlier, attributes={"region": "South"}),
        entity="opportunity",
    )
    rule = {"key": "north", "entity": "opportunity", "mode": "cycle_end",
            "conditions": [{"field": "custom.region", "op": "eq", "value": "North"}]}  # fmt: skip
    (spec,) = rules_compile(tenant=tenant, rules=[rule])
    custom, _vocab = tenant_vocabulary(tenant)
    with scope(tenant=tenant):
        found = rule_parts(spec, tenant=tenant, start=timezone.now() - timedelta(days=1),
                           end=timezone.now(), member_ids=[org.rep.pk],
                           granularity=Granularity.DAY, custom=custom,
                           cycle_of=lambda day: 0)  # fmt: skip
    assert {key: parts.count for key, parts in found.items()} == {(org.rep.pk, 0): 1}
