"""Sales roles for the demo tenant: SDR, Account executive and Account manager, each with
monthly KPIs (a goal of the role, held in full by everyone with it), the KPIs over activities
mapped to the demo's activity types (the rules' own ``type`` conditions, which Settings, Role
mapping shows and edits), and the reps given the role their title says.

Targets are 10% above what an average rep did per day over the last four weeks, for a month.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django_scopes import scope

from achievements.services import CLOSE_GRACE, goal_recompute
from goals.models import Goal, tenant_today
from goals.services import GoalDraft, TargetInput, goal_save
from hierarchy.models import Member, SalesRole, Tenant
from hierarchy.services import sales_role_save
from lab.demo_goals import _first_cycle_start, _per_day, _target
from rulesets.models import Ruleset
from rulesets.presets import preset_rules
from rulesets.services import rule_specs, ruleset_save

RULESET_NAME = "Role KPIs"
CALLS = ["Outbound call", "Cold call"]
MEETINGS = ["Discovery meeting", "On-site visit"]  # the demo's meeting types
DEMOS = ["Product demo", "Technical deep dive"]
FOLLOW_UPS = ["Follow-up call", "Follow-up email"]


def typed_rule(key: str, name: str, types: list[str], *, completed: bool = False) -> dict[str, Any]:
    """A count of activities of the given types (the condition the role mapping edits): the
    "of chosen types" preset of those completed, or of every one logged, under its own name."""
    (rule,) = preset_rules("activities_completed" if completed else "activities_added", types=types)
    return rule | {"key": key, "name": name}


# role name, description, title words that give it, its KPIs (rule keys)
ROLES = (
    ("SDR", "Sales development: books the first meetings.",
     ("Development",), ("calls_made", "meetings_booked")),
    ("Account executive", "Runs demos and closes new business.",
     ("Account Executive",), ("demos_completed", "deals_won")),
    ("Account manager", "Grows and renews existing customers.",
     ("Account Manager",), ("follow_ups_done", "won_value")),
)  # fmt: skip


def _rules(currency: str) -> list[dict[str, Any]]:
    demos = preset_rules("demos_completed")[0]
    demos["conditions"] = [c for c in demos["conditions"] if c["field"] != "category"]
    demos["conditions"].append({"field": "type", "op": "in", "value": DEMOS})
    return [
        typed_rule("calls_made", "Calls made", CALLS, completed=True),
        typed_rule("meetings_booked", "Meetings booked", MEETINGS),
        demos,
        *preset_rules("deals_won"),
        typed_rule("follow_ups_done", "Follow-ups done", FOLLOW_UPS, completed=True),
        *preset_rules("won_value", currency=currency),
    ]


def ruleset_once(tenant: Tenant, name: str, description: str, rules: list[dict]) -> Ruleset:
    """The demo's ruleset of this name, saved with these rules the first time."""
    with scope(tenant=tenant):
        found = Ruleset.objects.filter(name=name).first()
    return found or ruleset_save(
        tenant=tenant, name=name, description=description, rules=rules, actor="demo seed"
    )


def _ruleset(tenant: Tenant) -> Ruleset:
    description = "What each sales role is measured on (Settings, Role mapping)."
    return ruleset_once(tenant, RULESET_NAME, description, _rules(tenant.default_currency))


def _give_roles(tenant: Tenant, roles: dict[str, SalesRole]) -> None:
    """Each rep the role their title says (before the roles have goals: nothing to keep)."""
    with scope(tenant=tenant):
        reps = Member.objects.filter(role=Member.Role.REP, sales_role=None)
        for name, _description, words, _kpis in ROLES:
            for word in words:
                reps.filter(title__icontains=word).update(sales_role=roles[name])


def demo_roles_build(tenant: Tenant, *, now: datetime | None = None) -> list[Goal]:
    """The demo's sales roles, their members and monthly KPIs, computed (once: a tenant with
    these roles keeps them)."""
    now = now or timezone.now()
    with scope(tenant=tenant):
        if SalesRole.objects.filter(name__in=[name for name, *_ in ROLES]).exists():
            return list(Goal.objects.filter(sales_role__isnull=False).order_by("pk"))
        root = Member.objects.select_related("tenant").get(reports_to__isnull=True)
        reps = Member.objects.filter(role=Member.Role.REP, is_active=True).count()
    roles = {
        name: sales_role_save(tenant=tenant, name=name, description=description, actor="demo seed")
        for name, description, _words, _kpis in ROLES
    }
    _give_roles(tenant, roles)
    ruleset = _ruleset(tenant)
    with scope(tenant=tenant):
        specs, _failed = rule_specs(tenant=tenant, rules=list(ruleset.rules.all()))
    per_day = _per_day(tenant, specs, root)
    today = tenant_today(tenant)
    goals = []
    for name, _description, _words, kpis in ROLES:
        draft = GoalDraft(
            name=f"{name} KPIs",
            ruleset=ruleset,
            team=root,
            cycle="monthly",
            start=_first_cycle_start("monthly", today, 1, tenant.week_start),
            end=today + timedelta(days=90),
            targets={
                key: TargetInput(_target(specs[key], per_day[key] / max(reps, 1), 30))
                for key in kpis
            },
            sales_role=roles[name],
            backfill=True,
        )
        goals.append(goal_save(draft=draft, actor="demo seed"))
    for goal in goals:
        goal_recompute(goal.pk, close_before=now - CLOSE_GRACE)
    return goals
