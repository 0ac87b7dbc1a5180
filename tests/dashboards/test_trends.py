"""Trends: a rule over the last N cycles, from a goal's stored achievements where it has them
and computed on the fly (one query for every cycle) where not, with the target line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_scopes import scope

from achievements.services import goal_recompute
from dashboards.records import Rules
from dashboards.trends import goal_stored, rule_trend, trend_cycles
from goals.calendar import TenantCalendar
from goals.models import Goal, tenant_calendar
from goals.services import TargetInput
from tests.conftest import Org, client_for
from tests.factories import MemberFactory

from .test_breakdowns import other_tenants_goal

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 18, 12, tzinfo=ZONE)  # a Wednesday
THIS_WEEK = date(2026, 11, 16)
WEEKS = 8  # of calls: week w (0 the oldest) has w + 1 calls and w + 2 new leads, one converted


@pytest.fixture
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def goal(clock: None, org: Org) -> Goal:
    """A weekly goal of the company that began three weeks ago (four cycles, backfilled), and
    eight weeks of calls and leads: the first four weeks before the goal."""
    goal = org.goal(
        actor=org.admin,
        team=org.admin,
        name="Weekly calls",
        cycle="weekly",
        start=THIS_WEEK - timedelta(weeks=3),
        end=THIS_WEEK + timedelta(weeks=4, days=-1),
        backfill=True,
        targets={"dialled_calls": TargetInput(6), "conversion_rate": TargetInput(30)},
    )
    owners = [org.rep, org.rep2, org.sdr]
    calls, leads = [], []
    for week in range(WEEKS):
        monday = THIS_WEEK - timedelta(weeks=WEEKS - 1 - week)
        for n in range(week + 1):
            calls.append(org.call(100 * week + n, at=f"{monday}T10:{n:02}", owner=owners[n % 3]))
        for n in range(week + 2):
            converted = n == 0
            leads.append(
                {"external_id": f"l{week}-{n}", "owner_email": owners[n % 3].email,
                 "name": "Lead", "created_at": f"{monday}T09:00",
                 "status": "converted" if converted else "new",
                 **({"converted_at": f"{monday}T11:00"} if converted else {})}
            )  # fmt: skip
    org.log(*calls)
    org.log(*leads, entity="lead")
    goal_recompute(goal.pk)
    return goal


def rule_of(goal: Goal, key: str):  # noqa: ANN201
    with scope(tenant=goal.tenant_id):
        rule = goal.ruleset.rules.get(key=key)
        return rule, Rules.of(goal.tenant, rule)


def url(goal: Goal, key: str, member: int, cycles: int = WEEKS) -> str:
    rule, _ = rule_of(goal, key)
    return f"/numbers/trend/?goal={goal.pk}&rule={rule.pk}&member={member}&cycles={cycles}"


def test_stored_and_computed_values_agree(org: Org, goal: Goal) -> None:
    points = client_for(org.admin).get(url(goal, "dialled_calls", org.admin.pk)).context["points"]
    assert [p.cycle.local_start for p in points] == [
        THIS_WEEK - timedelta(weeks=WEEKS - 1 - w) for w in range(WEEKS)
    ]
    assert [p.value for p in points] == list(range(1, WEEKS + 1))
    assert [p.stored for p in points] == [False] * 4 + [True] * 4  # the goal's four weeks
    trend = [p.cycle for p in points]
    for key in ("dialled_calls", "conversion_rate"):
        rule, rules = rule_of(goal, key)
        with scope(tenant=goal.tenant_id):
            stored = goal_stored(goal, rule.pk, org.admin.pk, trend)
            from_goal = rule_trend(rules, tenant=goal.tenant, trend=trend, member=org.admin.pk,
                                   stored=stored)  # fmt: skip
            computed = rule_trend(rules, tenant=goal.tenant, trend=trend, member=org.admin.pk)
        assert len(stored) == 4
        assert [p.value for p in from_goal] == [p.value for p in computed]
        assert all(p.target is None for p in computed)
    rates = [p.value for p in computed]  # the conversion rate: 1 of w + 2 leads a week
    assert rates == [(Decimal(100) / (w + 2)).quantize(Decimal("0.0001")) for w in range(WEEKS)]


def test_a_teams_trend_counts_its_members_only(org: Org, goal: Goal) -> None:
    points = client_for(org.east).get(url(goal, "dialled_calls", org.east.pk)).context["points"]
    # calls n % 3 in (0, 1): the rep's and Rita's, not Sam's (West)
    assert [p.value for p in points] == [sum(n % 3 < 2 for n in range(w + 1)) for w in range(WEEKS)]


@pytest.mark.parametrize("count", [4, 12])
def test_one_query_computes_every_cycle(
    org: Org, goal: Goal, count: int, django_assert_num_queries
) -> None:
    trend = trend_cycles(tenant_calendar(goal.tenant), "weekly", through=NOW.date(), count=count,
                         anchor=goal.start)  # fmt: skip
    for key, queries in (("dialled_calls", 1), ("conversion_rate", 2)):  # per counted rule
        _rule, rules = rule_of(goal, key)
        with scope(tenant=goal.tenant_id), django_assert_num_queries(1 + queries):  # + the lines
            points = rule_trend(rules, tenant=goal.tenant, trend=trend, member=org.admin.pk)
        assert len(points) == count


def test_the_chart_has_the_target_line_of_the_goals_cycles(org: Org, goal: Goal) -> None:
    response = client_for(org.admin).get(url(goal, "dialled_calls", org.admin.pk))
    body = response.content.decode()
    assert body.count('<line class="target"') == 4  # the goal's weeks; none before it began
    assert 'role="img"' in body and "the line is the target" in body
    assert body.count("computed now") == 4 and body.count("the goal's numbers") == 4
    partial = client_for(org.admin).get(
        url(goal, "dialled_calls", org.admin.pk), headers={"HX-Request": "true"}
    )
    assert partial.content.decode().lstrip().startswith('<section class="trend"')
    progress = client_for(org.admin).get(f"/goals/{goal.pk}/progress/").content.decode()
    assert "/numbers/trend/?goal=" in progress and "Last 12 cycles" in progress


def test_people_outside_a_trend_get_404(org: Org, goal: Goal) -> None:
    outsider = client_for(org.personas.outsider)
    assert outsider.get(url(goal, "dialled_calls", org.admin.pk)).status_code == 404
    admin = client_for(org.admin)
    assert admin.get(url(goal, "dialled_calls", org.personas.outsider.pk)).status_code == 404
    assert client_for(org.west).get(url(goal, "dialled_calls", org.rep.pk)).status_code == 404
    assert client_for(org.rep).get(url(goal, "dialled_calls", org.east.pk)).status_code == 404
    theirs = other_tenants_goal(org)
    assert admin.get(url(theirs, "dialled_calls", org.admin.pk)).status_code == 404
    assert admin.get("/numbers/trend/?goal=x").status_code == 404


@pytest.mark.parametrize("extra", [0, 300])
def test_the_query_count_does_not_grow_with_the_team(
    org: Org, goal: Goal, extra: int, django_assert_max_num_queries
) -> None:
    for n in range(extra):
        MemberFactory(reports_to=org.east if n % 2 else org.west)
    asked = url(goal, "conversion_rate", org.admin.pk, cycles=12)
    admin = client_for(org.admin)
    with django_assert_max_num_queries(14):
        assert admin.get(asked).status_code == 200


@pytest.mark.parametrize(
    ("kind", "through", "count", "first", "last"),
    [
        ("weekly", date(2026, 11, 18), 12, date(2026, 8, 31), date(2026, 11, 16)),
        ("daily", date(2026, 11, 18), 3, date(2026, 11, 16), date(2026, 11, 18)),
        ("monthly", date(2026, 11, 18), 12, date(2025, 12, 1), date(2026, 11, 1)),
        ("quarterly", date(2026, 11, 18), 4, date(2026, 1, 1), date(2026, 10, 1)),
        ("yearly", date(2026, 1, 5), 2, date(2025, 1, 1), date(2026, 1, 1)),
        # biweekly cycles pair the weeks as the goal begun on 2026-11-09 does
        ("biweekly", date(2026, 11, 18), 3, date(2026, 10, 12), date(2026, 11, 9)),
        ("biweekly", date(2026, 11, 25), 3, date(2026, 10, 26), date(2026, 11, 23)),
    ],
)
def test_a_trend_is_whole_cycles_up_to_the_one_of_its_last_day(kind, through, count, first, last):
    calendar = TenantCalendar(time_zone="Europe/Berlin")
    trend = trend_cycles(calendar, kind, through=through, count=count, anchor=date(2026, 11, 9))
    assert len(trend) == count
    assert (trend[0].local_start, trend[-1].local_start) == (first, last)
    assert not any(cycle.partial for cycle in trend)
    assert all(a.end == b.start for a, b in zip(trend, trend[1:], strict=False))
    assert trend[-1].local_start <= through < trend[-1].local_end
