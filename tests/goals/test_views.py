"""Goal pages with the test client: the wizard's steps, the live check, permissions, archive."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django_scopes import scope, scopes_disabled

from goals.models import Goal
from hierarchy.models import AuditEntry
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save
from tests.conftest import Org, client_for
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def basics(org: Org, **changes: Any) -> dict[str, Any]:
    draft = org.draft()
    return {
        "name": "East calls",
        "ruleset": org.ruleset.pk,
        "team": org.east.pk,
        "cycle": "monthly",
        "start": str(draft.start),
        "end": str(draft.end),
        "holders": "reps",
    } | changes


def next_month(org: Org) -> dict[str, str]:
    """Dates of a goal starting on the 1st of next month: its first cycle is a full month."""
    first = (org.today.replace(day=1) + timedelta(days=32)).replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return {"start": str(first), "end": str(last)}


def percentages(org: Org, rep: str, rep2: str) -> dict[str, str]:
    return {
        f"method-{org.east.pk}": "percentage",
        f"share-{org.east.pk}-{org.rep.pk}": rep,
        f"share-{org.east.pk}-{org.rep2.pk}": rep2,
    }


def test_a_manager_walks_the_wizard_and_creates_a_goal(org: Org) -> None:
    manager = client_for(org.east)
    assert manager.get("/goals/new/").status_code == 200
    data = basics(org, **next_month(org)) | {"step": "basics", "go": "targets"}
    page = manager.post("/goals/new/", data)
    assert page.context["step"] == "targets"
    data |= {"step": "targets", "go": "distribution", "target-dialled_calls": "100"}
    page = manager.post("/goals/new/", data)
    assert page.context["step"] == "distribution"
    assert [row["member"] for row in page.context["rows"]] == [org.east, org.rep, org.rep2]
    data |= {"step": "distribution", "go": "review"} | percentages(org, "60", "40")
    page = manager.post("/goals/new/", data)
    assert page.context["step"] == "review" and not page.context["errors"]
    response = manager.post("/goals/new/", data | {"step": "review", "save": "1"})
    with scope(tenant=org.admin.tenant):
        goal = Goal.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/goals/{goal.pk}/"
    detail = manager.get(f"/goals/{goal.pk}/")
    shares = {row["member"].pk: row["targets"]["dialled_calls"] for row in detail.context["rows"]}
    assert (shares[org.rep.pk].own, shares[org.rep2.pk].own) == (60, 40)
    assert b"goal.create" in detail.content
    # Editing opens on the goal as saved: every step's inputs are on the page, so going
    # through the steps keeps the targets and the split.
    edit = manager.get(f"/goals/{goal.pk}/edit/").content.decode()
    assert 'name="target-dialled_calls" value="100"' in edit
    assert f'name="share-{org.east.pk}-{org.rep.pk}"' in edit
    assert re.search(rf'name="share-{org.east.pk}-{org.rep.pk}"[^>]*value="60', edit)


def test_the_live_check_says_by_how_much_percentages_miss(org: Org) -> None:
    manager = client_for(org.east)
    data = basics(org, **next_month(org)) | {"step": "distribution", "target-dialled_calls": "100"}
    data |= percentages(org, "60", "30")
    page = manager.post("/goals/new/?check=1", data, headers={"HX-Request": "true"})
    body = page.content.decode()
    assert body.lstrip().startswith('<div id="distribution">')  # the step alone
    assert "Percentages add up to 90%: 10 short of 100%." in body
    fixed = manager.post(
        "/goals/new/?check=1", data | percentages(org, "60", "40"), headers={"HX-Request": "true"}
    )
    assert "short of" not in fixed.content.decode()
    assert "60 / 60" in fixed.content.decode()
    # While numbers are typed, only the results come back (out of band): inputs stay as typed.
    results = manager.post(
        "/goals/new/?check=results",
        data | percentages(org, "60", "40"),
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "<input" not in results and 'hx-swap-oob="true"' in results
    assert f'id="target-{org.rep.pk}-dialled_calls" hx-swap-oob="true">60 / 60<' in results


def test_back_dating_is_refused_for_a_manager(org: Org) -> None:
    past = str(org.today - timedelta(days=10))
    data = basics(org, start=past) | {"step": "review", "save": "1", "target-dialled_calls": "5"}
    page = client_for(org.east).post("/goals/new/", data)
    assert page.status_code == 200 and page.context["step"] == "basics"
    assert "is in the past" in page.context["errors"]["start"]
    with scope(tenant=org.admin.tenant):
        assert not Goal.objects.exists()


def test_editing_uses_the_same_screens_and_an_ended_goal_is_read_only(org: Org) -> None:
    goal = org.goal()
    manager = client_for(org.east)
    page = manager.get(f"/goals/{goal.pk}/edit/")
    assert page.status_code == 200
    assert page.context["form"]["name"].value() == "East calls"
    assert page.context["form"].fields["team"].disabled  # in progress: the team is fixed
    data = basics(org, name="East calls, raised") | {
        "step": "review",
        "save": "1",
        "target-dialled_calls": "150",
    }
    assert manager.post(f"/goals/{goal.pk}/edit/", data).status_code == 302
    with scopes_disabled():
        goal.refresh_from_db()
    assert goal.name == "East calls, raised"
    with scope(tenant=org.admin.tenant):
        assert AuditEntry.objects.filter(action="goal.edit", target_id=goal.pk).exists()
    start = org.today - timedelta(days=40)
    ended = org.goal(actor=org.admin, start=start, end=start + timedelta(days=5), backfill=True)
    assert manager.get(f"/goals/{ended.pk}/edit/").status_code == 409


def test_archive_keeps_the_goal(org: Org) -> None:
    goal = org.goal()
    response = client_for(org.east).post(f"/goals/{goal.pk}/archive/")
    assert response.status_code == 302
    with scopes_disabled():
        goal.refresh_from_db()
    assert goal.archived_at is not None
    listing = client_for(org.east).get("/goals/?tab=archived")
    assert [g.pk for g in listing.context["goals"]] == [goal.pk]


def test_managers_see_only_their_subtree_reps_none_and_other_tenants_404(org: Org) -> None:
    east_goal = org.goal()
    west_goal = org.goal(actor=org.admin, team=org.west, name="West calls")
    west = client_for(org.west)
    assert [g.pk for g in west.get("/goals/").context["goals"]] == [west_goal.pk]
    for url in (f"/goals/{east_goal.pk}/", f"/goals/{east_goal.pk}/edit/"):
        assert west.get(url).status_code == 404
    assert west.post(f"/goals/{east_goal.pk}/archive/").status_code == 404
    form = west.get("/goals/new/").context["form"]
    with scope(tenant=org.admin.tenant):
        assert list(form.fields["team"].queryset) == [org.west, org.sdr]
    assert client_for(org.rep).get("/goals/").status_code == 403
    outsider = client_for(org.personas.outsider)
    for url in (f"/goals/{east_goal.pk}/", f"/goals/{east_goal.pk}/edit/"):
        assert outsider.get(url).status_code == 404
    admin = client_for(org.admin)
    assert {g.pk for g in admin.get("/goals/").context["goals"]} == {east_goal.pk, west_goal.pk}


def test_a_sales_roles_kpis_skip_the_distribution(org: Org) -> None:
    admin = client_for(org.admin)
    data = basics(
        org, team=org.admin.pk, sales_role=org.sdr_role.pk, name="SDR weekly", cycle="weekly"
    )
    data |= {"step": "review", "save": "1", "target-dialled_calls": "60"}
    assert admin.post("/goals/new/?kind=templates", data).status_code == 302
    listing = admin.get("/goals/?kind=templates")
    assert [g.sales_role.name for g in listing.context["goals"]] == ["SDR"]


def test_pages_take_the_same_queries_for_any_team_size(
    org: Org, django_assert_max_num_queries
) -> None:
    goal = org.goal()
    for _ in range(40):
        MemberFactory(reports_to=org.east)
    manager = client_for(org.east)
    data = basics(org) | {"step": "distribution", "target-dialled_calls": "100"}
    with django_assert_max_num_queries(20):
        manager.get(f"/goals/{goal.pk}/")
    with django_assert_max_num_queries(12):
        manager.get("/goals/")
    with django_assert_max_num_queries(20):
        manager.post("/goals/new/?check=1", data, headers={"HX-Request": "true"})


def test_a_goal_set_above_a_manager_is_listed_with_a_way_to_their_part(org: Org) -> None:
    company = org.goal(actor=org.admin, team=org.admin, name="Company calls")
    listing = client_for(org.east).get("/goals/")
    assert [g.pk for g in listing.context["goals"]] == [company.pk]
    assert f'href="/team/?goal={company.pk}"' in listing.content.decode()
    assert client_for(org.east).get(f"/goals/{company.pk}/").status_code == 404  # the whole tree


def test_a_duration_target_is_written_in_hours_and_minutes(org: Org) -> None:
    ruleset = ruleset_save(
        tenant=org.admin.tenant, name="Talk time", rules=preset_rules("call_duration")
    )
    manager = client_for(org.east)
    data = basics(org, ruleset=ruleset.pk) | {"step": "targets", "go": "distribution"}
    page = manager.post("/goals/new/", data | {"target-call_duration": "an hour"})
    assert "is not a duration: write minutes (90) or hours and minutes" in page.content.decode()
    data = basics(org, ruleset=ruleset.pk) | {"step": "review", "save": "1"}
    response = manager.post("/goals/new/", data | {"target-call_duration": "1 h 30 min"})
    assert response.status_code == 302, response.context["errors"]
    with scope(tenant=org.admin.tenant):
        goal = Goal.objects.get()
        assert goal.targets.get().amount == 5400  # seconds
    edit = manager.get(f"/goals/{goal.pk}/edit/").content.decode()
    assert 'value="1 h 30 min"' in edit and "minutes, or hours and minutes" in edit
    assert client_for(org.personas.outsider).get(f"/goals/{goal.pk}/edit/").status_code == 404


def test_a_step_says_nothing_before_the_person_has_been_on_it(org: Org) -> None:
    manager = client_for(org.east)
    data = basics(org, **next_month(org)) | {"step": "basics", "go": "targets"}
    page = manager.post("/goals/new/", data)
    assert page.context["step"] == "targets" and page.context["errors"] == {}
    page = manager.post("/goals/new/", data | {"step": "targets", "go": "distribution"})
    assert page.context["errors"] == {"targets": "Give a target for at least one rule."}
    skipping = data | {"go": "review", "save": "1", "target-dialled_calls": "x"}
    assert manager.post("/goals/new/", skipping).status_code == 200  # nothing saved
    with scopes_disabled():
        assert not Goal.objects.exists()


def test_switching_to_percentages_starts_from_equal_shares(org: Org) -> None:
    manager = client_for(org.east)
    data = basics(org, **next_month(org)) | {"step": "distribution", "go": "distribution"}
    data |= {"target-dialled_calls": "100", f"method-{org.east.pk}": "percentage"}
    page = manager.post("/goals/new/", data)
    assert page.context["errors"] == {}
    inputs = page.context["inputs"]
    shares = [inputs[f"share-{org.east.pk}-{rep.pk}"] for rep in (org.rep, org.rep2)]
    assert shares == ["50", "50"]
    body = page.content.decode()
    assert re.search(rf'name="share-{org.east.pk}-{org.rep.pk}"[^>]*value="50"', body)
    data[f"method-{org.east.pk}"] = "custom"  # amounts: no start, and a sentence with names
    body = manager.post("/goals/new/", data).content.decode()
    assert f"no share for {org.rep.name}, {org.rep2.name}" in body
    outsider = client_for(org.personas.outsider).post("/goals/new/", data)  # not their team
    assert "Select a valid choice" in outsider.content.decode()
    assert org.rep.name not in outsider.content.decode()


def test_each_target_suggests_the_teams_last_cycles_plus_ten_percent(org: Org) -> None:
    week = org.today - timedelta(days=org.today.weekday())  # this Monday
    start = week + timedelta(days=7)
    calls = []
    for weeks_back, count in ((1, 10), (2, 12), (3, 8), (4, 10), (6, 50)):  # week 6: too old
        day = start - timedelta(days=7 * weeks_back - 2)  # a Wednesday of that week
        calls += [org.call(len(calls) + n, at=f"{day}T12:{n:02}:00+00:00") for n in range(count)]
    org.log(*calls)
    manager = client_for(org.east)
    data = basics(org, cycle="weekly", start=str(start), end=str(start + timedelta(days=27)))
    page = manager.post("/goals/new/", data | {"step": "basics", "go": "targets"})
    assert page.context["step"] == "targets"
    suggestion = page.context["suggestions"]["dialled_calls"]
    assert (suggestion.average, suggestion.value) == (10, 11)
    body = page.content.decode()
    assert "Last 4 weeks averaged 10; +10%: 11" in body
    assert "conversion_rate" not in page.context["suggestions"]  # no leads: nothing to go by


def test_a_goal_for_one_person_is_one_click_from_their_page(org: Org) -> None:
    """A member's pages link to the wizard with the member as the team; for a rep without
    reports the person is the team and holds the whole target."""
    manager = client_for(org.east)
    link = f"/goals/new/?team={org.rep.pk}"
    assert link in manager.get(f"/team/member/{org.rep.pk}/").content.decode()
    assert link in manager.get(f"/organization/members/{org.rep.pk}/").content.decode()
    form = manager.get(link).context["form"]
    assert form.initial["team"] == org.rep.pk
    assert form.initial["name"] == f"{org.rep.name}'s goals"
    data = basics(org, name=form.initial["name"], team=org.rep.pk, **next_month(org))
    data |= {"step": "review", "go": "review", "target-dialled_calls": "40"}
    page = manager.post("/goals/new/", data)
    assert [row["member"] for row in page.context["rows"]] == [org.rep]
    assert not page.context["errors"]
    response = manager.post("/goals/new/", data | {"save": "1"})
    assert response.status_code == 302
    detail = manager.get(response["Location"])
    (row,) = detail.context["rows"]
    assert (row["member"], row["targets"]["dialled_calls"].own) == (org.rep, 40)
    # Someone outside the manager's team, or another tenant's member, is not offered.
    assert manager.get(f"/goals/new/?team={org.sdr.pk}").status_code == 404
    assert manager.get(f"/goals/new/?team={org.personas.outsider.pk}").status_code == 404
    assert client_for(org.personas.outsider).get(link).status_code == 404
    for odd in ("²", "①", "9" * 30):  # not a member id: the wizard as it opens without one
        assert manager.get(f"/goals/new/?team={odd}").status_code == 200
