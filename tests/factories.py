from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from hierarchy.models import Member, Tenant
from hierarchy.services import member_create

PASSWORD = "correct-horse-battery"


class TenantFactory(DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")
    time_zone = "Europe/Berlin"


class MemberFactory(factory.Factory):
    """Members are made through ``member_create`` so user, tree and tenant always agree."""

    class Meta:
        model = Member

    tenant = factory.LazyAttribute(lambda o: o.reports_to.tenant if o.reports_to else None)
    reports_to = None
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Sequence(lambda n: f"Person {n}")
    role = Member.Role.REP
    title = ""
    password = PASSWORD

    @classmethod
    def _create(cls, model_class: type[Member], **kwargs: Any) -> Member:
        if kwargs["tenant"] is None:
            kwargs["tenant"] = TenantFactory()
        return member_create(**kwargs)
