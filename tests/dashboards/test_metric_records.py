"""The records behind a dashboard metric without a goal: its value, each cycle of its trend and
each bar of its breakdown link to the records page, which lists exactly what they count."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from achievements.services import goal_recompute
from dashboards.audience import Shown, Viewpoint, dashboard_shown
from dashboards.models import Dashboard
from dashboards.services import dashboard_metric_save, dashboard_save
from hierarchy.models import Member
from hierarchy.services import member_move
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save
from tests.conftest import Org, client_for

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 15, tzinfo=UTC)
OUTCOMES = ["connected", "voicemail", "", "connected", "no answer"]


@pytest.fixture
def board(org: Org) -> Dashboard:
    """A managers' dashboard of dialled calls without a goal, by outcome, over three months;
    calls of east's two reps in October and November (some without an outcome) and of west."""
    tenant = org.admin.tenant
    calls = [
        {"external_id": f"c{n}", "owner_email": [org.rep, org.rep2, org.west][n % 3].email,
         "type": "Call", "status": "completed" if n % 7 else "planned",
         "occurred_at": f"2026-{10 + n % 2}-{1 + n % 17:02}T10:00", "outcome": OUTCOMES[n % 5]}
        for n in range(60)
    ]  # fmt: skip
    org.log(*calls)
    with scope(tenant=tenant):
        ruleset = ruleset_save(tenant=tenant, name="No goal", rules=preset_rules("dialled_calls"))
        dashboard = dashboard_save(tenant=tenant, title="Calls", audience="managers")
        dashboard_metric_save(dashboard=dashboard, ruleset=ruleset, rule_key="dialled_calls",
                              breakdown="outcome", trend=3, cycle="monthly")  # fmt: skip
    return dashboard


def shown_to(member: Member, dashboard: Dashboard) -> Shown:
    with scope(tenant=member.tenant), time_machine.travel(NOW, tick=False):
        fresh = Member.objects.select_related("tenant").get(pk=member.pk)
        (shown,) = dashboard_shown(dashboard, Viewpoint.of(fresh), NOW)
    return shown


def behind(client, url: str) -> tuple[int, int]:
    """What the records page behind ``url`` counts, and how many records it lists."""
    with time_machine.travel(NOW, tick=False):
        response = client.get(url)
    assert response.status_code == 200, url
    return int(response.context["counted"]), response.context["page"].paginator.count


def test_the_value_each_bar_and_each_cycle_tie_out_to_their_records(org: Org, board) -> None:
    shown = shown_to(org.east, board)
    assert shown.goal is None and shown.cycle.label == "November 2026"
    expected = sum(1 for n in range(60) if n % 2 and n % 3 != 2 and n % 7)  # east's team's
    assert shown.value == expected
    east = client_for(org.east)
    assert behind(east, shown.records) == (expected, expected)
    rows = shown.breakdown["rows"]
    labels = [row["label"] for row in rows]
    assert labels == ["connected", "no answer", "voicemail", "(none)", "All"]
    for row in rows:
        counted, listed = behind(east, row["links"][0]["url"])
        assert counted == listed == int(row["value"])
    assert sum(int(row["value"]) for row in rows[:-1]) == expected
    points = shown.trend["points"]
    assert [point.cycle.label for point in points] == [
        "September 2026", "October 2026", "November 2026"
    ]  # fmt: skip
    for point in points:
        assert behind(east, point.records) == (point.value, point.value)
    assert points[1].value > 0  # October's calls are counted in October


def test_the_page_shows_the_links(org: Org, board) -> None:
    with time_machine.travel(NOW, tick=False):
        html = client_for(org.east).get(reverse("audience_dashboard", args=[board.pk])).content
    shown = shown_to(org.east, board)
    html = html.decode()
    assert f'href="{shown.records.replace("&", "&amp;")}"' in html
    assert shown.trend["points"][0].records.replace("&", "&amp;") in html


def test_only_those_who_may_see_the_member_see_the_records(org: Org, board) -> None:
    url = shown_to(org.east, board).records
    assert "kind=monthly&day=2026-11-01" in url
    assert behind(client_for(org.admin), url)[0] > 0
    with time_machine.travel(NOW, tick=False):
        assert client_for(org.rep).get(url).status_code == 404  # east is not the rep's to see
        assert client_for(org.west).get(url).status_code == 404  # nor west's
        assert client_for(org.personas.outsider).get(url).status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "hourly"},
        {"kind": ""},
        {"day": "2026-11-02"},  # no month begins that day
        {"day": "November"},
        {"day": "9999-12-01"},
        {"day": "1900-01-01"},
        {"rule": "999999"},
    ],
)
def test_a_cycle_or_rule_that_does_not_exist_is_404(org: Org, board, change) -> None:
    url = urlsplit(shown_to(org.east, board).records)
    query = dict(parse_qsl(url.query)) | change
    with time_machine.travel(NOW, tick=False):
        assert client_for(org.east).get(url.path, query).status_code == 404


def test_another_tenants_rule_is_404(org: Org, board) -> None:
    outsider = org.personas.outsider
    with scope(tenant=outsider.tenant):
        theirs = ruleset_save(
            tenant=outsider.tenant, name="Theirs", rules=preset_rules("dialled_calls")
        ).rules.get()
    url = urlsplit(shown_to(org.east, board).records)
    query = dict(parse_qsl(url.query)) | {"rule": str(theirs.pk)}
    with time_machine.travel(NOW, tick=False):
        assert client_for(org.east).get(url.path, query).status_code == 404


def test_the_breakdown_page_of_a_number_without_a_goal(org: Org, board) -> None:
    url = urlsplit(shown_to(org.east, board).records)
    with time_machine.travel(NOW, tick=False):
        response = client_for(org.east).get(f"{reverse('rule_breakdown')}?{url.query}&by=outcome")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No goal: the value alone" in html and "Goal progress" not in html
    assert '<input type="hidden" name="day" value="2026-11-01">' in html


def test_a_trend_cycle_before_the_member_joined_the_goals_team_ties_out(org: Org) -> None:
    """West logs calls in October, then moves into east's team, whose goal starts in November:
    October on west's trend is west's team's number then, and its link opens those records."""
    calls = [
        {"external_id": f"w{n}", "owner_email": org.west.email, "type": "Call",
         "status": "completed", "occurred_at": f"2026-10-{1 + n:02}T10:00"}
        for n in range(7)
    ]  # fmt: skip
    tenant = org.admin.tenant
    with time_machine.travel(NOW, tick=False):
        org.log(*calls)
        member_move(member=org.west, reports_to=org.east)
        goal = org.goal(
            actor=org.admin, start=date(2026, 11, 1), end=date(2026, 12, 31), backfill=True
        )
        goal_recompute(goal.pk)
        with scope(tenant=tenant):
            board = dashboard_save(tenant=tenant, title="Calls", audience="managers")
            dashboard_metric_save(dashboard=board, ruleset=org.ruleset, rule_key="dialled_calls",
                                  trend=3)  # fmt: skip
    shown = shown_to(org.west, board)
    assert shown.goal == goal
    october = next(p for p in shown.trend["points"] if p.cycle.label == "October 2026")
    assert not october.stored and october.value == 7
    assert behind(client_for(org.west), october.records) == (7, 7)
    for point in shown.trend["points"]:
        assert behind(client_for(org.west), point.records)[0] == point.value


def test_a_number_without_a_goal_is_the_viewers_own(org: Org, board) -> None:
    """A member's team as it stood in a cycle may hold people the viewer never saw: east may
    see west now (west moved under east), not the records of west's team in October."""
    with time_machine.travel(NOW, tick=False):
        member_move(member=org.west, reports_to=org.east)
    own = urlsplit(shown_to(org.west, board).records)
    query = dict(parse_qsl(own.query)) | {"day": "2026-10-01"}
    with time_machine.travel(NOW, tick=False):
        assert client_for(org.west).get(own.path, query).status_code == 200
        assert client_for(org.east).get(own.path, query).status_code == 404
        assert client_for(org.admin).get(own.path, query).status_code == 200


@pytest.mark.parametrize("odd", ["²", "①", "١٢", "12 ", "-1", "9" * 30])
def test_numbers_in_the_query_are_ascii_digits_or_refused(org: Org, board, odd: str) -> None:
    """ "²".isdigit() is true and int("²") fails: every whole number of a query is read by one
    parser, so an odd one is a 404 or the default, never a 500."""
    url = urlsplit(shown_to(org.east, board).records)
    query = dict(parse_qsl(url.query))
    east, admin = client_for(org.east), client_for(org.admin)
    with time_machine.travel(NOW, tick=False):
        assert east.get(url.path, query | {"member": odd}).status_code == 404
        breakdown = east.get(reverse("rule_breakdown"), query | {"by": "outcome", "top": odd})
        assert breakdown.status_code == 200
        split = admin.get(reverse("dashboard_split_fields"), {"rule": f"{odd}:dialled_calls"})
        assert split.status_code == 200 and "choose a rule first" in split.content.decode()


def test_the_edit_page_reads_each_ruleset_once(org: Org, board, django_assert_num_queries) -> None:
    """The label of each metric's field to split by: the same queries for 1 metric or 7."""
    admin = client_for(org.admin)
    edit = reverse("dashboard_edit", args=[board.pk])
    admin.get(edit)
    with CaptureQueriesContext(connection) as one:
        assert admin.get(edit).status_code == 200
    tenant = org.admin.tenant
    with scope(tenant=tenant):
        ruleset = board.metrics.get().ruleset
        for _ in range(6):
            dashboard_metric_save(dashboard=board, ruleset=ruleset, rule_key="dialled_calls",
                                  breakdown="outcome", cycle="weekly")  # fmt: skip
    with django_assert_num_queries(len(one)):
        html = admin.get(edit).content.decode()
    assert html.count("<td>Outcome</td>") == 7
