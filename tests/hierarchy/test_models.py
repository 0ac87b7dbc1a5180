from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_scopes import scope, scopes_disabled
from django_scopes.exceptions import ScopeError

from hierarchy.models import Member
from hierarchy.services import member_create
from tests.factories import MemberFactory, TenantFactory

pytestmark = pytest.mark.django_db


def test_it_refuses_a_second_root_with_a_message(personas):
    with pytest.raises(ValidationError) as exc:
        member_create(tenant=personas.admin.tenant, email="second@example.com", name="Second")
    assert "already has a root member" in str(exc.value.message_dict["reports_to"])


def test_it_refuses_a_second_root_in_the_database(personas):
    tenant = personas.admin.tenant
    second = MemberFactory(reports_to=personas.admin)
    with scope(tenant=tenant):
        with pytest.raises(IntegrityError), transaction.atomic():
            Member.objects.filter(pk=second.pk).update(reports_to=None)
        assert Member.objects.filter(reports_to=None).count() == 1


def test_it_refuses_a_manager_from_another_tenant(personas):
    with pytest.raises(ValidationError) as exc:
        member_create(
            tenant=personas.admin.tenant,
            email="x@example.com",
            name="X",
            reports_to=personas.outsider,
        )
    assert "same organization" in str(exc.value.message_dict["reports_to"])


def test_it_keeps_each_tenants_tree_apart(personas):
    extra_b = MemberFactory(reports_to=personas.outsider)
    assert personas.admin.tree_id != personas.outsider.tree_id
    assert extra_b.tree_id == personas.outsider.tree_id
    with scopes_disabled():  # were A's tree to contain B's members, this would show them
        personas.admin.refresh_from_db()
        a_tree = set(personas.admin.get_descendants(include_self=True))
    assert a_tree == {personas.admin, personas.manager, personas.rep}


def test_it_scopes_members_to_the_active_tenant(personas):
    with pytest.raises(ScopeError):
        list(Member.objects.all())
    with scope(tenant=personas.outsider.tenant):
        assert list(Member.objects.all()) == [personas.outsider]
        assert not Member.objects.filter(pk=personas.admin.pk).exists()


def test_it_refuses_a_taken_email_in_its_own_tenant_only(personas):
    with pytest.raises(ValidationError) as exc:
        MemberFactory(reports_to=personas.admin, email=personas.rep.email.upper())
    assert "already a member of this organization" in str(exc.value.message_dict["email"])
    other = MemberFactory(reports_to=personas.outsider, email=personas.rep.email.upper())
    assert other.user_id != personas.rep.user_id


def test_it_validates_tenant_settings():
    tenant = TenantFactory.build(time_zone="Mars/Olympus", default_currency="usd")
    with pytest.raises(ValidationError) as exc:
        tenant.full_clean()
    assert set(exc.value.message_dict) == {"time_zone", "default_currency"}
