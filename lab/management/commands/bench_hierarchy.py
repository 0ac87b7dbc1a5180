from __future__ import annotations

import io
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from hierarchy.importer import COLUMNS, members_import
from hierarchy.models import Member, Tenant


def org_csv(members: int, depth: int, tag: str) -> str:
    """A tree of ``members`` people in ``depth`` levels, as import_members CSV."""
    fanout = 2
    while sum(fanout**level for level in range(depth)) < members:
        fanout += 1
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    level, made = [f"root@{tag}.example"], 1
    out.write(f"root@{tag}.example,Root,admin,,CEO\n")
    for depth_index in range(1, depth):
        next_level = []
        for manager in level * fanout:
            if made >= members:
                break
            email = f"m{made}@{tag}.example"
            role = "rep" if depth_index == depth - 1 else "manager"
            out.write(f"{email},Member {made},{role},{manager},Level {depth_index}\n")
            next_level.append(email)
            made += 1
        level = next_level
    return out.getvalue()


class Command(BaseCommand):
    help = "Measure the members import and the editor's queries; everything is rolled back."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--members", type=int, default=5000)
        parser.add_argument("--depth", type=int, default=6)

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Database: {connection.vendor}")
        with transaction.atomic():
            for members in (50, options["members"]):
                self._measure(members, options["depth"])
            transaction.set_rollback(True)

    def _measure(self, members: int, depth: int) -> None:
        tag = f"bench{members}"
        tenant = Tenant.objects.create(name=f"Bench {members}", slug=tag)
        text = org_csv(members, depth, tag)
        started = time.perf_counter()
        result = members_import(tenant=tenant, file=io.StringIO(text))
        elapsed = time.perf_counter() - started
        with scope(tenant=tenant):
            deepest = Member.objects.order_by("-level").first()
            admin = Member.objects.select_related("user").get(reports_to=None)
        levels = deepest.level + 1
        self.stdout.write(
            f"import {result.created} members in {levels} levels: {elapsed:.2f} s "
            f"({result.created / elapsed:.0f} members/s)"
        )
        client = Client(HTTP_HOST=settings.ALLOWED_HOSTS[0])
        client.force_login(admin.user)
        client.get(reverse("organization"))  # warm up
        for label, url in (
            ("open the editor", reverse("organization")),
            ("search", reverse("member_search") + "?q=member+12"),
            ("open a level", reverse("member_children", args=[admin.pk])),
        ):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url, headers={"HX-Request": "true"})
                elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise CommandError(f"{url} answered {response.status_code}")
            self.stdout.write(
                f"  {label} at {members} members: {len(queries)} queries, {elapsed * 1000:.0f} ms"
            )
