"""Every path that adds, moves, deactivates, reactivates or imports members writes reporting
lines: their state now is the tree, first lines begin at LINES_BEGIN and a move closes one line
and opens the next at its moment. The stateful test (test_tree_stateful.py) does the same for
random sequences of the services."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from importlib import import_module
from types import SimpleNamespace

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django_scopes import scope, scopes_disabled

from hierarchy.history import LINES_BEGIN
from hierarchy.importer import members_import
from hierarchy.models import Member, ReportingLine, Tenant
from hierarchy.services import (
    api_token_create,
    member_create,
    member_deactivate,
    member_move,
    member_reactivate,
)
from tests.hierarchy.lines import assert_lines_match_the_tree

pytestmark = pytest.mark.django_db

MOVED_AT = datetime(2026, 6, 15, 10, tzinfo=UTC)


def lines_of(member: Member) -> list[tuple]:
    with scope(tenant=member.tenant_id):
        return list(
            ReportingLine.objects.filter(member=member)
            .order_by("valid_from")
            .values_list("reports_to_id", "valid_from", "valid_to")
        )


def test_the_services_write_lines_at_the_moment_of_each_change(personas):
    admin, manager, rep = personas.admin, personas.manager, personas.rep
    assert lines_of(rep) == [(manager.pk, LINES_BEGIN, None)]
    with time_machine.travel(MOVED_AT, tick=False):
        member_move(member=rep, reports_to=admin)
    assert lines_of(rep) == [(manager.pk, LINES_BEGIN, MOVED_AT), (admin.pk, MOVED_AT, None)]
    later = datetime(2026, 7, 1, tzinfo=UTC)
    with time_machine.travel(later, tick=False):
        other = member_create(tenant=admin.tenant, email="o@acme.example", name="O",
                              reports_to=rep)  # fmt: skip
        member_deactivate(member=rep)  # their report goes to the admin
        member_reactivate(member=rep)  # changes no line
    assert lines_of(other) == [(rep.pk, LINES_BEGIN, later), (admin.pk, later, None)]
    assert lines_of(rep)[-1] == (admin.pk, MOVED_AT, None)
    assert_lines_match_the_tree(admin.tenant)


def test_a_move_and_a_move_back_at_one_moment_leave_one_open_line(personas):
    with time_machine.travel(MOVED_AT, tick=False):
        member_move(member=personas.rep, reports_to=personas.admin)
        member_move(member=personas.rep, reports_to=personas.manager)
    assert lines_of(personas.rep)[-1] == (personas.manager.pk, MOVED_AT, None)
    assert_lines_match_the_tree(personas.admin.tenant)


def test_the_members_import_and_the_api_write_lines(personas):
    admin, manager, rep = personas.admin, personas.manager, personas.rep
    csv = (
        "email,name,role,reports_to,title\n"
        f"new@acme.example,New,rep,{manager.email},\n"
        f"{rep.email},Rep,rep,{admin.email},\n"
    )
    with time_machine.travel(MOVED_AT, tick=False):
        members_import(tenant=admin.tenant, file=io.StringIO(csv))
    assert lines_of(rep)[-1] == (admin.pk, MOVED_AT, None)
    assert_lines_match_the_tree(admin.tenant)
    _token, key = api_token_create(tenant=admin.tenant, name="sync")
    body = {"records": [{"email": rep.email, "name": "Rep", "reports_to": manager.email}]}
    answer = Client(headers={"Authorization": f"Bearer {key}"}).post(
        "/api/v1/members", body, content_type="application/json"
    )
    assert answer.json()["moved"] == 1
    assert [manager for manager, _since, _until in lines_of(rep)] == [
        manager.pk,
        admin.pk,
        manager.pk,
    ]
    assert_lines_match_the_tree(admin.tenant)


def test_create_tenant_and_seed_demo_write_lines():
    call_command("create_tenant", "Lines", "--slug", "lines", "--admin-email", "a@lines.example",
                 stdout=io.StringIO())  # fmt: skip
    call_command("seed_demo", "--members=6", "--days=2", "--activities=50", stdout=io.StringIO())
    with scopes_disabled():
        tenants = list(Tenant.objects.filter(slug__in=["lines", "demo"]))
    assert len(tenants) == 2
    for tenant in tenants:
        assert_lines_match_the_tree(tenant)


def test_the_migration_gives_each_member_one_open_line_from_the_tree(personas):
    tenant = personas.admin.tenant
    with scope(tenant=tenant):
        ReportingLine.objects.all().delete()
    migration = import_module("hierarchy.migrations.0006_reporting_lines_backfill")
    migration.lines_backfill(None, SimpleNamespace(connection=connection))  # all it reads
    assert_lines_match_the_tree(tenant)
    assert lines_of(personas.rep) == [(personas.manager.pk, LINES_BEGIN, None)]
