"""The cycle that just ended stays on Assigned to me and My team as "closing" until it is
closed; pace by working time on the pages (early in the morning nobody is behind)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_scopes import scopes_disabled

from achievements.services import goal_recompute
from goals.models import Goal
from goals.services import TargetInput
from hierarchy.models import Tenant
from tests.conftest import Org, client_for

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")  # tenant A's
THURSDAY_MORNING = datetime(2026, 12, 3, 8, 30, tzinfo=BERLIN)


@pytest.fixture
def morning() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(THURSDAY_MORNING, tick=False) as clock:
        yield clock


def nightly_close(goal: Goal, clock: time_machine.Coordinates) -> None:
    """The close of the ended cycles, a minute later (a new computation stamp)."""
    clock.shift(60)
    goal_recompute(goal.pk, close_before=THURSDAY_MORNING)


def daily_goal(org: Org) -> Goal:
    """The company's daily calls since Wednesday (10 a day for each of four reps): the rep made
    10 calls on Wednesday, none yet on Thursday."""
    goal = org.goal(
        actor=org.admin,
        team=org.admin,
        name="Company calls",
        cycle="daily",
        start=date(2026, 12, 2),
        end=date(2026, 12, 31),
        backfill=True,
        targets={"dialled_calls": TargetInput(30)},  # 10 for each of the three reps
    )
    org.log(*(org.call(n, at=f"2026-12-02T{9 + n:02}:15:00") for n in range(10)))
    goal_recompute(goal.pk)
    return goal


def test_a_rep_sees_yesterdays_result_closing_and_today_on_track(
    org: Org, morning: time_machine.Coordinates, django_assert_max_num_queries
) -> None:
    goal = daily_goal(org)
    client = client_for(org.rep)
    with django_assert_max_num_queries(15):
        body = client.get("/me/").content.decode()
    today, yesterday = body.index("2026-12-03"), body.index("2026-12-02")
    assert today < yesterday  # the running cycle first
    closing = body[yesterday - 400 : yesterday + 2000]
    assert "Closing" in closing and "<strong>10</strong> of 10" in closing
    assert "Achieved" in closing
    # 08:30, before the working day: nothing is expected yet.
    assert "On track" in body and "Behind" not in body
    panel = client.get("/me/", headers={"HX-Request": "true", "HX-Target": "panel"})
    assert "Closing" in panel.content.decode()

    nightly_close(goal, morning)
    body = client.get("/me/").content.decode()
    assert "2026-12-03" in body and "2026-12-02" not in body and "Closing" not in body
    past = client.get("/me/?tab=past").content.decode()
    assert "2026-12-02" in past and "Achieved" in past


def test_a_manager_sees_the_closing_cycle_under_the_running_one_on_my_team(
    org: Org, morning: time_machine.Coordinates, django_assert_max_num_queries
) -> None:
    goal = daily_goal(org)
    client = client_for(org.east)
    with django_assert_max_num_queries(15):
        body = client.get("/team/").content.decode()
    assert "2026-12-03" in body and "Closing" in body
    card = body[body.index("Closing", body.index("2026-12-02")) :]
    assert "<strong>10</strong> of 20" in card and "Missed" in card  # east's two reps
    assert f"?goal={goal.pk}&cycle=0&member={org.east.pk}" in card
    chosen = client.get(f"/team/?goal={goal.pk}&cycle=0").content.decode()
    assert '2026-12-02 <span class="status status-closing">Closing</span>' in chosen
    assert chosen.count("Closing") == 1  # the shown cycle is the closing one: no second card

    nightly_close(goal, morning)
    assert "Closing" not in client.get("/team/").content.decode()
    assert "Closing" not in client.get(f"/team/?goal={goal.pk}&cycle=0").content.decode()


@pytest.mark.usefixtures("morning")
def test_a_member_of_another_tenant_gets_404_and_no_closing_cycle(org: Org) -> None:
    goal = daily_goal(org)
    outsider = client_for(org.personas.outsider)
    assert outsider.get(f"/team/?goal={goal.pk}&cycle=0").status_code == 404
    assert outsider.get(f"/team/member/{org.rep.pk}/").status_code == 404
    body = outsider.get("/me/").content.decode()
    assert "Company calls" not in body and "Closing" not in body


@pytest.mark.parametrize(
    ("zone", "half_past_two"),
    [
        ("America/New_York", datetime(2026, 12, 3, 7, 30, tzinfo=ZoneInfo("UTC"))),
        ("Australia/Sydney", datetime(2026, 12, 2, 15, 30, tzinfo=ZoneInfo("UTC"))),
    ],
)
def test_at_half_past_two_a_daily_goal_shows_nobody_behind(
    org: Org, zone: str, half_past_two: datetime
) -> None:
    with scopes_disabled():
        Tenant.objects.filter(pk=org.admin.tenant_id).update(time_zone=zone)
    with time_machine.travel(half_past_two, tick=False):
        assert half_past_two.astimezone(ZoneInfo(zone)).strftime("%a %H:%M") == "Thu 02:30"
        goal = org.goal(
            actor=org.admin, team=org.admin, name="Company calls", cycle="daily",
            targets={"dialled_calls": TargetInput(30)},  # 10 for each of the three reps
        )  # fmt: skip
        goal_recompute(goal.pk)
        body = client_for(org.rep).get("/me/").content.decode()
        assert "<strong>0</strong> of 10" in body and "On track" in body
        assert "Behind" not in body
    with time_machine.travel(half_past_two + timedelta(hours=11), tick=False):
        body = client_for(org.rep).get("/me/").content.decode()  # 13:30 there
        assert "<strong>0</strong> of 10" in body and "Behind" in body
