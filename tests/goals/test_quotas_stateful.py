"""Random trees, moves, joins and leaves at random times under a random goal: a running cycle's
stored quotas never change unless re-distributed, closed cycles never change, and every stored
cycle's shares add up exactly to their parent."""

from __future__ import annotations

import contextlib
import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django_scopes import scope
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from achievements.models import Achievement
from achievements.services import goal_recompute
from crm.models import ActivityType
from goals.models import Goal, Quota
from goals.quotas import quotas_redistribute, running_cycle
from goals.services import GoalDraft, TargetInput, goal_save
from hierarchy.models import Member
from hierarchy.services import member_create, member_deactivate, member_move, tenant_create
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save

_serial = itertools.count()
START = datetime(2027, 3, 1, 9, 0, tzinfo=ZoneInfo("UTC"))  # a Monday

Cell = tuple[int, int]  # (rule id, member id)
Stored = dict[Cell, tuple[Decimal | None, Decimal, int | None]]  # own, team, manager


class QuotaMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.travel = time_machine.travel(START, tick=False)
        self.clock = self.travel.start()
        self.now = START
        n = next(_serial)
        zone = ["UTC", "America/New_York", "Asia/Kolkata"][n % 3]
        self.admin = tenant_create(
            name=f"Q {n}", slug=f"q-{n}", time_zone=zone, admin_email=f"root{n}@q.example"
        )
        self.tenant = self.admin.tenant
        with scope(tenant=self.tenant):
            ActivityType.objects.create(tenant=self.tenant, name="Call", category="call")
        rules = preset_rules("dialled_calls") + preset_rules("won_value", currency="USD")
        self.ruleset = ruleset_save(tenant=self.tenant, name="Basics", rules=rules)
        self.ids = [self.admin.pk]
        self.seen: dict[datetime, Stored] = {}  # each cycle's quotas as first seen or re-set
        self.goal: Goal | None = None

    def teardown(self) -> None:
        self.travel.stop()

    def _member(self, pk: int) -> Member:
        with scope(tenant=self.tenant):
            return Member.objects.get(pk=pk)

    @initialize(
        data=st.data(),
        size=st.integers(1, 8),
        cycle=st.sampled_from(["daily", "weekly"]),
        calls=st.integers(0, 60),
        won=st.integers(0, 100_000),
        split=st.sampled_from(list(Goal.Split)),
        holders=st.sampled_from(list(Goal.Holders)),
    )
    def start_goal(
        self,
        data: st.DataObject,
        size: int,
        cycle: str,
        calls: int,
        won: int,
        split: str,
        holders: str,
    ) -> None:
        for _ in range(size):
            self.add(data)
        self.goal = goal_save(
            draft=GoalDraft(
                name="Random",
                ruleset=self.ruleset,
                team=self._member(self.admin.pk),
                cycle=cycle,
                start=self.now.astimezone(ZoneInfo(self.tenant.time_zone)).date(),
                end=(START + timedelta(days=20)).date(),
                targets={
                    "dialled_calls": TargetInput(Decimal(calls)),
                    "won_value": TargetInput(Decimal(won) / 100),
                },
                holders=holders,
                default_split=split,
            ),
            actor=self.admin,
        )

    @rule(data=st.data())
    def add(self, data: st.DataObject) -> None:
        manager = self._member(data.draw(st.sampled_from(self.ids)))
        if not manager.is_active:
            return
        member = member_create(
            tenant=self.tenant, email=f"m{next(_serial)}@q.example", name="M", reports_to=manager
        )
        self.ids.append(member.pk)

    @precondition(lambda self: len(self.ids) > 1)
    @rule(data=st.data())
    def move(self, data: st.DataObject) -> None:
        node = self._member(data.draw(st.sampled_from(self.ids[1:])))
        target = self._member(data.draw(st.sampled_from(self.ids)))
        with contextlib.suppress(ValidationError):  # into their own team, under someone gone
            member_move(member=node, reports_to=target)

    @precondition(lambda self: len(self.ids) > 1)
    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        with contextlib.suppress(ValidationError):  # already gone
            member_deactivate(member=self._member(data.draw(st.sampled_from(self.ids[1:]))))

    @rule(hours=st.integers(1, 60))
    def advance(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        self.clock.move_to(self.now)

    @rule()
    def recompute(self) -> None:
        goal_recompute(self.goal.pk)
        cycle = running_cycle(self.goal.cycles(), self.now)
        if cycle is None:
            return
        with scope(tenant=self.tenant):
            rows = Achievement.objects.filter(goal=self.goal, cycle_start=cycle.start)
            computed = {(r.rule_id, r.member_id): (r.target, r.team_target) for r in rows}
        stored = self._stored().get(cycle.start, {})
        for cell, (target, team_target) in computed.items():
            own, team, _manager = stored.get(cell, (None, None, None))
            assert (target, team_target) == (own, team)  # a recompute reads the quotas

    @rule()
    def redistribute(self) -> None:
        try:
            cycle = quotas_redistribute(goal=self.goal, actor="test")
        except ValueError:
            assert running_cycle(self.goal.cycles(), self.now) is None
            return
        self.seen[cycle.start] = self._stored()[cycle.start]

    def _stored(self) -> dict[datetime, Stored]:
        with scope(tenant=self.tenant):
            rows = Quota.objects.filter(goal=self.goal).values_list(
                "cycle_start", "rule_id", "member_id", "own", "team", "manager_id"
            )
            stored: dict[datetime, Stored] = {}
            for start, rule_id, member_id, own, team, manager in rows:
                stored.setdefault(start, {})[(rule_id, member_id)] = (own, team, manager)
        return stored

    @invariant()
    def quotas_change_only_when_re_distributed(self) -> None:
        if self.goal is None:
            return
        for start, cells in self._stored().items():
            assert self.seen.setdefault(start, cells) == cells

    @invariant()
    def shares_add_up_to_their_parent(self) -> None:
        if self.goal is None:
            return
        for cells in self._stored().values():
            for rule_id in {rule_id for rule_id, _member in cells}:
                rows = {m: v for (r, m), v in cells.items() if r == rule_id}
                for member, (own, team, _manager) in rows.items():
                    below = [t for _o, t, manager in rows.values() if manager == member]
                    assert team == (own or 0) + sum(below)
                root = [team for _o, team, manager in rows.values() if manager is None]
                owns = [own for own, _t, _m in rows.values() if own is not None]
                assert root == [sum(owns)]


@pytest.mark.django_db
def test_stored_quotas_hold_through_random_reorganizations() -> None:
    QuotaMachine.TestCase.settings = settings(
        max_examples=20,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    QuotaMachine.TestCase().runTest()
