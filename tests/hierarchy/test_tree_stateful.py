"""Random sequences of add / move / deactivate / reactivate keep the MPTT fields equal to a
naive parent-pointer model of the same organization, and the reporting lines' state now equal
to the tree, every step's moves at moments of their own or at the same moment."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django_scopes import scope
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from hierarchy.models import Member
from hierarchy.services import (
    member_create,
    member_deactivate,
    member_move,
    member_reactivate,
    tenant_create,
)
from tests.hierarchy.lines import assert_lines_match_the_tree

_serial = itertools.count()


class OrgMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # The clock stands still until ``later`` moves it: several edits share a moment.
        self.clock = time_machine.travel(datetime(2026, 5, 4, 9, tzinfo=UTC), tick=False)
        self.traveller = self.clock.start()
        n = next(_serial)
        root = tenant_create(
            name=f"Org {n}", slug=f"org-{n}", time_zone="UTC", admin_email=f"root{n}@org.example"
        )
        self.tenant = root.tenant
        self.parent: dict[int, int | None] = {root.pk: None}
        self.active: dict[int, bool] = {root.pk: True}
        self.ids = [root.pk]
        # Instances as first created: their lft/rght go stale, and services must cope.
        self.stale = {root.pk: root}

    def _member(self, pk: int) -> Member:
        with scope(tenant=self.tenant):
            return Member.objects.get(pk=pk)

    def _in_subtree(self, node: int, top: int) -> bool:
        while node is not None:
            if node == top:
                return True
            node = self.parent[node]
        return False

    @rule(data=st.data())
    def add(self, data: st.DataObject) -> None:
        manager = data.draw(st.sampled_from(self.ids))
        try:
            member = member_create(
                tenant=self.tenant,
                email=f"m{next(_serial)}@org.example",
                name="M",
                reports_to=self._member(manager),
            )
        except ValidationError:
            assert not self.active[manager]
            return
        assert self.active[manager]
        self.parent[member.pk], self.active[member.pk] = manager, True
        self.stale[member.pk] = member
        self.ids.append(member.pk)

    @precondition(lambda self: len(self.ids) > 1)
    @rule(data=st.data())
    def move(self, data: st.DataObject) -> None:
        node = data.draw(st.sampled_from(self.ids))
        target = data.draw(st.sampled_from(self.ids))
        allowed = (
            self.parent[node] is not None
            and self.active[target]
            and not self._in_subtree(target, node)
        )
        try:
            member_move(member=self.stale[node], reports_to=self.stale[target])
        except ValidationError:
            assert not allowed
            return
        assert allowed
        self.parent[node] = target

    @precondition(lambda self: len(self.ids) > 1)
    @rule(data=st.data())
    def deactivate(self, data: st.DataObject) -> None:
        node = data.draw(st.sampled_from(self.ids))
        target = self.parent[node]
        allowed = target is not None and self.active[node] and self.active[target]
        try:
            member_deactivate(member=self.stale[node])
        except ValidationError:
            assert not allowed
            return
        assert allowed
        for child, parent in list(self.parent.items()):
            if parent == node:
                self.parent[child] = target
        self.active[node] = False

    @rule(data=st.data())
    def reactivate(self, data: st.DataObject) -> None:
        node = data.draw(st.sampled_from(self.ids))
        parent = self.parent[node]
        allowed = not self.active[node] and (parent is None or self.active[parent])
        try:
            member_reactivate(member=self._member(node))
        except ValidationError:
            assert not allowed
            return
        assert allowed
        self.active[node] = True

    @rule(hours=st.integers(1, 48))
    def later(self, hours: int) -> None:
        self.traveller.shift(timedelta(hours=hours))

    def teardown(self) -> None:
        self.clock.stop()

    @invariant()
    def tree_matches_the_parent_pointers(self) -> None:
        with scope(tenant=self.tenant):
            rows = {m.pk: m for m in Member.objects.all()}
        assert set(rows) == set(self.ids)
        bounds = sorted([m.lft for m in rows.values()] + [m.rght for m in rows.values()])
        assert bounds == list(range(1, 2 * len(rows) + 1))  # contiguous, no gaps or overlaps
        for pk, member in rows.items():
            assert member.reports_to_id == self.parent[pk]
            assert member.is_active == self.active[pk]
            assert member.tree_id == self.tenant.pk
            depth, node = 0, self.parent[pk]
            while node is not None:
                depth, node = depth + 1, self.parent[node]
            assert member.level == depth
            descendants = {other for other in rows if other != pk and self._in_subtree(other, pk)}
            nested = {
                other for other, m in rows.items() if member.lft < m.lft and m.rght < member.rght
            }
            assert nested == descendants

    @invariant()
    def lines_now_are_the_tree(self) -> None:
        assert_lines_match_the_tree(self.tenant)


@pytest.mark.django_db
def test_it_keeps_the_tree_consistent_under_random_edits():
    OrgMachine.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    OrgMachine.TestCase().runTest()
