from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scope

from hierarchy.models import Member, Tenant
from hierarchy.services import member_create, tenant_create

DEMO_SLUG = "demo"
DEMO_PASSWORD = "goals-demo-2026"
ADMIN, MANAGER, REP = Member.Role.ADMIN, Member.Role.MANAGER, Member.Role.REP
DEMO_PEOPLE = [
    # email, name, role, reports to, title
    ("admin@demo.example", "Ada Admin", ADMIN, None, "VP Sales"),
    ("manager@demo.example", "Max Manager", MANAGER, "admin@demo.example", "Sales Manager, West"),
    ("rep@demo.example", "Riley Rep", REP, "manager@demo.example", "Account Executive"),
    ("sam@demo.example", "Sam Seller", REP, "manager@demo.example", "Account Executive"),
]


class Command(BaseCommand):
    help = "Create the demo tenant (once) and print its logins."

    def handle(self, *args: Any, **options: Any) -> None:
        if Tenant.objects.filter(slug=DEMO_SLUG).exists():
            self.stdout.write("The demo tenant exists already.")
        else:
            self._create()
            self.stdout.write(self.style.SUCCESS("Created the demo tenant."))
        self.stdout.write("\nOpen http://127.0.0.1:8000/ and log in as:")
        for email, name, role, _, _ in DEMO_PEOPLE:
            self.stdout.write(f"  {role.label:<8} {email:<24} password {DEMO_PASSWORD}   ({name})")
        self.stdout.write("")

    @transaction.atomic
    def _create(self) -> None:
        admin_email, admin_name, _, _, _ = DEMO_PEOPLE[0]
        admin = tenant_create(
            name="Demo Sales Co",
            slug=DEMO_SLUG,
            time_zone="America/New_York",
            admin_email=admin_email,
            admin_name=admin_name,
            admin_password=DEMO_PASSWORD,
        )
        by_email = {admin_email: admin}
        with scope(tenant=admin.tenant):
            for email, name, role, manager_email, title in DEMO_PEOPLE[1:]:
                by_email[email] = member_create(
                    tenant=admin.tenant,
                    email=email,
                    name=name,
                    role=role,
                    reports_to=by_email[manager_email],
                    title=title,
                    password=DEMO_PASSWORD,
                )
