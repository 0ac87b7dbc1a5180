"""Dashboards with the test client: numbers, units and status words; drill-down; permissions;
CSV export; the query budget at 10 and at 500 members."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, time, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from achievements.services import goal_recompute
from dashboards.fragments import FRAGMENTS
from dashboards.panels import PANELS
from goals.models import Goal
from goals.services import TargetInput
from tests.conftest import Org, client_for
from tests.factories import MemberFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_noon")]


def company_goal(org: Org) -> Goal:
    """A daily goal of the company's calls, with four calls made and computed."""
    goal = org.goal(
        actor=org.admin,
        team=org.admin,
        name="Company calls",
        cycle="daily",
        targets={"dialled_calls": TargetInput(40), "won_value": TargetInput(1000)},
        default_split=Goal.Split.LEVEL,  # halves down the tree: east's reps 10 calls each
    )
    org.log(*(org.call(n, owner=org.rep) for n in range(3)))
    org.log(*(org.call(n, owner=org.sdr) for n in range(1)))
    goal_recompute(goal.pk)
    return goal


@pytest.fixture
def goal(org: Org) -> Goal:
    return company_goal(org)


def test_a_rep_sees_their_bars_with_units_status_and_pace(org: Org, goal: Goal) -> None:
    page = client_for(org.rep).get("/me/")
    body = page.content.decode()
    assert "Company calls" in body and "Dialled calls" in body
    assert "<strong>3</strong> of 10" in body  # 40 calls a day, halved at each level
    assert "USD 0.00</strong> of USD 250.00" in body
    assert 'role="progressbar"' in body and 'aria-valuenow="30"' in body
    assert "pace-marker" in body and "left in" not in body
    assert "/numbers/records/?goal=" in body  # each number links to its records
    assert client_for(org.rep).get("/me/?tab=upcoming").status_code == 200
    assert client_for(org.rep).get("/me/?tab=past").status_code == 200


def test_the_panel_refreshes_itself_as_a_partial(org: Org, goal: Goal) -> None:
    page = client_for(org.rep).get("/me/")
    assert 'hx-trigger="every 30s" data-poll' in page.content.decode()
    partial = client_for(org.rep).get("/me/", headers={"HX-Request": "true", "HX-Target": "panel"})
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="panel"') and "<html" not in body


def test_a_recompute_shows_on_a_panel_at_once(org: Org, goal: Goal) -> None:
    rep = client_for(org.rep)
    assert "<strong>3</strong> of 10" in rep.get("/me/").content.decode()
    manager = client_for(org.east)
    cell = f'member={org.rep.pk}&amp;cycle=0&amp;scope=team">'
    assert f"{cell}3</a>" in manager.get("/team/").content.decode()
    org.log(*(org.call(n, owner=org.rep) for n in range(5)))
    goal_recompute(goal.pk)
    assert "<strong>5</strong> of 10" in rep.get("/me/").content.decode()
    assert f"{cell}5</a>" in manager.get("/team/").content.decode()


def _page(client, url: str) -> str:  # noqa: ANN001
    body = client.get(url).content.decode()
    return re.sub(r'"X-CSRFToken": "[^"]+"|name="csrfmiddlewaretoken" value="[^"]+"', "", body)


def test_a_kept_panel_is_what_a_fresh_render_gives_later(org: Org) -> None:
    """Pace and "updated N ago" follow the clock though the numbers come from memory. At
    noon, tenant time: three hours later is the same daily cycle whenever the test runs."""
    zone = ZoneInfo(org.admin.tenant.time_zone)
    noon = datetime.combine(timezone.now().astimezone(zone).date(), time(12), zone)
    with mock.patch("django.utils.timezone.now", return_value=noon):
        goal = company_goal(org)
        team = f"/team/?goal={goal.pk}&sort=rule-dialled_calls"
        pages = {client_for(org.rep): "/me/", client_for(org.admin): "/team/",
                 client_for(org.east): team}  # fmt: skip
        earlier = {url: _page(client, url) for client, url in pages.items()}
    with mock.patch("django.utils.timezone.now", return_value=noon + timedelta(hours=3)):
        kept = {url: _page(client, url) for client, url in pages.items()}
        PANELS.clear()
        FRAGMENTS.clear()
        fresh = {url: _page(client, url) for client, url in pages.items()}
    assert kept == fresh
    assert all(kept[url] != earlier[url] for url in kept)
    assert 'updated <span class="updated">3 hours</span> ago' in kept["/me/"]
    assert "<strong>3</strong> of 10" in kept["/me/"]


def test_my_team_drills_down_one_level_and_sorts(org: Org, goal: Goal) -> None:
    admin = client_for(org.admin)
    top = admin.get("/team/")
    assert [entry["member"].pk for entry in top.context["reports"]] == [org.east.pk, org.west.pk]
    drill = admin.get(
        f"/team/?goal={goal.pk}&member={org.east.pk}",
        headers={"HX-Request": "true", "HX-Target": "team-panel"},
    )
    body = drill.content.decode()
    assert body.lstrip().startswith('<section id="team-panel"')
    assert org.rep.name in body and org.sdr.name not in body
    assert f">{org.admin.name}</a> ›" in body  # the breadcrumb back up
    ranked = admin.get(f"/team/?goal={goal.pk}&member={org.east.pk}&sort=rule-dialled_calls")
    assert [e["member"].pk for e in ranked.context["reports"]] == [org.rep.pk, org.rep2.pk]


def test_a_manager_sees_their_part_of_a_company_goal_and_nothing_else(org: Org, goal: Goal) -> None:
    east = client_for(org.east)
    page = east.get("/team/")
    assert page.context["node"] == org.east
    assert east.get(f"/team/?goal={goal.pk}&member={org.west.pk}").status_code == 404
    assert east.get(f"/team/member/{org.sdr.pk}/").status_code == 404
    assert east.get(f"/team/member/{org.rep.pk}/").status_code == 200
    progress = east.get(f"/goals/{goal.pk}/progress/").content.decode()  # their part only
    assert org.rep.name in progress and org.sdr.name not in progress
    export = east.get(f"/goals/{goal.pk}/achievements.csv").content.decode()
    assert org.rep.email in export and org.sdr.email not in export
    assert east.get("/overview/").status_code == 403


def test_another_tenant_gets_404_and_an_empty_page(org: Org, goal: Goal) -> None:
    outsider = client_for(org.personas.outsider)
    for url in (
        f"/goals/{goal.pk}/progress/",
        f"/goals/{goal.pk}/achievements.csv",
        f"/team/member/{org.rep.pk}/",
        f"/team/?goal={goal.pk}&member={org.rep.pk}",
    ):
        assert outsider.get(url).status_code == 404, url
    assert "No goals in progress" in outsider.get("/me/").content.decode()
    assert "Company calls" not in outsider.get("/overview/").content.decode()


def test_progress_page_chart_and_csv_export(org: Org, goal: Goal) -> None:
    admin = client_for(org.admin)
    page = admin.get(f"/goals/{goal.pk}/progress/").content.decode()
    assert '<svg class="chart"' in page and "<title>" in page
    export = admin.get(f"/goals/{goal.pk}/achievements.csv")
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert list(rows[0]) == [
        "member", "member_name", "rule", "rule_name", "cycle", "cycle_start", "cycle_end",
        "value", "target", "team_value", "team_target", "status", "final",
    ]  # fmt: skip
    mine = [r for r in rows if r["member"] == org.rep.email and r["rule"] == "dialled_calls"]
    assert (mine[0]["value"], mine[0]["target"]) == ("3.0000", "10.00")


def test_a_manager_sees_their_part_of_a_goal_set_above_them(
    org: Org, django_assert_max_num_queries
) -> None:
    goal = org.goal(actor=org.admin, team=org.admin, name="Company calls")
    org.log(*(org.call(n) for n in range(3)))
    org.log(org.call(9, owner=org.sdr))
    goal_recompute(goal.pk)
    east = client_for(org.east)
    with django_assert_max_num_queries(12):
        page = east.get(f"/goals/{goal.pk}/progress/").content.decode()
    assert f"Your part: {org.east.name}'s team" in page and org.rep.name in page
    assert org.sdr.name not in page and org.west.name not in page
    assert f'/goals/{goal.pk}/"' not in page  # no link to the targets page, not theirs
    export = east.get(f"/goals/{goal.pk}/achievements.csv").content.decode()
    members = {row["member"] for row in csv.DictReader(io.StringIO(export))}
    assert members == {org.east.email, org.rep.email, org.rep2.email}
    assert client_for(org.west).get(f"/goals/{org.goal().pk}/progress/").status_code == 404
    outsider = client_for(org.personas.outsider)
    assert outsider.get(f"/goals/{goal.pk}/progress/").status_code == 404


def test_the_overview_shows_every_goal_with_its_team_progress(org: Org, goal: Goal) -> None:
    body = client_for(org.admin).get("/overview/").content.decode()
    assert "Company calls" in body and "In progress" in body
    assert "<strong>4</strong> of 40" in body


@pytest.mark.parametrize("extra", [0, 500])
def test_every_dashboard_takes_at_most_15_queries(
    org: Org, goal: Goal, extra: int, django_assert_max_num_queries
) -> None:
    for n in range(extra):
        MemberFactory(reports_to=org.east if n % 2 else org.west)
    goal_recompute(goal.pk)
    pages = {
        org.rep: ["/me/", "/me/?tab=past", "/me/?tab=upcoming"],
        org.east: ["/team/", f"/team/?goal={goal.pk}&member={org.rep.pk}",
                   f"/team/member/{org.rep.pk}/"],
        org.admin: ["/team/", f"/goals/{goal.pk}/progress/", "/overview/",
                    f"/team/?goal={goal.pk}&member={org.east.pk}&sort=rule-dialled_calls"],
    }  # fmt: skip
    for viewer, urls in pages.items():
        client = client_for(viewer)
        for url in urls:
            with django_assert_max_num_queries(15):
                assert client.get(url).status_code == 200, url
            with django_assert_max_num_queries(15):
                client.get(url, headers={"HX-Request": "true", "HX-Target": "panel"})


def test_each_role_lands_on_its_numbers(org: Org) -> None:
    landing = {org.admin: "/overview/", org.east: "/team/", org.rep: "/me/"}
    for member, page in landing.items():
        response = client_for(member).get("/")
        assert (response.status_code, response.url) == (302, page)
    assert Client().get("/").url == "/login/?next=/"


def test_a_zero_target_shows_no_target_never_achieved(org: Org) -> None:
    goal = org.goal(
        actor=org.admin, team=org.admin, name="Thin calls", cycle="daily",
        targets={"dialled_calls": TargetInput(2)},  # east and west 1 each: one of east's reps 0
    )  # fmt: skip
    goal_recompute(goal.pk)
    bodies = [client_for(rep).get("/me/").content.decode() for rep in (org.rep, org.rep2)]
    zero = [body for body in bodies if "its target is 0" in body]
    assert len(zero) == 1
    assert "No target" in zero[0] and "Achieved" not in zero[0] and "pace-marker" not in zero[0]
    outsider = client_for(org.personas.outsider).get("/me/").content.decode()
    assert "Thin calls" not in outsider


def test_a_manager_is_assigned_their_teams_targets(org: Org) -> None:
    goal = org.goal(actor=org.admin, team=org.admin, name="Company calls")
    org.log(*(org.call(n) for n in range(3)))
    goal_recompute(goal.pk)
    with scopes_disabled():
        team_target = goal.achievements.get(member=org.east, rule__key="dialled_calls").team_target
    page = client_for(org.east).get("/me/").content.decode()
    assert "Company calls" in page and "No goals in progress" not in page
    label = f"Dialled calls (your team): 3 of {team_target:.0f}"
    assert label in page
    rep = client_for(org.rep).get("/me/").content.decode()
    assert "your team" not in rep and "Dialled calls: 3 of" in rep
