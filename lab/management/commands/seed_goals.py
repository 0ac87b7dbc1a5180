from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.commands import tenant_by_slug
from lab.demo_dashboards import demo_dashboards_build
from lab.demo_goals import demo_goals_build
from lab.demo_roles import demo_roles_build
from lab.demo_tenant import DEMO_SLUG


class Command(BaseCommand):
    help = (
        "Give a demo tenant (made by seed_demo) a ruleset of the common metrics and daily, "
        "weekly and monthly goals for the whole company, and three sales roles (SDR, Account "
        "executive, Account manager) with monthly KPIs mapped to activity types, computed at "
        "once, and the Management, Account executives and SDRs dashboards. Existing demo "
        "goals, roles and dashboards are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default=DEMO_SLUG, help="The tenant's slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(options["tenant"])
        for goal in [*demo_goals_build(tenant), *demo_roles_build(tenant)]:
            self.stdout.write(f"  {goal.name}: {goal.cycle}, {goal.start} to {goal.end}")
        for dashboard in demo_dashboards_build(tenant):
            self.stdout.write(f"  Dashboard {dashboard.title}")
