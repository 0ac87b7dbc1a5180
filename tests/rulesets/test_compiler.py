"""The compiled query and the reference evaluator agree on random records and random rules,
and on their breakdowns by a choice or text field (a custom one, and the fields of the
account a lead or deal names, too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.models import (
    Account,
    Activity,
    ActivityType,
    CustomField,
    Lead,
    Opportunity,
    PipelineStage,
    StageChange,
    Task,
)
from rulesets.catalogue import CustomFieldDecl, Vocabulary
from rulesets.compiler import Granularity, granularity_for, rule_parts, rule_queryset
from rulesets.reference import evaluate, evaluate_at_ends
from rulesets.spec import ruleset_parse
from tests.factories import MemberFactory

ZONE = ZoneInfo("Europe/Berlin")
START = datetime(2027, 3, 20, tzinfo=ZONE)  # spans the spring-forward night of 28 March
END = datetime(2027, 4, 10, tzinfo=ZONE)
TYPES = {
    "Call": "call",
    "Demo": "demo",
    "Email": "email",
    "To-do": "task",
    "Follow-up": "follow_up",
}
TASK_TYPES = ("Follow-up", "To-do")
STAGES = ("Prospect", "Proposal", "Won")
OUTCOMES = {"Prospect": "open", "Proposal": "open", "Won": "won"}
ACTIVITY_OUTCOMES = ("", "connected", "no answer", "Connected later")
CAMPAIGNS = (None, "", "Spring", "spring", "Fall")  # None: not set at all
CUSTOM = [CustomFieldDecl("activity", "campaign", "text")]
# The accounts a lead or deal may name (or none, None): external id -> (segment, channel); a
# blank segment or channel is no value, as no account is.
ACCOUNTS = {
    "acme": ("Enterprise", "Events"),
    "globex": ("SMB", ""),
    "initech": ("", "Paid search"),
    "umbrella": ("smb", "Events"),
}
ACCOUNT_NAMES = (None, *ACCOUNTS)
ACCOUNT_FIELDS = ["account", "account_segment", "account_channel"]
# What a breakdown may split by (None: no breakdown): every choice and text field.
SPLITS = {
    "activity": [None, "type", "category", "status", "outcome", "lead", "custom.campaign"],
    "opportunity": [None, "stage", "status", "currency", "lead", *ACCOUNT_FIELDS],
    "task": [None, "type", "category", "status", "subject", "lead"],
    "lead": [None, "status", "source", "email", *ACCOUNT_FIELDS],
}

moments = st.integers(min_value=-2 * 24 * 60, max_value=24 * 24 * 60).map(
    lambda minutes: (START + timedelta(minutes=minutes)).astimezone(UTC)
)
activity_rows = st.fixed_dictionaries(
    {
        "owner": st.integers(0, 3),
        "type": st.sampled_from(sorted(TYPES)),
        "status": st.sampled_from(("planned", "completed", "cancelled")),
        "outcome": st.sampled_from(ACTIVITY_OUTCOMES),
        "duration": st.integers(0, 3600),
        "occurred_at": moments,
        "campaign": st.sampled_from(CAMPAIGNS),
    }
)
opportunity_rows = st.fixed_dictionaries(
    {
        "owner": st.integers(0, 3),
        "stage": st.sampled_from(STAGES),
        "status": st.sampled_from(("open", "won", "lost")),
        "value": st.decimals(min_value=0, max_value=100_000, places=2),
        "created_at": moments,
        "closed_at": st.none() | moments,
        "account": st.sampled_from(ACCOUNT_NAMES),
    }
)
lead_rows = st.fixed_dictionaries(
    {
        "owner": st.integers(0, 3),
        "status": st.sampled_from(("new", "contacted", "converted")),
        "source": st.sampled_from(("", "Web", "web form", "Referral")),
        "created_at": moments,
        "converted_at": st.none() | moments,
        "account": st.sampled_from(ACCOUNT_NAMES),
    }
)


def account_of(name: str | None) -> dict[str, str | None]:
    """The account fields of a record that names the account ``name`` (None: no account)."""
    segment, channel = ACCOUNTS.get(name, (None, None))
    return {"account": name, "account_segment": segment, "account_channel": channel}


@st.composite
def task_rows(draw: st.DrawFn) -> dict:
    """A task; often completed at its due moment or a minute either side of it."""
    due = draw(moments)
    near = st.sampled_from((-1, 0, 1)).map(lambda minutes: due + timedelta(minutes=minutes))
    return {
        "owner": draw(st.integers(0, 3)),
        "type": draw(st.sampled_from(TASK_TYPES)),
        "status": draw(st.sampled_from(("open", "completed", "cancelled"))),
        "created_at": draw(moments),
        "due_at": due,
        "completed_at": draw(st.one_of(st.just(due), near, st.none(), moments)),
    }


ACTIVITY_CONDITIONS = [
    {"field": "status", "op": "eq", "value": "completed"},
    {"field": "status", "op": "ne", "value": "cancelled"},
    {"field": "type", "op": "in", "value": ["Call", "Demo"]},
    {"field": "category", "op": "not_in", "value": ["email"]},
    {"field": "outcome", "op": "is_empty"},
    {"field": "outcome", "op": "is_not_empty"},
    {"field": "outcome", "op": "contains", "value": "connect"},
    {"field": "outcome", "op": "ne", "value": "no answer"},
    {"field": "duration", "op": "gte", "value": 60},
    {"field": "duration", "op": "between", "value": [30, 900]},
    {"field": "occurred_at", "op": "lt", "value": "2027-03-28T03:00:00"},
]
# On a lead or a deal: its account's (no account: none of them has a value).
ACCOUNT_CONDITIONS = [
    {"field": "account_segment", "op": "eq", "value": "SMB"},
    {"field": "account_segment", "op": "ne", "value": "SMB"},
    {"field": "account_segment", "op": "not_in", "value": ["Enterprise", "smb"]},
    {"field": "account_segment", "op": "is_empty"},
    {"field": "account_segment", "op": "is_not_empty"},
    {"field": "account_segment", "op": "contains", "value": "sm"},
    {"field": "account_channel", "op": "in", "value": ["Events"]},
    {"field": "account", "op": "eq", "value": "acme"},
]
OPPORTUNITY_CONDITIONS = [
    {"field": "status", "op": "eq", "value": "won"},
    {"field": "status", "op": "in", "value": ["won", "lost"]},
    {"field": "stage", "op": "ne", "value": "Prospect"},
    {"field": "value", "op": "gt", "value": "5000"},
    {"field": "value", "op": "lte", "value": 50000},
    {"field": "closed_at", "op": "is_empty"},
    {"field": "closed_at", "op": "is_not_empty"},
    {"field": "created_at", "op": "gte", "value": "2027-03-25"},
    *ACCOUNT_CONDITIONS,
]
LEAD_CONDITIONS = [
    {"field": "status", "op": "ne", "value": "new"},
    {"field": "source", "op": "contains", "value": "web"},
    {"field": "source", "op": "is_empty"},
    {"field": "converted_at", "op": "is_not_empty"},
    *ACCOUNT_CONDITIONS,
]
TASK_CONDITIONS = [
    {"field": "status", "op": "eq", "value": "completed"},
    {"field": "status", "op": "ne", "value": "cancelled"},
    {"field": "type", "op": "eq", "value": "To-do"},
    {"field": "category", "op": "in", "value": ["follow_up"]},
    {"field": "on_time", "op": "eq", "value": True},
    {"field": "on_time", "op": "eq", "value": False},
    {"field": "on_time", "op": "ne", "value": True},
    {"field": "overdue", "op": "eq", "value": True},
    {"field": "overdue", "op": "ne", "value": True},
    {"field": "completed_at", "op": "is_empty"},
    {"field": "completed_at", "op": "is_not_empty"},
    {"field": "due_at", "op": "lt", "value": "2027-03-28T03:00:00"},
]
CONDITIONS = {
    "activity": ACTIVITY_CONDITIONS,
    "opportunity": OPPORTUNITY_CONDITIONS,
    "task": TASK_CONDITIONS,
    "lead": LEAD_CONDITIONS,
}
AGGREGATIONS = {
    "activity": [
        ("count", None),
        ("sum", "duration"),
        ("average", "duration"),
        ("min", "duration"),
        ("max", "duration"),
        ("distinct_count", "type"),
        ("distinct_count", "outcome"),
    ],
    "opportunity": [
        ("count", None),
        ("sum", "value"),
        ("average", "value"),
        ("max", "value"),
        ("min", "value"),
        ("distinct_count", "stage"),
        ("distinct_count", "account_segment"),
    ],
    "lead": [
        ("count", None),
        ("distinct_count", "source"),
        ("distinct_count", "account_segment"),
    ],
    "task": [
        ("count", None),
        ("distinct_count", "type"),
        ("distinct_count", "on_time"),
    ],
}
DATE_FIELDS = {
    "activity": ["occurred_at"],
    "opportunity": ["created_at", "closed_at"],
    "task": ["created_at", "due_at", "completed_at"],
    "lead": ["created_at", "converted_at"],
}
# Tasks' derived fields and deals' accounts: twice the rules.
ENTITIES = ("activity", "opportunity", "opportunity", "task", "task", "lead")
ROWS = {
    "activity": activity_rows,
    "opportunity": opportunity_rows,
    "task": task_rows(),
    "lead": lead_rows,
}


@st.composite
def rules(draw: st.DrawFn) -> dict:
    entity = draw(st.sampled_from(ENTITIES))
    aggregation, field = draw(st.sampled_from(AGGREGATIONS[entity]))
    date_field = draw(st.sampled_from(DATE_FIELDS[entity]))
    # Overdue at the cycle's end is for tasks placed by their due date (the parser says so).
    pool = [c for c in CONDITIONS[entity] if date_field == "due_at" or c["field"] != "overdue"]
    conditions = draw(st.lists(st.sampled_from(pool), max_size=2))
    if draw(st.booleans()):
        conditions.append({"any": draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))})
    rule = {"key": "r", "entity": entity, "aggregation": aggregation, "conditions": conditions}
    rule["date_field"] = date_field
    return rule | ({"field": field} if field else {}), draw(st.sampled_from(SPLITS[entity]))


@pytest.fixture
def world(db):
    root = MemberFactory(role="admin")
    tenant = root.tenant
    tenant.time_zone = "Europe/Berlin"
    tenant.save()
    members = [root] + [MemberFactory(reports_to=root) for _ in range(3)]
    with scope(tenant=tenant):
        types = {
            n: ActivityType.objects.create(tenant=tenant, name=n, category=c)
            for n, c in TYPES.items()
        }
        stages = {
            n: PipelineStage.objects.create(tenant=tenant, name=n, position=i, outcome=OUTCOMES[n])
            for i, n in enumerate(STAGES)
        }
        CustomField.objects.create(tenant=tenant, entity="activity", name="campaign", type="text")
        for name, (segment, channel) in ACCOUNTS.items():
            Account.objects.create(tenant=tenant, external_id=name, name=name.title(),
                                   segment=segment, channel=channel)  # fmt: skip
    return tenant, members, types, stages


def _account_id(tenant, name: str | None) -> int | None:
    return None if name is None else Account.objects.get(tenant=tenant, external_id=name).pk


def _insert(world, entity: str, rows: list[dict]) -> list[dict]:
    """Write the rows and return them as the reference sees records (catalogue names)."""
    tenant, members, types, stages = world
    with scope(tenant=tenant):
        Activity.objects.all().delete()
        Opportunity.objects.all().delete()
        Task.objects.all().delete()
        Lead.objects.all().delete()
        records = []
        for n, row in enumerate(rows):
            owner = members[row["owner"]]
            if entity == "activity":
                Activity.objects.create(
                    tenant=tenant,
                    external_id=str(n),
                    owner=owner,
                    type=types[row["type"]],
                    status=row["status"],
                    outcome=row["outcome"],
                    duration_seconds=row["duration"],
                    occurred_at=row["occurred_at"],
                    attributes={} if row["campaign"] is None else {"campaign": row["campaign"]},
                )
                records.append(
                    {
                        "owner": owner.pk,
                        "type": row["type"],
                        "category": TYPES[row["type"]],
                        "status": row["status"],
                        "outcome": row["outcome"],
                        "duration": Decimal(row["duration"]),
                        "occurred_at": row["occurred_at"],
                        "lead": None,
                        "custom.campaign": row["campaign"],
                    }
                )
            elif entity == "task":
                Task.objects.create(
                    tenant=tenant,
                    external_id=str(n),
                    owner=owner,
                    type=types[row["type"]],
                    subject="Task",
                    status=row["status"],
                    created_at=row["created_at"],
                    due_at=row["due_at"],
                    completed_at=row["completed_at"],
                )
                records.append(
                    {
                        "owner": owner.pk,
                        "type": row["type"],
                        "category": TYPES[row["type"]],
                        "status": row["status"],
                        "subject": "Task",
                        "created_at": row["created_at"],
                        "due_at": row["due_at"],
                        "completed_at": row["completed_at"],
                        "lead": None,
                        "opportunity": None,
                    }
                )
            elif entity == "lead":
                Lead.objects.create(
                    tenant=tenant,
                    external_id=str(n),
                    owner=owner,
                    name="Lead",
                    source=row["source"],
                    status=row["status"],
                    created_at=row["created_at"],
                    converted_at=row["converted_at"],
                    account_id=_account_id(tenant, row["account"]),
                )
                records.append(
                    {
                        "owner": owner.pk,
                        "status": row["status"],
                        "source": row["source"],
                        "email": "",
                        "created_at": row["created_at"],
                        "converted_at": row["converted_at"],
                    }
                    | account_of(row["account"])
                )
            else:
                Opportunity.objects.create(
                    tenant=tenant,
                    external_id=str(n),
                    owner=owner,
                    name="Deal",
                    stage=stages[row["stage"]],
                    status=row["status"],
                    value=row["value"],
                    currency="USD",
                    created_at=row["created_at"],
                    closed_at=row["closed_at"],
                    account_id=_account_id(tenant, row["account"]),
                )
                records.append(
                    {
                        "owner": owner.pk,
                        "stage": row["stage"],
                        "status": row["status"],
                        "value": row["value"],
                        "currency": "USD",
                        "created_at": row["created_at"],
                        "closed_at": row["closed_at"],
                        "lead": None,
                    }
                    | account_of(row["account"])
                )
    return records


@settings(
    max_examples=300,  # enough to meet rare pairs (e.g. contains + a capitalised outcome)
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), drawn=rules())
def test_the_compiled_query_agrees_with_the_reference(world, data, drawn):
    tenant, members, _, _ = world
    raw_rule, by = drawn
    vocab = {
        Vocabulary.ACTIVITY_TYPES: set(TYPES),
        Vocabulary.TASK_TYPES: set(TASK_TYPES),
        Vocabulary.STAGES: set(STAGES),
    }
    (rule,) = ruleset_parse([raw_rule], custom=CUSTOM, vocab=vocab, time_zone=tenant.time_zone)
    rows = data.draw(st.lists(ROWS[rule.entity], max_size=25))
    records = _insert(world, rule.entity, rows)
    team = {m.pk for m in members[:3]}  # the fourth member is outside the team
    window = {"start": START, "end": END}
    with scope(tenant=tenant):
        compiled = rule_parts(
            rule, tenant=tenant, member_ids=team, granularity=Granularity.DAY, custom=CUSTOM,
            by=by, **window,
        )  # fmt: skip
    expected = evaluate(
        rule, records, members=team, bucket=lambda when: when.astimezone(ZONE).date(), by=by,
        **window,
    )  # fmt: skip
    assert {key: parts.value(rule.aggregation) for key, parts in compiled.items()} == expected


def _every_account(entity: str) -> list[dict]:
    """Rows in the window naming each account and none, two a member: what random rows meet
    only now and then (an account with a blank segment, a deal placed in the window)."""
    day = (START + timedelta(days=2)).astimezone(UTC)
    rows = []
    for n, account in enumerate(ACCOUNT_NAMES * 2):
        row = {"owner": n % 3, "created_at": day, "account": account}
        if entity == "lead":
            row |= {"status": "new", "source": "", "converted_at": None}
        else:
            row |= {"stage": "Won", "status": "won", "value": Decimal(100 + n), "closed_at": day}
        rows.append(row)
    return rows


@pytest.mark.parametrize("entity", ["lead", "opportunity"])
@pytest.mark.parametrize(
    ("condition", "by"),
    [(condition, None) for condition in ACCOUNT_CONDITIONS]
    + [(None, by) for by in ACCOUNT_FIELDS]
    + [(ACCOUNT_CONDITIONS[1], "account_segment")],
)
def test_the_account_fields_agree_with_the_reference(world, entity, condition, by):
    """Each condition on an account field, and each split by one, over every account."""
    tenant, members, _, _ = world
    raw = {"key": "r", "entity": entity, "date_field": "created_at"}
    raw |= {"conditions": [condition] if condition else []}
    raw |= {"aggregation": "sum", "field": "value"} if entity == "opportunity" else {}
    (rule,) = ruleset_parse([raw], vocab={Vocabulary.STAGES: set(STAGES)})
    records = _insert(world, entity, _every_account(entity))
    team = {m.pk for m in members[:3]}
    window = {"start": START, "end": END}
    with scope(tenant=tenant):
        compiled = rule_parts(rule, tenant=tenant, member_ids=team, granularity=Granularity.MONTH,
                              cycle_of=lambda day: 0, by=by, **window)  # fmt: skip
    expected = evaluate(rule, records, members=team, bucket=lambda when: 0, by=by, **window)
    assert {key: parts.value(rule.aggregation) for key, parts in compiled.items()} == expected
    assert expected  # every condition and split leaves records to compare


def test_a_stage_change_reads_its_deals_account(world):
    """A stage change's account fields are its opportunity's account's."""
    tenant, members, _, stages = world
    records = _insert(world, "opportunity", _every_account("opportunity"))
    with scope(tenant=tenant):
        for deal in Opportunity.objects.order_by("pk"):
            StageChange.objects.create(tenant=tenant, opportunity=deal, to_stage=stages["Won"],
                                       changed_at=deal.closed_at, member=deal.owner)  # fmt: skip
    raw = {"key": "r", "entity": "stage_change", "aggregation": "sum", "field": "value",
           "conditions": [{"field": "account_segment", "op": "ne", "value": "SMB"}]}  # fmt: skip
    (rule,) = ruleset_parse([raw], vocab={Vocabulary.STAGES: set(STAGES)})
    team = {m.pk for m in members[:3]}
    window = {"start": START, "end": END}
    with scope(tenant=tenant):
        compiled = rule_parts(rule, tenant=tenant, member_ids=team, granularity=Granularity.MONTH,
                              cycle_of=lambda day: 0, by="account_segment", **window)  # fmt: skip
    changes = [record | {"member": record["owner"], "changed_at": record["closed_at"]}
               for record in records]  # fmt: skip
    expected = evaluate(rule, changes, members=team, bucket=lambda when: 0, by="account_segment",
                        **window)  # fmt: skip
    assert {key: parts.value(rule.aggregation) for key, parts in compiled.items()} == expected
    assert {key[-1] for key in expected} == {"Enterprise", "smb", None}


# Snapshot rules: opportunities with a stage history, counted as they stood at each cycle end.
standing_rows = st.fixed_dictionaries(
    {
        "owner": st.integers(0, 3),
        "value": st.decimals(min_value=0, max_value=100_000, places=2),
        "created_at": moments,
        "closed_at": st.none() | moments,
        # Changes may share a moment, precede the creation or follow the window's end.
        "changes": st.lists(st.tuples(moments, st.sampled_from(STAGES)), max_size=4),
        "account": st.sampled_from(ACCOUNT_NAMES),
    }
)
SNAPSHOT_CONDITIONS = [
    {"field": "status", "op": "eq", "value": "open"},
    {"field": "status", "op": "ne", "value": "won"},
    {"field": "stage", "op": "eq", "value": "Proposal"},
    {"field": "stage", "op": "in", "value": ["Prospect", "Won"]},
    {"field": "value", "op": "gt", "value": "5000"},
    {"field": "closed_at", "op": "is_empty"},
    {"field": "created_at", "op": "gte", "value": "2027-03-25"},
    *ACCOUNT_CONDITIONS[:4],
]


@st.composite
def snapshot_rules(draw: st.DrawFn) -> dict:
    aggregation, field = draw(st.sampled_from(AGGREGATIONS["opportunity"]))
    conditions = draw(st.lists(st.sampled_from(SNAPSHOT_CONDITIONS), max_size=2))
    if draw(st.booleans()):
        group = draw(st.lists(st.sampled_from(SNAPSHOT_CONDITIONS), min_size=1, max_size=3))
        conditions.append({"any": group})
    rule = {"key": "r", "entity": "opportunity", "mode": "cycle_end", "aggregation": aggregation}
    rule |= {"conditions": conditions} | ({"field": field} if field else {})
    return rule, draw(st.sampled_from(SPLITS["opportunity"]))


def _insert_history(world, rows: list[dict]) -> list[dict]:
    """Write opportunities and their stage changes (in the listed order); return them as the
    reference sees them, with their changes."""
    tenant, members, _, stages = world
    with scope(tenant=tenant):
        Opportunity.objects.all().delete()
        records = []
        for n, row in enumerate(rows):
            current = row["changes"][-1][1] if row["changes"] else "Prospect"
            opportunity = Opportunity.objects.create(
                tenant=tenant,
                external_id=str(n),
                owner=members[row["owner"]],
                name="Deal",
                stage=stages[current],
                status=OUTCOMES[current],
                value=row["value"],
                currency="USD",
                created_at=row["created_at"],
                closed_at=row["closed_at"],
                account_id=_account_id(tenant, row["account"]),
            )
            previous = None
            for when, stage in row["changes"]:
                StageChange.objects.create(
                    tenant=tenant,
                    opportunity=opportunity,
                    from_stage=previous,
                    to_stage=stages[stage],
                    changed_at=when,
                )
                previous = stages[stage]
            records.append(
                {
                    "owner": members[row["owner"]].pk,
                    "value": row["value"],
                    "currency": "USD",
                    "created_at": row["created_at"],
                    "closed_at": row["closed_at"],
                    "lead": None,
                    "changes": row["changes"],
                }
                | account_of(row["account"])
            )
    return records


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), drawn=snapshot_rules(), days=st.sampled_from([1, 7]))
def test_a_snapshot_query_agrees_with_the_reference(world, data, drawn, days):
    """Cycles of ``days`` local days from START (daily or weekly), each counted at its end,
    and split by the deals' stage, status... as they stood then."""
    tenant, members, _, _ = world
    raw_rule, by = drawn
    (rule,) = ruleset_parse(
        [raw_rule], vocab={Vocabulary.STAGES: set(STAGES)}, time_zone=tenant.time_zone
    )
    records = _insert_history(world, data.draw(st.lists(standing_rows, max_size=12)))
    team = {m.pk for m in members[:3]}  # the fourth member is outside the team
    first = START.date()
    with scope(tenant=tenant):
        compiled = rule_parts(
            rule,
            tenant=tenant,
            start=START,
            end=END,
            member_ids=team,
            granularity=Granularity.DAY,
            cycle_of=lambda day: (day - first).days // days,
            by=by,
        )
    cycles = (END.date() - first).days // days
    ends = [
        (datetime.combine(first + timedelta(days=days * (n + 1)), datetime.min.time(), ZONE), n)
        for n in range(cycles)
    ]
    expected = evaluate_at_ends(rule, records, ends=ends, members=team, outcomes=OUTCOMES, by=by)
    assert {key: parts.value(rule.aggregation) for key, parts in compiled.items()} == expected


def test_a_snapshot_query_looks_up_each_rows_next_change_once(world):
    """A row's next change, a lookup into the history for each row, is most of what a
    snapshot's query costs: one subquery finds it, grouped on by its column so that the
    database runs it once a row (a filter or a CASE on it would run it again). The rows
    changed again before the start are left out by a probe alone."""
    tenant, members, _, _ = world
    (rule,) = ruleset_parse([{"key": "r", "entity": "opportunity", "mode": "cycle_end"}])
    with scope(tenant=tenant):
        query = rule_queryset(rule, tenant=tenant, start=START, end=END,
                              member_ids=[members[0].pk], granularity=Granularity.DAY)  # fmt: skip
        sql = str(query.query)
    # The rows, the probe (changed again before the start?) and each one's next change.
    assert sql.count('FROM "crm_stagechange"') == 3 and sql.count("NOT EXISTS") == 1
    assert sql.endswith("GROUP BY 1, 2, 3")


@pytest.mark.parametrize(
    ("kind", "week_start", "expected"),
    [
        ("daily", 0, Granularity.DAY),
        ("weekly", 0, Granularity.WEEK),
        ("weekly", 6, Granularity.DAY),
        ("biweekly", 0, Granularity.WEEK),
        ("monthly", 3, Granularity.MONTH),
        ("quarterly", 0, Granularity.MONTH),
        ("yearly", 0, Granularity.MONTH),
    ],
)
def test_it_groups_as_coarsely_as_the_cycles_allow(kind, week_start, expected):
    assert granularity_for(kind, week_start) is expected


def test_it_splits_by_choices_and_texts_only(world):
    tenant, members, _, _ = world
    (rule,) = ruleset_parse([{"key": "n", "entity": "activity"}])
    with scope(tenant=tenant), pytest.raises(ValueError, match="not a choice or a text"):
        rule_parts(rule, tenant=tenant, start=START, end=END, member_ids=[members[0].pk],
                   granularity=Granularity.DAY, by="duration")  # fmt: skip
