"""The demo's dashboards by audience: Management, Account executives and SDRs (issue 21).

Their metrics come from the demo's rulesets where a goal measures them (Sales essentials'
won value, split by the segment of the deals' accounts; the Role KPIs of each sales role: the
page then shows target and status) and from
a ruleset of their own for the rest, shown without a status: total sales by channel, average
deal size and the customers block by quarter, meetings booked per week, open opportunities in
each stage (a snapshot: as they stood at the cycle's end), proposals, emails and LinkedIn
connection requests. Deals get the custom field "channel" (their lead's source), so total sales
split by acquisition channel; SDRs get LinkedIn connection requests, an activity type the demo
adds with a few weeks of them.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django_scopes import scope

from crm.ingest import records_upsert
from crm.models import ActivityType, CustomField, Opportunity
from crm.services import activity_type_create, custom_field_create
from dashboards.models import Dashboard
from dashboards.services import dashboard_metric_save, dashboard_save
from hierarchy.models import Member, SalesRole, Tenant
from lab.demo_roles import RULESET_NAME as ROLE_KPIS
from lab.demo_roles import ruleset_once, typed_rule
from rulesets.models import Ruleset
from rulesets.presets import preset_rules

from .demo_goals import RULESET_NAME as ESSENTIALS

RULESET_NAME = "Dashboard metrics"
LINKEDIN = "LinkedIn connection request"
EMAILS = ["Prospecting email", "Email reply", "Follow-up email"]
CHANNEL = "channel"
LINKEDIN_WEEKS = 8


def _rules(currency: str) -> list[dict[str, Any]]:
    open_deals = {  # a snapshot: the open deals as they stood at the cycle's end, by stage then
        "key": "open_deals",
        "name": "Open opportunities",
        "entity": "opportunity",
        "mode": "cycle_end",
        "indicator": "leading",
        "conditions": [{"field": "status", "op": "eq", "value": "open"}],
    }
    return [
        *preset_rules("total_sales", currency=currency),
        *preset_rules("average_deal", currency=currency),
        *preset_rules("meetings_booked"),
        open_deals,
        typed_rule("proposals_sent", "Proposals sent", ["Send proposal"]),
        typed_rule("emails_sent", "Emails sent", EMAILS),
        typed_rule("linkedin_requests", "LinkedIn connection requests sent", [LINKEDIN]),
    ]


def _ruleset(tenant: Tenant) -> Ruleset:
    description = "Metrics the audience dashboards show without a goal."
    return ruleset_once(tenant, RULESET_NAME, description, _rules(tenant.default_currency))


def _deal_channels(tenant: Tenant) -> None:
    """Each deal's custom field "channel": the source of its lead (none without a lead)."""
    with scope(tenant=tenant):
        if not CustomField.objects.filter(entity="opportunity", name=CHANNEL).exists():
            custom_field_create(tenant=tenant, entity="opportunity", name=CHANNEL, type="text",
                                choices=[], actor="demo seed")  # fmt: skip
        deals = list(Opportunity.objects.filter(lead__isnull=False).select_related("lead"))
        for deal in deals:
            deal.attributes = {**deal.attributes, CHANNEL: deal.lead.source}
        Opportunity.objects.bulk_update(deals, ["attributes"], batch_size=500)


def _linkedin(tenant: Tenant, now: datetime) -> None:
    """The activity type and a few requests a working day by each SDR over the last weeks."""
    with scope(tenant=tenant):
        if ActivityType.objects.filter(name=LINKEDIN).exists():
            return
        activity_type_create(tenant=tenant, name=LINKEDIN, category="other", actor="demo seed")
        sdrs = list(
            Member.objects.filter(sales_role__name="SDR", is_active=True)
            .values_list("user__email", flat=True)
        )  # fmt: skip
    draw = random.Random(tenant.pk)
    records = []
    for day in range(LINKEDIN_WEEKS * 7):
        when = now - timedelta(days=day)
        if when.weekday() >= 5:
            continue
        for email in sdrs:
            for _ in range(draw.randint(2, 9)):
                at = when.replace(hour=draw.randint(8, 17), minute=draw.randint(0, 59))
                if at > now:
                    continue
                records.append({"external_id": f"LI-{len(records) + 1}", "owner_email": email,
                                "type": LINKEDIN, "occurred_at": at.isoformat(),
                                "status": "completed"})  # fmt: skip
    if records:
        records_upsert(tenant=tenant, entity="activity", records=records)


# title, audience, sales role, metrics: (ruleset, rule key or "customers", breakdown, trend,
# cycle of a metric without a goal)
DASHBOARDS = (
    ("Management", "managers", None, (
        (ESSENTIALS, "won_value", "account_segment", 6, "monthly"),
        (RULESET_NAME, "total_sales", f"custom.{CHANNEL}", 0, "quarterly"),
        (RULESET_NAME, "average_deal", "", 4, "quarterly"),
        (RULESET_NAME, "meetings_booked", "", 12, "weekly"),
        (None, "customers", "", 0, "quarterly"),
    )),
    ("Account executives", "role", "Account executive", (
        (ROLE_KPIS, "deals_won", "", 6, "monthly"),
        (RULESET_NAME, "open_deals", "stage", 0, "monthly"),
        (ROLE_KPIS, "meetings_booked", "", 6, "monthly"),
        (RULESET_NAME, "proposals_sent", "", 6, "monthly"),
    )),
    ("SDRs", "role", "SDR", (
        (ROLE_KPIS, "meetings_booked", "", 6, "monthly"),
        (ROLE_KPIS, "calls_made", "", 6, "monthly"),
        (RULESET_NAME, "emails_sent", "type", 6, "monthly"),
        (RULESET_NAME, "linkedin_requests", "", 8, "weekly"),
    )),
)  # fmt: skip


def demo_dashboards_build(tenant: Tenant, *, now: datetime | None = None) -> list[Dashboard]:
    """The three demo dashboards (once: a tenant with dashboards keeps them). Needs the demo's
    goals and sales roles (``demo_goals_build``, ``demo_roles_build``) first."""
    now = now or timezone.now()
    with scope(tenant=tenant):
        if Dashboard.objects.exists():
            return list(Dashboard.objects.all())
    _linkedin(tenant, now)  # its activity type first: a rule names it
    _deal_channels(tenant)
    _ruleset(tenant)
    built = []
    with scope(tenant=tenant):
        rulesets = {ruleset.name: ruleset for ruleset in Ruleset.objects.all()}
        roles = {role.name: role for role in SalesRole.objects.all()}
        for title, audience, role, metrics in DASHBOARDS:
            dashboard = dashboard_save(
                tenant=tenant, title=title, audience=audience, sales_role=roles.get(role or ""),
                actor="demo seed",
            )  # fmt: skip
            for ruleset, key, breakdown, trend, cycle in metrics:
                if key == "customers":
                    dashboard_metric_save(dashboard=dashboard, kind="customers", cycle=cycle,
                                          actor="demo seed")  # fmt: skip
                    continue
                dashboard_metric_save(
                    dashboard=dashboard, ruleset=rulesets[ruleset], rule_key=key,
                    breakdown=breakdown, trend=trend, cycle=cycle, actor="demo seed",
                )  # fmt: skip
            built.append(dashboard)
    return built
