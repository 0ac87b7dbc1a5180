"""Engine == reference over random organizations that change: random trees, random moves at
random moments of a goal's three months, random calls; every member's own and team value of
every aggregation in every cycle, from the recompute (spans of the reporting lines, one grouped
query per rule, the roll-up over places) and from the reference evaluator (a plain walk up the
lines at each record's moment) alike. The goal's team is a random member, so people also move
into and out of it."""

from __future__ import annotations

import itertools
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django_scopes import scope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from achievements.models import Achievement
from achievements.services import goal_recompute
from crm.ingest import records_upsert
from crm.models import ActivityType
from goals.services import GoalDraft, TargetInput, goal_save
from hierarchy.models import Member, ReportingLine
from hierarchy.services import member_create, member_move, tenant_create
from rulesets.reference import team_achievements
from rulesets.services import ruleset_save
from rulesets.spec import ruleset_parse

D = Decimal
START = datetime(2026, 1, 1, tzinfo=UTC)
HOURS = 24 * 90  # the window the moves and calls fall in: about the goal's three months
RULES = [
    {"key": key, "name": key, "entity": "activity", "aggregation": aggregation}
    | ({"field": field} if field else {})
    for key, aggregation, field in (
        ("calls", "count", None),
        ("talk", "sum", "duration"),
        ("average", "average", "duration"),
        ("shortest", "min", "duration"),
        ("longest", "max", "duration"),
        ("outcomes", "distinct_count", "outcome"),
    )
]
_serial = itertools.count()


@st.composite
def organizations(draw: st.DrawFn) -> dict:
    size = draw(st.integers(2, 7))
    hour = st.integers(-24, HOURS)  # a day before the goal too
    return {
        "size": size,
        "managers": [draw(st.integers(0, n - 1)) for n in range(1, size)],
        "head": draw(st.integers(0, size - 1)),
        "moves": sorted(
            draw(
                st.lists(
                    st.tuples(hour, st.integers(1, size - 1), st.integers(0, size - 1)),
                    min_size=1,
                    max_size=6,
                )
            )
        ),  # fmt: skip
        "calls": draw(
            st.lists(
                st.tuples(
                    st.integers(0, size - 1),
                    hour,
                    st.integers(1, 900),
                    st.sampled_from(["reached", "voicemail", "busy"]),
                ),
                min_size=4,
                max_size=30,
            )
        ),  # fmt: skip
    }


def at(hour: int) -> datetime:
    return START + timedelta(hours=hour)


def _build(org: dict) -> tuple[list[Member], object]:
    n = next(_serial)
    with time_machine.travel(START - timedelta(days=30), tick=False):
        root = tenant_create(name=f"H{n}", slug=f"h-{n}", time_zone="Europe/Berlin",
                             admin_email=f"root@h{n}.example")  # fmt: skip
        members = [root]
        for number, manager in enumerate(org["managers"], start=1):
            email = f"m{number}@h{n}.example"
            members.append(member_create(tenant=root.tenant, email=email, name=f"M{number}",
                                         reports_to=members[manager]))  # fmt: skip
    with scope(tenant=root.tenant):
        ActivityType.objects.create(tenant=root.tenant, name="Call", category="call")
    for hour, mover, manager in org["moves"]:
        # A move into the mover's own team is refused, as it should be.
        with time_machine.travel(at(hour), tick=False), suppress(ValidationError):
            member_move(member=members[mover], reports_to=members[manager])
    records_upsert(
        tenant=root.tenant,
        entity="activity",
        records=[
            {"external_id": f"c{n}", "owner_email": members[owner].email, "type": "Call",
             "occurred_at": at(hour).isoformat(), "duration_seconds": seconds,
             "outcome": outcome, "status": "completed"}
            for n, (owner, hour, seconds, outcome) in enumerate(org["calls"])
        ],
    )  # fmt: skip
    return members, root.tenant


@pytest.mark.django_db
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(org=organizations())
def test_team_values_equal_a_plain_walk_over_the_reporting_history(org: dict) -> None:
    members, tenant = _build(org)
    head = members[org["head"]]
    with time_machine.travel(START + timedelta(days=100), tick=False):
        ruleset = ruleset_save(tenant=tenant, name="Calls", rules=RULES)
        goal = goal_save(
            draft=GoalDraft(name="Calls", ruleset=ruleset, team=head, cycle="monthly",
                            start=date(2026, 1, 1), end=date(2026, 3, 31), backfill=True,
                            targets={"calls": TargetInput(D(10))}),
            actor=members[0],
        )  # fmt: skip
        goal_recompute(goal.pk)
    with scope(tenant=tenant):
        rows = Achievement.objects.filter(goal=goal).values_list(
            "rule__key", "member_id", "cycle_index", "value", "team_value"
        )
        engine = {(key, member, index): (value, team) for key, member, index, value, team in rows}
        lines = list(
            ReportingLine.objects.values_list(
                "member_id", "reports_to_id", "valid_from", "valid_to"
            )
        )
    cycles = [(cycle.start, cycle.end) for cycle in goal.cycles()]
    records = [
        {"owner": members[owner].pk, "occurred_at": at(hour), "duration": D(seconds),
         "outcome": outcome, "category": "call"}
        for owner, hour, seconds, outcome in org["calls"]
    ]  # fmt: skip
    specs = ruleset_parse(RULES)
    reference = {}
    for spec in specs:
        found = team_achievements(spec, records, lines=lines, head=head.pk, cycles=cycles)
        for (member, index), numbers in found.items():
            reference[(spec.key, member, index)] = tuple(
                None if number is None else number.quantize(D("0.0001")) for number in numbers
            )
    assert engine == reference
