"""Tasks in goals: completed on time and overdue at the cycle's end, in the tenant's time zone,
and a task saved through ingestion reaching the goal's numbers."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scope

from achievements.models import Achievement
from crm.ingest import records_upsert
from crm.models import ActivityType, Task
from goals.services import TargetInput
from hierarchy.models import Tenant
from rulesets.compiler import Granularity, rule_parts
from rulesets.parts import Parts, ratio_value
from rulesets.presets import preset_rules
from rulesets.reference import evaluate
from rulesets.services import ruleset_save
from rulesets.spec import RuleSpec, ruleset_parse
from tests.conftest import Crm, Org

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
MARCH = (datetime(2025, 3, 1, tzinfo=NEW_YORK), datetime(2025, 4, 1, tzinfo=NEW_YORK))
APRIL = (MARCH[1], datetime(2025, 5, 1, tzinfo=NEW_YORK))
# (external id, status, due, completed): local times in New York, where 23:30 on 31 March is
# already 1 April in UTC.
TASKS = (
    ("late-by-40-minutes", "completed", "2025-03-31T23:30", "2025-04-01T00:10"),
    ("done-at-the-minute", "completed", "2025-03-31T23:30", "2025-03-31T23:30"),
    ("open-due-just-after", "open", "2025-04-01T00:10", None),
    ("open-due-at-the-end", "open", "2025-03-31T23:59", None),
    ("cancelled", "cancelled", "2025-03-20T12:00", None),
    ("done-early", "completed", "2025-03-15T17:00", "2025-03-14T09:00"),
)


@pytest.fixture
def new_york(crm: Crm) -> Crm:
    tenant = crm.tenant
    tenant.time_zone = "America/New_York"
    tenant.save()
    with scope(tenant=tenant):
        ActivityType.objects.create(tenant=tenant, name="Follow-up", category="follow_up")
    records = [
        {
            "external_id": external_id,
            "owner_email": crm.rep_email,
            "type": "Follow-up",
            "subject": external_id,
            "status": status,
            "created_at": "2025-03-01T09:00",
            "due_at": due,
            "completed_at": completed,
        }  # fmt: skip
        for external_id, status, due, completed in TASKS
    ]
    records_upsert(tenant=tenant, entity="task", records=records)
    return crm


def by_month(tenant: Tenant, rule: RuleSpec, member: int) -> dict[str, Parts]:
    """The rule's parts for the member in March and April, from the database."""
    parts = rule_parts(
        rule,
        tenant=tenant,
        start=MARCH[0],
        end=APRIL[1],
        member_ids=[member],
        granularity=Granularity.MONTH,
        cycle_of=lambda day: day.strftime("%B"),
    )
    return {month: found for (_, month), found in parts.items()}


def reference(tenant: Tenant, rule: RuleSpec, member: int) -> dict[str, Decimal | None]:
    """The same by the reference evaluator, over the stored rows."""
    with scope(tenant=tenant):
        records = [
            {
                "owner": row.owner_id,
                "status": row.status,
                "due_at": row.due_at,
                "completed_at": row.completed_at,
                "created_at": row.created_at,
                "category": "follow_up",
                "type": "Follow-up",
            }  # fmt: skip
            for row in Task.objects.all()
        ]
    values = evaluate(
        rule,
        records,
        start=MARCH[0],
        end=APRIL[1],
        members={member},
        bucket=lambda when: when.astimezone(NEW_YORK).strftime("%B"),
        zone=NEW_YORK,
    )
    return {month: value for (_, month), value in values.items()}


def rules(slug: str) -> dict[str, RuleSpec]:
    vocab = {"task_types": {"Follow-up"}}
    return {rule.key: rule for rule in ruleset_parse(preset_rules(slug), vocab=vocab)}


def test_overdue_at_the_cycle_end_counts_by_the_local_due_date(new_york: Crm) -> None:
    tenant, rep = new_york.tenant, new_york.personas.rep.pk
    rule = rules("tasks_overdue")["tasks_overdue"]
    with scope(tenant=tenant):
        found = by_month(tenant, rule, rep)
    # March: the task done 40 minutes late (due 23:30 on the 31st, done 00:10 on 1 April) and
    # the one due at 23:59 and still open. April: the open one due 00:10 on 1 April. Not: the
    # one done at the minute it was due, the early one, the cancelled one.
    assert {month: parts.count for month, parts in found.items()} == {"March": 2, "April": 1}
    assert reference(tenant, rule, rep) == {"March": 2, "April": 1}


def test_completed_on_time_counts_a_task_done_at_the_minute_it_was_due(new_york: Crm) -> None:
    tenant, rep = new_york.tenant, new_york.personas.rep.pk
    sides = rules("tasks_on_time")
    with scope(tenant=tenant):
        on_time = by_month(tenant, sides["tasks_done_on_time"], rep)
        done = by_month(tenant, sides["tasks_done"], rep)
    # Placed by the local completion date: March has the early one and the one done at the
    # minute (both on time); April the one done at 00:10 on 1 April, 40 minutes late.
    assert {month: parts.count for month, parts in done.items()} == {"March": 2, "April": 1}
    assert {month: parts.count for month, parts in on_time.items()} == {"March": 2}
    percent = {
        month: ratio_value(
            Decimal(on_time[month].count if month in on_time else 0),
            Decimal(done[month].count),
            percent=True,
        )
        for month in done
    }
    assert percent == {"March": 100, "April": 0}
    assert reference(tenant, sides["tasks_done_on_time"], rep) == {"March": 2}


def test_overdue_is_refused_in_a_rule_placed_by_another_date() -> None:
    rule = preset_rules("tasks_overdue")[0] | {"date_field": "completed_at"}
    with pytest.raises(ValueError, match="choose Due as the date field"):
        ruleset_parse([rule], vocab={"task_types": {"Follow-up"}})


def test_a_task_saved_through_ingestion_updates_the_goal(
    org: Org, at_noon: datetime, django_capture_on_commit_callbacks, eager: None
) -> None:
    tenant = org.admin.tenant
    with scope(tenant=tenant):
        ActivityType.objects.create(tenant=tenant, name="Follow-up", category="follow_up")
    ruleset = ruleset_save(
        tenant=tenant,
        name="Tasks",
        rules=preset_rules("tasks_overdue") + preset_rules("follow_up_tasks"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        goal = org.goal(
            ruleset=ruleset,
            name="Tasks of the east",
            targets={"tasks_overdue": TargetInput(Decimal(3))},
        )
    due = (at_noon + timedelta(hours=1)).isoformat()
    record = {"external_id": "T-1", "owner_email": org.rep.email, "type": "Follow-up",
              "subject": "Call back", "due_at": due}  # fmt: skip

    def value(key: str) -> Decimal | None:
        with scope(tenant=tenant):
            row = Achievement.objects.get(goal=goal, member=org.east, cycle_index=0, rule__key=key)
        return row.team_value

    with django_capture_on_commit_callbacks(execute=True):
        records_upsert(tenant=tenant, entity="task", records=[record])
    # Open and due in this cycle: overdue at its end unless it is done by 13:00.
    assert value("tasks_overdue") == 1
    assert value("follow_up_tasks") == 0
    done = record | {"status": "completed", "completed_at": at_noon.isoformat()}
    with django_capture_on_commit_callbacks(execute=True):
        records_upsert(tenant=tenant, entity="task", records=[done])
    assert value("tasks_overdue") == 0
    assert value("follow_up_tasks") == 1


def test_the_records_behind_a_task_number_are_the_tasks_it_counts(
    org: Org, at_noon: datetime, django_assert_max_num_queries
) -> None:
    from achievements.services import goal_recompute
    from tests.conftest import client_for

    tenant = org.admin.tenant
    with scope(tenant=tenant):
        ActivityType.objects.create(tenant=tenant, name="Follow-up", category="follow_up")
    ruleset = ruleset_save(tenant=tenant, name="Tasks", rules=preset_rules("tasks_on_time"))
    goal = org.goal(ruleset=ruleset, name="Tasks", targets={"tasks_on_time": TargetInput(90)})
    hour = timedelta(hours=1)
    records = [
        {"external_id": f"T-{n}", "owner_email": org.rep.email, "type": "Follow-up",
         "subject": f"Task {n}", "status": "completed",
         "due_at": (at_noon - hour).isoformat(),
         "completed_at": (at_noon - hour * (2 if n % 3 else 0.5)).isoformat()}
        for n in range(6)
    ]  # fmt: skip
    records_upsert(tenant=tenant, entity="task", records=records)
    goal_recompute(goal.pk)
    with scope(tenant=tenant):
        row = Achievement.objects.get(goal=goal, rule__key="tasks_on_time", member=org.rep,
                                      cycle_index=0)  # fmt: skip
    assert row.value == Decimal("66.6667")  # 4 of 6 on time, in percent
    url = (
        f"/numbers/records/?goal={goal.pk}&rule={row.rule_id}&member={org.rep.pk}&cycle=0&scope=own"
    )
    client = client_for(org.east)
    with django_assert_max_num_queries(15):
        numerator = client.get(url)
    assert numerator.context["page"].paginator.count == 4
    assert {r[0] for r in numerator.context["rows"]} == {"Task 1", "Task 2", "Task 4", "Task 5"}
    denominator = client.get(url + "&side=denominator")
    assert denominator.context["page"].paginator.count == 6
    assert client_for(org.personas.outsider).get(url).status_code == 404
