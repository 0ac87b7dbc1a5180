"""The records behind a number: the list counts what the dashboard number counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_scopes import scope

from achievements.models import Achievement
from achievements.services import goal_recompute
from crm.ingest import records_upsert
from goals.models import Goal
from goals.services import TargetInput
from hierarchy.services import member_move
from tests.conftest import Org, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def goal(org: Org) -> Goal:
    start = (org.today.replace(day=1) - timedelta(days=1)).replace(day=1)
    goal = org.goal(
        actor=org.admin,
        team=org.admin,
        start=start,
        backfill=True,
        targets={
            "dialled_calls": TargetInput(60),
            "conversion_rate": TargetInput(30),
            "won_value": TargetInput(1000),
        },
    )
    calls = [
        {"external_id": f"c{n}", "owner_email": (org.rep if n % 3 else org.rep2).email,
         "type": "Call" if n % 5 else "Email", "occurred_at": f"{start}T{8 + n % 10:02}:00",
         "status": "completed" if n % 7 else "planned"}
        for n in range(60)
    ]  # fmt: skip
    records_upsert(tenant=org.admin.tenant, entity="activity", records=calls)
    leads = [
        {"external_id": f"l{n}", "owner_email": org.rep.email, "name": f"Lead {n}",
         "created_at": f"{start}T09:00", "status": "converted" if n < 2 else "new",
         **({"converted_at": f"{start}T10:00"} if n < 2 else {})}
        for n in range(5)
    ]  # fmt: skip
    records_upsert(tenant=org.admin.tenant, entity="lead", records=leads)
    goal_recompute(goal.pk)
    return goal


def cell(goal: Goal, key: str, member_id: int) -> Achievement:
    with scope(tenant=goal.tenant_id):
        return Achievement.objects.select_related("rule").get(
            goal=goal, rule__key=key, member_id=member_id, cycle_index=0
        )


def records_url(row: Achievement, scope_: str, **extra: str) -> str:
    query = f"goal={row.goal_id}&rule={row.rule_id}&member={row.member_id}&cycle=0&scope={scope_}"
    return "/numbers/records/?" + query + "".join(f"&{k}={v}" for k, v in extra.items())


def test_the_list_has_exactly_as_many_records_as_the_value_counts(org: Org, goal: Goal) -> None:
    team = cell(goal, "dialled_calls", org.east.pk)
    own = cell(goal, "dialled_calls", org.rep.pk)
    assert team.team_value > own.value > 0
    manager = client_for(org.east)
    page = manager.get(records_url(team, "team"))
    assert page.status_code == 200
    assert page.context["page"].paginator.count == team.team_value
    assert page.context["counted"] == team.team_value == page.context["dashboard"]
    mine = client_for(org.rep).get(records_url(own, "own"))
    assert mine.context["page"].paginator.count == own.value
    assert all(row[1] == "Call" for row in mine.context["rows"])  # the rule's conditions hold


def test_a_ratio_shows_each_side(org: Org, goal: Goal) -> None:
    rate = cell(goal, "conversion_rate", org.rep.pk)
    assert (rate.numerator, rate.denominator) == (2, 5)
    admin = client_for(org.admin)
    assert admin.get(records_url(rate, "own")).context["page"].paginator.count == 2
    below = admin.get(records_url(rate, "own", side="denominator"))
    assert below.context["page"].paginator.count == 5


def test_people_see_only_numbers_of_their_own_part_of_the_tree(org: Org, goal: Goal) -> None:
    east_row = cell(goal, "dialled_calls", org.east.pk)
    rep2_row = cell(goal, "dialled_calls", org.rep2.pk)
    assert client_for(org.rep).get(records_url(east_row, "team")).status_code == 404
    assert client_for(org.rep).get(records_url(rep2_row, "own")).status_code == 404
    assert client_for(org.west).get(records_url(rep2_row, "own")).status_code == 404
    assert client_for(org.personas.outsider).get(records_url(east_row, "team")).status_code == 404
    assert client_for(org.east).get("/numbers/records/?goal=x").status_code == 404
    url = records_url(east_row, "team").replace("cycle=0", "cycle=99")
    assert client_for(org.east).get(url).status_code == 404


def test_a_team_lists_the_records_of_its_members_while_they_were_in_it(
    org: Org, goal: Goal
) -> None:
    """The rep moves from East to West at noon on the day of the calls: each team's list holds
    the rep's calls of its part of the day, as many as its number counts, and the rep's own."""
    first = goal.cycles()[0]
    noon = first.start.astimezone(ZoneInfo(org.admin.tenant.time_zone)).replace(hour=12)
    with time_machine.travel(noon, tick=False):
        member_move(member=org.rep, reports_to=org.west)
    goal_recompute(goal.pk)
    admin = client_for(org.admin)
    counts = {}
    for manager in (org.east, org.west):
        row = cell(goal, "dialled_calls", manager.pk)
        page = admin.get(records_url(row, "team"))
        assert page.context["page"].paginator.count == row.team_value == page.context["counted"]
        counts[manager.name] = row.team_value
    rep, rep2 = (cell(goal, "dialled_calls", m.pk).value for m in (org.rep, org.rep2))
    assert counts["West"] > 0 and counts[org.east.name] > rep2  # the rep's day, split at noon
    assert counts["West"] + counts[org.east.name] == rep + rep2
    own = admin.get(records_url(cell(goal, "dialled_calls", org.rep.pk), "own"))
    assert own.context["page"].paginator.count == rep


def test_the_csv_holds_exactly_the_records_behind_the_number(org: Org, goal: Goal) -> None:
    team = cell(goal, "dialled_calls", org.east.pk)
    manager = client_for(org.east)
    export = manager.get(records_url(team, "team", format="csv"))
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert len(rows) == team.team_value
    listed = manager.get(records_url(team, "team")).content.decode()
    assert "format=csv" in listed
    ids = {row["external_id"] for row in rows}
    assert ids == {f"c{n}" for n in range(60) if n % 5 and n % 7}  # completed calls
    rate = cell(goal, "conversion_rate", org.rep.pk)
    below = manager.get(records_url(rate, "own", side="denominator", format="csv"))
    assert len(list(csv.DictReader(io.StringIO(below.content.decode())))) == 5
    outsider = client_for(org.personas.outsider)
    assert outsider.get(records_url(team, "team", format="csv")).status_code == 404
