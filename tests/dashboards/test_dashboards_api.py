"""GET /api/v1/dashboards and /api/v1/dashboards/{id}: a member's dashboards and their metrics
as the page shows them (``dashboard_shown``), 404 for another tenant's or another audience's,
a query count independent of the team."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from achievements.pace import Pace
from dashboards.api import _values
from dashboards.audience import Shown, Viewpoint, dashboard_shown
from dashboards.dashboard import Progress
from dashboards.models import Dashboard, DashboardMetric
from dashboards.services import dashboard_save
from hierarchy.models import Member
from hierarchy.services import api_token_create
from tests.conftest import Org
from tests.dashboards import test_audience
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

boards = test_audience.boards  # the dashboards the page's tests read, as the fixture here

URL = "/api/v1/dashboards"


def api(member: Member) -> Client:
    """A client with an API token of the member's tenant."""
    _, key = api_token_create(tenant=member.tenant, name="wallboard")
    return Client(headers={"Authorization": f"Bearer {key}"})


def page_shown(dashboard: Dashboard, member: Member) -> list[Shown]:
    """What the page shows the member of the dashboard, from the page's function."""
    with scope(tenant=member.tenant):
        viewer = Member.objects.select_related("tenant").get(pk=member.pk)
        view = Viewpoint.of(viewer, reps_see_team=dashboard.reps_see_team)
        return dashboard_shown(dashboard, view, timezone.now())


def number(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def test_it_lists_the_dashboards_of_the_members_audience(org: Org, boards: dict) -> None:
    client = api(org.admin)
    seen = {}
    for member in (org.admin, org.east, org.rep, org.sdr):
        answer = client.get(URL, {"member": member.email.upper()})  # any case, as elsewhere
        assert answer.status_code == 200
        seen[member.email] = {row["title"]: row for row in answer.json()["items"]}
    assert list(seen[org.admin.email]) == ["Team", "All of us", "SDRs"]  # an admin: every one
    assert list(seen[org.east.email]) == ["Team", "All of us"]
    assert list(seen[org.rep.email]) == ["All of us"]
    assert list(seen[org.sdr.email]) == ["All of us", "SDRs"]
    assert seen[org.admin.email]["Team"] | {"id": 0} == {
        "id": 0, "title": "Team", "audience": "managers", "sales_role": None, "metrics": 3
    }  # fmt: skip
    assert seen[org.sdr.email]["SDRs"]["sales_role"] == org.sdr_role.name


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (None, "Name the member whose dashboards these are: ?member=<email>."),
        ("nobody@example.com", "No active member with the email 'nobody@example.com'"),
    ],
)
def test_it_asks_for_a_member_of_the_tenant_by_field(
    org: Org,
    boards: dict,
    member: str | None,
    message: str,
) -> None:
    client = api(org.admin)
    query = {"member": member} if member else {}
    for url in (URL, f"{URL}/{boards['everyone'].pk}"):
        answer = client.get(url, query)
        assert answer.status_code == 422
        (problem,) = answer.json()["detail"]
        assert problem["loc"] == ["query", "member"] and problem["msg"].startswith(message)
    # another tenant's member is no member of this one
    outsider = client.get(URL, {"member": org.personas.outsider.email})
    assert outsider.status_code == 422


def test_another_tenants_or_another_audiences_dashboard_is_404_like_a_missing_id(
    org: Org,
    boards: dict,
) -> None:
    mine, theirs = api(org.admin), api(org.personas.outsider)
    missing = mine.get(f"{URL}/999999", {"member": org.admin.email})
    assert missing.status_code == 404
    for dashboard in boards.values():
        for member in (org.personas.outsider.email, org.admin.email, None):
            query = {"member": member} if member else {}
            answer = theirs.get(f"{URL}/{dashboard.pk}", query)
            assert (answer.status_code, answer.json()) == (404, missing.json())
        assert theirs.get(URL, {"member": org.personas.outsider.email}).json()["items"] == []
    for member, dashboard in [(org.rep, "managers"), (org.rep, "sdrs"), (org.east, "sdrs")]:
        answer = mine.get(f"{URL}/{boards[dashboard].pk}", {"member": member.email})
        assert (answer.status_code, answer.json()) == (404, missing.json())
    assert mine.get(f"{URL}/{boards['sdrs'].pk}", {"member": org.sdr.email}).status_code == 200


def assert_as_shown(metric: dict[str, Any], shown: Shown) -> None:
    """The API's metric says what the page's ``Shown`` does, number for number."""
    rule = shown.rule
    assert metric["id"] == shown.metric.pk and metric["indicator"] == shown.indicator
    assert metric["problem"] == (shown.problem or None)
    if shown.customers:
        total = shown.customers["metrics"].total
        assert metric["customers"]["total"]["new_customers"] == total.new_customers
        assert metric["customers"]["total"]["spend"] == number(total.spend)
        assert metric["cycle"]["label"] == shown.customers["cycle"].label
        return
    assert (metric["rule"], metric["rule_name"], metric["unit"]) == (rule.key, rule.name, rule.unit)
    assert metric["cycle"] == {
        "label": shown.cycle.label,
        "start": str(shown.cycle.local_start),
        "end": str(shown.cycle.local_end - timedelta(days=1)),
    }
    if shown.bars:
        assert [
            (v["value"], v["target"], v["status"], v["team"], v["held_as"])
            for v in metric["values"]
        ] == [
            (number(b.value), number(b.target), b.status.value, b.team, b.held_as)
            for b in shown.bars
        ]
    else:
        assert metric["goal"] is None
        assert metric["values"][0]["value"] == number(shown.value)
        assert all(v["status"] is None and v["target"] is None for v in metric["values"])
    if shown.trend:
        assert [(p["cycle"]["label"], p["value"], p["target"]) for p in metric["trend"]] == [
            (p.cycle.label, number(p.value), number(p.target)) for p in shown.trend["points"]
        ]
    else:
        assert metric["trend"] is None
    if shown.breakdown:
        assert [(r["label"], r["value"], r["records"]) for r in metric["breakdown"]["rows"]] == [
            (r["label"], number(r["number"]), r["counts"]) for r in shown.breakdown["rows"]
        ]
    else:
        assert metric["breakdown"] is None


def test_a_dashboard_shows_each_metric_as_the_page_does(org: Org, boards: dict) -> None:
    managers = boards["managers"]
    answer = api(org.admin).get(f"{URL}/{managers.pk}", {"member": org.east.email})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["title"], body["member"], body["subject"]) == ("Team", org.east.email,
                                                              org.east.email)  # fmt: skip
    assert (body["whole_team"], body["team_head"]) == (True, None)
    calls, won, customers = body["metrics"]  # leading first: calls, then deals and customers
    shown = {each.metric.pk: each for each in page_shown(managers, org.east)}
    for metric in body["metrics"]:
        assert_as_shown(metric, shown[metric["id"]])
    # the page's numbers, spelled out: east's team's five calls against the goal
    (bar,) = calls["values"]
    assert (bar["value"], bar["team"], calls["goal"]["name"]) == ("5.0000", True, "East calls")
    assert bar["status"] in {"ahead", "on_track", "behind", "achieved"}
    assert len(calls["trend"]) == 3 and calls["breakdown"]["by"] == "type"
    assert calls["breakdown"]["rows"][-1] == {
        "label": "All", "value": "5", "records": [5], "whole": True
    }  # fmt: skip
    assert (won["goal"], won["values"]) == (None, [
        {"value": "0.0000", "target": None, "status": None, "percent": None, "team": True,
         "held_as": "", "final": False}
    ])  # fmt: skip
    assert (customers["kind"], customers["customers"]["total"]["cac"]) == ("customers", None)


def test_a_rep_gets_their_own_numbers_and_their_teams_totals_where_allowed(
    org: Org,
    boards: dict,
) -> None:
    everyone = boards["everyone"]
    with scope(tenant=everyone.tenant):
        dashboard_save(tenant=everyone.tenant, title=everyone.title, audience="everyone",
                       reps_see_team=True, dashboard=everyone)  # fmt: skip
        everyone.refresh_from_db()
    body = api(org.admin).get(f"{URL}/{everyone.pk}", {"member": org.rep2.email}).json()
    assert (body["subject"], body["whole_team"], body["team_head"]) == (
        org.rep2.email, False, org.east.email
    )  # fmt: skip
    (calls,) = body["metrics"]
    (shown,) = page_shown(everyone, org.rep2)
    assert_as_shown(calls, shown)
    assert [(v["value"], v["team"], v["held_as"]) for v in calls["values"]] == [
        ("0.0000", False, ""), ("5.0000", True, "your team")
    ]  # fmt: skip


def test_a_metric_that_cannot_be_computed_says_why(org: Org, boards: dict) -> None:
    everyone = boards["everyone"]
    with scope(tenant=everyone.tenant):
        DashboardMetric.objects.create(
            tenant=everyone.tenant, dashboard=everyone, position=9, ruleset=org.ruleset,
            rule_key="gone",
        )  # fmt: skip
    body = api(org.admin).get(f"{URL}/{everyone.pk}", {"member": org.rep.email}).json()
    gone = next(metric for metric in body["metrics"] if metric["rule"] == "gone")
    assert gone["problem"] == "This metric's rule is no longer in its ruleset."
    assert (gone["values"], gone["cycle"], gone["trend"]) == ([], None, None)


@pytest.mark.parametrize("extra", [0, 60])
def test_the_query_count_does_not_grow_with_the_team(
    org: Org,
    boards: dict,
    extra: int,
    django_assert_max_num_queries,
) -> None:
    for n in range(extra):
        MemberFactory(reports_to=org.east if n % 2 else org.rep)
    client = api(org.admin)
    url = f"{URL}/{boards['managers'].pk}"
    client.get(URL, {"member": org.east.email})  # the token's last use is written once
    with django_assert_max_num_queries(23):
        assert client.get(url, {"member": org.east.email}).status_code == 200
    with django_assert_max_num_queries(4):
        assert client.get(URL, {"member": org.east.email}).status_code == 200


def test_a_reps_own_value_without_a_goal_stays_beside_the_teams_goal_bar(org: Org) -> None:
    """The rep's number has no goal, their team's has: both are given, the rep's first (the
    team's bar once replaced the rep's value)."""
    team_bar = Progress(rule=None, value=Decimal(40), target=Decimal(100), status=Pace.BEHIND,
                        percent=40, expected_percent=50, records_url="", final=False, team=True,
                        held_as="your team")  # fmt: skip
    shown = Shown(DashboardMetric(), value=Decimal(3), bars=[team_bar])
    view = Viewpoint(org.rep2, whole_team=False, team_head=org.east)
    values = _values(shown, view)
    assert [(v["value"], v["team"], v.get("held_as", "")) for v in values] == [
        (Decimal(3), False, ""), (Decimal(40), True, "your team")
    ]  # fmt: skip
    alone = _values(replace(shown, bars=[], team_value=Decimal(9)), view)
    assert [(v["value"], v["team"]) for v in alone] == [(Decimal(3), False), (Decimal(9), True)]
