from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django_scopes import scope, scopes_disabled

from hierarchy.models import Member
from hierarchy.services import (
    member_create,
    member_deactivate,
    member_invite_send,
    member_move,
    member_reactivate,
    member_update,
    tenant_create,
)
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def fresh(member: Member) -> Member:
    with scopes_disabled():
        return Member.objects.select_related("reports_to").get(pk=member.pk)


def error_of(exc: pytest.ExceptionInfo[ValidationError], field: str) -> str:
    return " ".join(exc.value.message_dict[field])


def test_it_moves_a_member_with_their_whole_team(personas):
    other = MemberFactory(role=Member.Role.MANAGER, reports_to=personas.admin)
    extra = MemberFactory(reports_to=personas.rep)
    member_move(member=personas.rep, reports_to=other)
    other = fresh(other)
    with scope(tenant=other.tenant):
        team = set(Member.objects.subtree(other, include_self=False))
    assert team == {fresh(personas.rep), fresh(extra)}
    assert fresh(extra).level == 3


@pytest.mark.parametrize(
    ("mover", "target", "message"),
    [
        ("manager", "manager", "cannot report to themselves"),
        ("manager", "rep", "cannot report to Person"),
        ("admin", "rep", "cannot move"),
    ],
)
def test_it_refuses_moves_that_break_the_tree(personas, mover, target, message):
    with pytest.raises(ValidationError) as exc:
        member_move(member=getattr(personas, mover), reports_to=getattr(personas, target))
    assert message in error_of(exc, "reports_to")


def test_it_refuses_a_move_under_another_tenant(personas):
    with pytest.raises(ValidationError) as exc:
        member_move(member=personas.rep, reports_to=personas.outsider)
    assert "same organization" in error_of(exc, "reports_to")


def test_it_deactivates_and_hands_reports_to_the_members_manager(personas):
    member_deactivate(member=personas.manager)
    manager, rep = fresh(personas.manager), fresh(personas.rep)
    assert not manager.is_active and not manager.user.is_active
    assert rep.reports_to_id == personas.admin.pk
    assert manager.reports_to_id == personas.admin.pk  # stays in the tree for history


def test_it_deactivates_and_hands_reports_to_a_chosen_manager(personas):
    other = MemberFactory(role=Member.Role.MANAGER, reports_to=personas.admin)
    member_deactivate(member=personas.manager, reports_to=other)
    assert fresh(personas.rep).reports_to_id == other.pk


def test_it_refuses_to_deactivate_the_root_or_hand_reports_into_the_team(personas):
    with pytest.raises(ValidationError) as exc:
        member_deactivate(member=personas.admin)
    assert "cannot be deactivated" in error_of(exc, "member")
    with pytest.raises(ValidationError) as exc:
        member_deactivate(member=personas.manager, reports_to=personas.rep)
    assert "who is in their team" in error_of(exc, "reports_to")
    assert fresh(personas.manager).is_active


def test_it_reactivates(personas):
    member_deactivate(member=personas.rep)
    member_reactivate(member=personas.rep)
    assert fresh(personas.rep).is_active and fresh(personas.rep).user.is_active
    with pytest.raises(ValidationError):
        member_reactivate(member=personas.rep)


def test_it_refuses_a_new_member_under_an_inactive_manager(personas):
    member_deactivate(member=personas.rep)
    with pytest.raises(ValidationError) as exc:
        member_create(
            tenant=personas.rep.tenant, email="n@example.com", name="N", reports_to=personas.rep
        )
    assert "inactive" in error_of(exc, "reports_to")


def test_it_updates_name_title_and_role(personas):
    member = member_update(member=personas.rep, name=" Rita ", title="AE II", role="manager")
    assert (member.name, member.title, member.role) == ("Rita", "AE II", "manager")
    with pytest.raises(ValidationError) as exc:
        member_update(member=personas.rep, name="", title="", role="king")
    assert set(exc.value.message_dict) == {"name", "role"}


def test_it_emails_a_link_to_set_the_password(personas, client):
    link = member_invite_send(member=personas.rep, base_url="http://testserver")
    assert len(mail.outbox) == 1 and link in mail.outbox[0].body
    assert mail.outbox[0].to == [personas.rep.email]
    page = client.get(link, follow=True)
    assert "Set your password" in page.content.decode()


def test_it_answers_the_selectors_in_one_query_each(personas, django_assert_num_queries):
    with scope(tenant=personas.admin.tenant):
        with django_assert_num_queries(1):
            assert [m.pk for m in Member.objects.managers_of(personas.rep)] == [
                personas.admin.pk,
                personas.manager.pk,
            ]
        with django_assert_num_queries(1):
            ids = dict(Member.objects.subtree(personas.manager).values_list("pk", "level"))
        assert ids == {personas.manager.pk: 1, personas.rep.pk: 2}
        with django_assert_num_queries(1):
            assert list(Member.objects.filter(reports_to=personas.manager)) == [personas.rep]
        with django_assert_num_queries(1):
            assert Member.objects.visible_to(personas.manager).filter(pk=personas.rep.pk).exists()
        assert not Member.objects.visible_to(personas.rep).filter(pk=personas.manager.pk).exists()
        assert Member.objects.visible_to(personas.admin).count() == 3


def test_it_numbers_each_tenants_tree_by_the_tenant(personas):
    with scopes_disabled():
        for member in Member.objects.all():
            assert member.tree_id == member.tenant_id


@pytest.mark.django_db(transaction=True)
def test_it_keeps_trees_apart_when_tenants_are_created_at_once():
    """mptt would pick max(tree_id) + 1 for each new root: two at once could share a tree."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite runs one writer at a time: the race needs PostgreSQL (CI runs it)")
    errors: list[BaseException] = []

    def create(n: int) -> None:
        try:
            admin = tenant_create(
                name=f"T{n}", slug=f"t{n}", time_zone="UTC", admin_email=f"a{n}@t.example"
            )
            for i in range(3):
                member_create(
                    tenant=admin.tenant, email=f"r{n}-{i}@t.example", name="R", reports_to=admin
                )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with scopes_disabled():
        members = list(Member.objects.select_related("tenant"))
    trees: dict[int, set[int]] = {}
    for member in members:
        trees.setdefault(member.tree_id, set()).add(member.tenant_id)
        assert member.tree_id == member.tenant_id
    assert all(len(tenants) == 1 for tenants in trees.values())
    for tree_id in trees:
        nodes = sorted(m.lft for m in members if m.tree_id == tree_id) + sorted(
            m.rght for m in members if m.tree_id == tree_id
        )
        assert sorted(nodes) == list(range(1, 2 * (len(nodes) // 2) + 1))


def test_it_keeps_mptt_bookkeeping_unscoped(personas):
    """Writes made inside tenant B's scope must still see, and so never collide with, A's tree."""

    def tree(tenant: object) -> list[tuple[int, int, int]]:
        with scopes_disabled():
            return list(Member.objects.filter(tenant=tenant).values_list("pk", "lft", "rght"))

    a_before = tree(personas.admin.tenant)
    with scope(tenant=personas.outsider.tenant):
        extra = MemberFactory(reports_to=personas.outsider)
        MemberFactory(reports_to=extra)
        member_move(member=extra, reports_to=personas.outsider)
    assert tree(personas.admin.tenant) == a_before
    with scopes_disabled():
        b_tree = list(Member.objects.filter(tenant=personas.outsider.tenant))
    assert sorted(m.lft for m in b_tree) == [1, 2, 3]
    assert {m.tree_id for m in b_tree} == {personas.outsider.tenant_id}
