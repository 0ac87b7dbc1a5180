"""Stored quotas: a reorganization leaves a running cycle's targets alone, says so to the
goal's managers, and a re-distribution is previewed and applied explicitly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from achievements.models import Achievement
from achievements.services import goal_recompute
from dashboards.panels import PANELS
from goals.models import Goal, Quota
from goals.quotas import goals_changed, org_change
from goals.services import TargetInput, goal_archive, goal_save, goal_tree
from hierarchy.models import AuditEntry, Member
from hierarchy.services import member_create, member_deactivate, member_move
from tests.conftest import Org, client_for, refreshed
from tests.factories import MemberFactory, TenantFactory
from tests.goals.test_views import basics

ZONE = ZoneInfo(TenantFactory.time_zone)
MONDAY = datetime(2027, 3, 1, 9, 0, tzinfo=ZONE)
TUESDAY = datetime(2027, 3, 2, 11, 0, tzinfo=ZONE)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def lee(org: Org, clock: time_machine.Coordinates) -> Member:
    """A manager with a team of 8 reps, under west."""
    lee = MemberFactory(reports_to=org.west, role=Member.Role.MANAGER, name="Lee Lead")
    for n in range(8):
        MemberFactory(reports_to=lee, name=f"Lee's rep {n}")
    refreshed(lee, org.west, org.east, org.admin)
    return lee


@pytest.fixture
def weekly(org: Org, lee: Member) -> Goal:
    """A weekly goal for the whole company, from this Monday: 110 calls a week."""
    return goal_save(
        draft=org.draft(
            name="Company week",
            team=org.admin,
            cycle="weekly",
            start=MONDAY.date(),
            end=datetime(2027, 3, 28).date(),
            targets={"dialled_calls": TargetInput(Decimal(110))},
        ),
        actor=org.admin,
    )


def quotas(goal: Goal) -> dict[tuple[int, int, datetime], tuple]:
    with scope(tenant=goal.tenant_id):
        rows = Quota.objects.filter(goal=goal).values_list(
            "rule_id", "member_id", "cycle_start", "own", "team", "manager_id", "source"
        )
        return {(rule, member, start): rest for rule, member, start, *rest in rows}


def test_it_stores_the_running_cycles_quotas_when_the_goal_is_created(
    org: Org, lee: Member, weekly: Goal
) -> None:
    stored = quotas(weekly)
    # Eleven people carry a target (rep, rep2, sdr and Lee's eight): 10 calls each.
    owns = [own for own, _team, _manager, _source in stored.values() if own is not None]
    assert owns == [Decimal(10)] * 11
    team = {member: team for (_r, member, _s), (_o, team, _m, _src) in stored.items()}
    assert (team[org.admin.pk], team[lee.pk], team[org.west.pk]) == (110, 80, 90)
    assert {source for *_rest, source in stored.values()} == {Quota.Source.DISTRIBUTION}
    with scope(tenant=weekly.tenant_id):
        assert Quota.objects.filter(goal=weekly).values("set_by").distinct().count() == 1


def test_a_team_moved_mid_week_keeps_its_quotas_until_re_distributed(
    org: Org, lee: Member, weekly: Goal, clock: time_machine.Coordinates
) -> None:
    goal_recompute(weekly.pk)
    before = quotas(weekly)
    clock.move_to(TUESDAY)
    member_move(member=lee, reports_to=org.east, actor=org.admin)
    goal_recompute(weekly.pk)

    assert quotas(weekly) == before  # nobody's quota changed, nor any team total
    with scope(tenant=weekly.tenant_id):
        east_row = Achievement.objects.get(goal=weekly, member=org.east, rule__key="dialled_calls")
    assert east_row.team_target == 20  # east's two reps; Lee's team joins east's next week

    admin = client_for(org.admin)
    page = admin.get(f"/goals/{weekly.pk}/").content.decode()
    notice = "Lee Lead and a team of 8 moved under Person"
    assert notice in page and "targets for this week were not changed. Re-distribute?" in page
    assert notice in admin.get("/team/").content.decode()

    preview = admin.get(f"/goals/{weekly.pk}/redistribute/")
    assert preview.status_code == 200
    rows = {row.member_id: row for row in preview.context["rows"]}
    [(_rule, old, new)] = rows[org.east.pk].cells
    assert (old.team, new.team) == (20, 100)  # side by side: as set, and re-distributed
    assert rows[lee.pk].change == "moved"
    assert quotas(weekly) == before  # a preview changes nothing

    applied = admin.post(f"/goals/{weekly.pk}/redistribute/")
    assert applied.status_code == 302
    after = quotas(weekly)
    east_team = next(v[1] for (r, m, s), v in after.items() if m == org.east.pk)
    assert east_team == 100
    assert {v[3] for v in after.values()} == {Quota.Source.REDISTRIBUTION}
    goal_recompute(weekly.pk)  # as the apply asks after its commit
    with scope(tenant=weekly.tenant_id):
        entry = AuditEntry.objects.get(target_id=weekly.pk, action="goal.redistribute")
        east_row = Achievement.objects.get(goal=weekly, member=org.east, rule__key="dialled_calls")
    assert entry.before["quotas"] != entry.after["quotas"]
    assert east_row.team_target == 100
    page = admin.get(f"/goals/{weekly.pk}/").content.decode()
    assert "Re-distribute?" not in page  # the notice is gone


def test_joiners_hold_no_quota_and_leavers_keep_theirs_with_their_old_team(
    org: Org, lee: Member, weekly: Goal, clock: time_machine.Coordinates
) -> None:
    goal_recompute(weekly.pk)
    before = quotas(weekly)
    clock.move_to(TUESDAY)
    newcomer = member_create(
        tenant=org.admin.tenant, email="new@example.com", name="Nia New", reports_to=lee
    )
    member_deactivate(member=org.rep2, actor=org.admin)
    goal_recompute(weekly.pk)

    assert quotas(weekly) == before
    with scope(tenant=weekly.tenant_id):
        rows = {
            row.member_id: row
            for row in Achievement.objects.filter(
                goal=weekly, rule__key="dialled_calls", cycle_index=0
            )
        }
    assert rows[newcomer.pk].target is None  # no quota until a manager gives one
    assert rows[org.rep2.pk].target == 10  # the leaver's quota stays...
    assert rows[org.east.pk].team_target == 20  # ...with the old team
    page = client_for(org.admin).get(f"/goals/{weekly.pk}/").content.decode()
    assert "Nia New joined the team" in page and "Rita Rep left the team" in page
    assert page.count("no target") == 1  # Nia's row in the stored targets of this week


def test_the_next_cycle_follows_the_team_as_it_is_then(
    org: Org, lee: Member, weekly: Goal, clock: time_machine.Coordinates
) -> None:
    goal_recompute(weekly.pk)
    clock.move_to(TUESDAY)
    member_move(member=lee, reports_to=org.east, actor=org.admin)
    clock.move_to(datetime.combine(datetime(2027, 3, 8).date(), time(9), ZONE))
    goal_recompute(weekly.pk)

    with scope(tenant=weekly.tenant_id):
        east = dict(
            Quota.objects.filter(goal=weekly, member=org.east).values_list("cycle_index", "team")
        )
    assert east == {0: 20, 1: 100}  # last week's as set; this week's from the tree now


def test_only_the_goals_managers_see_and_re_distribute(
    org: Org, lee: Member, weekly: Goal, clock: time_machine.Coordinates
) -> None:
    before = quotas(weekly)
    clock.move_to(TUESDAY)
    member_move(member=lee, reports_to=org.east, actor=org.admin)
    outsider = client_for(org.personas.outsider)
    assert outsider.get(f"/goals/{weekly.pk}/redistribute/").status_code == 404
    assert outsider.post(f"/goals/{weekly.pk}/redistribute/").status_code == 404
    east = client_for(org.east)  # a manager under the goal's team: not its manager
    assert east.post(f"/goals/{weekly.pk}/redistribute/").status_code == 404
    assert "Re-distribute?" not in east.get("/team/").content.decode()
    assert client_for(org.rep).post(f"/goals/{weekly.pk}/redistribute/").status_code == 403
    assert quotas(weekly) == before  # untouched


def test_the_wizard_says_before_saving_when_a_count_gives_someone_zero(org: Org) -> None:
    admin = client_for(org.admin)
    data = basics(org, team=org.admin.pk, cycle="daily") | {
        "step": "distribution", "go": "review", "target-dialled_calls": "2",
    }  # fmt: skip
    page = admin.post("/goals/new/", data)
    warning = "1 of 3 reps would get 0 Dialled calls a day: use a weekly cycle"
    assert page.context["step"] == "review" and warning in page.content.decode()
    data |= {f"method-{org.admin.pk}": "level"}  # east's two share one, west's sdr the other
    page = admin.post("/goals/new/", data)
    assert "would get 0" in page.content.decode()  # rep and rep2 get 1 and 0
    data |= {"target-dialled_calls": "3"}
    assert "would get 0" not in admin.post("/goals/new/", data).content.decode()


@pytest.mark.parametrize(
    ("url", "queries"), [("/goals/{pk}/", 14), ("/goals/{pk}/redistribute/", 12), ("/team/", 10)]
)
def test_the_pages_with_notices_read_a_fixed_number_of_queries(
    org: Org, lee: Member, weekly: Goal, clock: time_machine.Coordinates, url: str, queries: int,
    django_assert_max_num_queries,
) -> None:  # fmt: skip
    goal_recompute(weekly.pk)
    clock.move_to(TUESDAY)
    member_move(member=lee, reports_to=org.east, actor=org.admin)
    for _ in range(10):  # ten more reps moved in: the same number of queries
        member_move(member=MemberFactory(reports_to=org.west), reports_to=lee)
    admin = client_for(org.admin)
    admin.get("/me/")  # the session's first request
    with django_assert_max_num_queries(queries):
        page = admin.get(url.format(pk=weekly.pk))
    assert "Lee Lead and a team of 18 moved under" in page.content.decode()


def test_my_team_tells_every_running_goals_change_in_a_fixed_number_of_queries(
    org: Org, lee: Member, weekly: Goal, clock: time_machine.Coordinates
) -> None:
    """Each goal is told its own team's change, as its own page tells it, in as many queries
    for eight goals as for one."""
    others = [
        goal_save(
            draft=org.draft(
                name=f"West week {n}",
                team=team,
                cycle="weekly",
                start=MONDAY.date(),
                end=datetime(2027, 3, 28).date(),
                targets={"dialled_calls": TargetInput(Decimal(10 + n))},
            ),
            actor=org.admin,
        )  # fmt: skip
        for n, team in zip(range(1, 8), [org.west, lee] * 4, strict=False)
    ]
    clock.move_to(TUESDAY)
    member_move(member=lee, reports_to=org.east, actor=org.admin)
    member_move(member=MemberFactory(reports_to=org.west), reports_to=lee)  # joins Lee's team
    admin = client_for(org.admin)
    admin.get("/me/")  # the session's first request

    def my_team() -> tuple[str, int]:
        PANELS.clear()  # the page's figures: read by each request measured
        with CaptureQueriesContext(connection) as queries:
            page = admin.get("/team/").content.decode()
        return page, len(queries)

    page, eight = my_team()
    assert "Lee Lead and a team of 9 moved under" in page  # the company goal's notice
    now = timezone.now()
    told = {}
    for change in goals_changed([weekly, *others], now):  # what the page tells, goal by goal
        goal = change.goal
        assert f"/goals/{goal.pk}/redistribute/" in page
        alone = org_change(goal, goal_tree(goal.team), goal.cycles(), now)
        assert alone is not None
        told[goal.pk] = change.sentences()
        assert told[goal.pk] == alone.sentences(), goal.name
    # West's goals lost Lee's team, Lee's goals gained a member: told apart.
    assert len(told) == 8
    assert told[others[0].pk] != told[others[1].pk]
    for goal in others:
        goal_archive(goal=goal, actor=org.admin)
    page, one = my_team()
    assert "Lee Lead and a team of 9 moved under" in page
    assert one == eight <= 10


def test_an_edit_of_the_targets_re_derives_the_running_cycle_only(
    org: Org, lee: Member, weekly: Goal, clock: time_machine.Coordinates
) -> None:
    goal_recompute(weekly.pk)
    clock.move_to(datetime(2027, 3, 9, 9, tzinfo=ZONE))  # the second week
    goal_recompute(weekly.pk)
    week_one, week_two_start = (cycle.start for cycle in weekly.cycles()[:2])
    first_week = {k: v for k, v in quotas(weekly).items() if k[2] == week_one}
    assert len(first_week) == 15  # the six of the org, Lee and his eight reps
    member_move(member=lee, reports_to=org.east, actor=org.admin)
    draft = org.draft(
        name="Renamed", team=org.admin, cycle="weekly", start=MONDAY.date(),
        end=datetime(2027, 3, 28).date(), targets={"dialled_calls": TargetInput(Decimal(110))},
    )  # fmt: skip
    goal_save(draft=draft, goal=weekly, actor=org.admin)  # a new name only: nothing re-derived
    with scope(tenant=weekly.tenant_id):
        assert not AuditEntry.objects.filter(action="goal.quotas").exists()
    draft.targets = {"dialled_calls": TargetInput(Decimal(220))}
    goal_save(draft=draft, goal=weekly, actor=org.admin)

    after = quotas(weekly)
    assert {k: v for k, v in after.items() if k[2] == week_one} == first_week  # ended: kept
    assert {start for _r, _m, start in after} == {week_one, week_two_start}
    week_two = {m: v for (_r, m, start), v in after.items() if start == week_two_start}
    assert week_two[org.east.pk][1] == 200  # from the tree as it is now: 10 people, 20 each
    with scope(tenant=weekly.tenant_id):
        entry = AuditEntry.objects.get(action="goal.quotas")
        assert entry.actor == org.admin
    east = org.east.email
    assert entry.before["quotas"][east]["dialled_calls"] == [None, "20.00"]
    assert entry.after["quotas"][east]["dialled_calls"] == [None, "200.00"]


def test_the_batched_reads_refuse_teams_and_goals_of_two_tenants(org: Org, weekly: Goal) -> None:
    """Scoped to one tenant, a second tenant's teams would come back empty and its goals'
    members be told as having left: a mix-up fails loudly instead."""
    from goals.quotas import _org_changes, running_cycle
    from goals.services import goal_tree, goal_trees

    outsider = org.personas.outsider
    with pytest.raises(ValueError, match="one tenant"):
        goal_trees([org.east, outsider])
    other = Goal(tenant=outsider.tenant, team=outsider, name="Elsewhere")
    tree, cycle = goal_tree(weekly.team), running_cycle(weekly.cycles(), TUESDAY)
    with pytest.raises(ValueError, match="one tenant"):
        _org_changes([(weekly, tree, cycle), (other, tree, cycle)])


def test_a_change_is_told_the_same_whatever_order_the_quotas_are_read_in(
    org: Org, lee: Member, weekly: Goal, clock: time_machine.Coordinates
) -> None:
    """People moved under two managers and one who left: PostgreSQL returns the quota rows in
    no set order, and the notice (one goal's or all of a page's) must not follow it."""
    from random import Random

    from goals.quotas import _org_change, running_cycle

    clock.move_to(TUESDAY)
    member_move(member=lee, reports_to=org.east, actor=org.admin)
    member_move(member=org.sdr, reports_to=org.admin, actor=org.admin)
    member_deactivate(member=org.rep2, actor=org.admin)
    cycle = running_cycle(weekly.cycles(), timezone.now())
    with scope(tenant=weekly.tenant_id):
        rows = list(
            Quota.objects.filter(goal=weekly, cycle_start=cycle.start)
            .values_list("member_id", "manager_id", "set_at")
            .distinct()
        )
    tree = goal_tree(weekly.team)
    told = set()
    for seed in range(200):
        change = _org_change(weekly, tree, cycle, Random(seed).sample(rows, len(rows)))
        told.add((tuple((k, tuple(v)) for k, v in change.moved.items()), tuple(change.left)))
    assert len(told) == 1
    ((moved, left),) = told
    assert {manager for manager, _members in moved} == {org.east.pk, org.admin.pk}
    assert left == (org.rep2.pk,)
