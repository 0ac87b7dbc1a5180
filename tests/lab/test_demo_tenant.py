from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import QuerySet
from django_scopes import scope, scopes_disabled

from crm.customers import customers_measure
from crm.models import (
    Account,
    Activity,
    ActivityType,
    Lead,
    Opportunity,
    PipelineStage,
    Spend,
    StageChange,
)
from hierarchy.models import Member, Tenant
from lab import demo_tenant as demo
from lab.demo_tenant import DEMO_PASSWORD, DemoResult, demo_domain, demo_tenant_build

pytestmark = pytest.mark.django_db

# A Wednesday, 12:30 in New York; the 10 days before it cross the start of daylight saving.
NOW = datetime(2026, 3, 11, 16, 30, tzinfo=UTC)
DAYS = 10
START = NOW - timedelta(days=DAYS)
ZONE = ZoneInfo("America/New_York")
Category = ActivityType.Category


def build(slug: str = "acme", seed: int = 7, **options: Any) -> DemoResult:
    options = {"members": 25, "days": DAYS, "activities": 2000} | options
    return demo_tenant_build(slug=slug, seed=seed, now=NOW, **options)


@pytest.fixture
def tenant() -> Tenant:
    return build().tenant


def local(email: str | None) -> str | None:
    """A member's email without the domain, which is the tenant's."""
    return email and email.split("@")[0]


def rows(queryset: QuerySet, *fields: str) -> list[tuple]:
    """The fields of every row by external id, members by the local part of their email."""
    return [
        tuple(
            local(value) if "user__email" in name else value
            for name, value in zip(fields, row, strict=True)
        )
        for row in queryset.order_by("external_id").values_list(*fields)
    ]


def snapshot(tenant: Tenant) -> dict[str, list[tuple]]:
    with scope(tenant=tenant):
        members = Member.objects.order_by("lft").values_list(
            "user__email", "name", "role", "title", "reports_to__user__email", "lft", "rght"
        )
        return {
            "members": [
                (local(email), name, role, title, local(boss), lft, rght)
                for email, name, role, title, boss, lft, rght in members
            ],
            "leads": rows(
                Lead.objects,
                *("external_id", "owner__user__email", "name", "email", "phone", "source"),
                *("status", "created_at", "first_contacted_at", "converted_at", "disqualified_at"),
            ),
            "opportunities": rows(
                Opportunity.objects,
                *("external_id", "owner__user__email", "lead__external_id", "name"),
                *("stage__name", "status", "value", "currency", "created_at", "closed_at"),
            ),
            "stage changes": [
                (change.opportunity.external_id, change.from_stage_id and change.from_stage.name)
                + (change.to_stage.name, change.changed_at, local(change.member.user.email))
                for change in StageChange.objects.select_related(
                    "opportunity", "from_stage", "to_stage", "member__user"
                ).order_by("opportunity__external_id", "changed_at")
            ],
            "activities": rows(
                Activity.objects,
                *("external_id", "owner__user__email", "type__name", "occurred_at", "status"),
                *("outcome", "duration_seconds", "lead__external_id"),
                "opportunity__external_id",
            ),
        }


def test_it_builds_the_same_data_for_the_same_seed_and_other_data_for_another():
    first = snapshot(build("alpha", seed=7).tenant)
    assert first == snapshot(build("beta", seed=7).tenant)
    other = snapshot(build("gamma", seed=8).tenant)
    assert all(first[name] != other[name] for name in first)
    assert len(first["activities"]) == 2000
    assert len(first["leads"]) == 2000 // demo.ACTIVITIES_PER_LEAD


def test_it_counts_what_it_wrote():
    result = build()
    with scope(tenant=result.tenant):
        assert result.counts == {
            "members": 25,
            "activity types": ActivityType.objects.count(),
            "pipeline stages": 7,
            "leads": Lead.objects.count(),
            "opportunities": Opportunity.objects.count(),
            "stage changes": StageChange.objects.count(),
            "accounts": Account.objects.count(),
            "spend": Spend.objects.count(),
            "activities": 2000,
        }


def test_it_has_every_activity_category_and_an_ordered_pipeline(tenant: Tenant):
    with scope(tenant=tenant):
        types = ActivityType.objects.all()
        assert {t.category for t in types} == set(Category.values)
        assert {"Outbound call", "Discovery meeting", "Product demo"} <= {t.name for t in types}
        used = set(Activity.objects.values_list("type__category", flat=True))
        assert used == set(Category.values)
        assert [s.name for s in PipelineStage.objects.all()] == [
            *("Prospecting", "Qualification", "Demo", "Proposal", "Negotiation"),
            *("Closed won", "Closed lost"),
        ]


def test_it_keeps_every_moment_between_the_window_start_and_now(tenant: Tenant):
    with scope(tenant=tenant):
        moments = [
            moment
            for model in (Lead, Opportunity, StageChange)
            for name in model.DATE_FIELDS
            for moment in model.objects.values_list(name, flat=True)
            if moment is not None
        ]
        moments += Activity.objects.exclude(status=Activity.Status.PLANNED).values_list(
            "occurred_at", flat=True
        )
        planned = Activity.objects.filter(status=Activity.Status.PLANNED)
        assert all(START <= moment <= NOW for moment in moments)
        assert planned.exists()
        assert not planned.filter(occurred_at__lte=NOW).exists()
        assert not planned.filter(occurred_at__gt=NOW + timedelta(days=demo.PLANNED_DAYS)).exists()


def test_it_shows_work_on_every_day_and_today_until_now(tenant: Tenant):
    with scope(tenant=tenant):
        done = Activity.objects.filter(status=Activity.Status.COMPLETED)
        days = Counter(
            moment.astimezone(ZONE).date() for moment in done.values_list("occurred_at", flat=True)
        )
    today = NOW.astimezone(ZONE).date()
    window = [today - timedelta(days=n) for n in range(DAYS)]
    assert all(days[day] for day in window)
    # Working days are busier than weekends (March 7 and 8, 2026).
    weekend = days[window[3]] + days[window[4]]
    assert days[window[0]] > 0 and days[window[1]] > weekend


def test_it_gives_leads_statuses_that_match_their_moments(tenant: Tenant):
    steps = ("first_contacted_at", "converted_at", "disqualified_at")
    allowed = {
        "new": [()],
        "contacted": [("first_contacted_at",)],
        "qualified": [("first_contacted_at",)],
        "converted": [("first_contacted_at", "converted_at")],
        "disqualified": [("disqualified_at",), ("first_contacted_at", "disqualified_at")],
    }
    with scope(tenant=tenant):
        leads = list(Lead.objects.all())
    assert {lead.status for lead in leads} == set(Lead.Status.values)
    for lead in leads:
        taken = tuple(step for step in steps if getattr(lead, step) is not None)
        assert taken in allowed[lead.status]
        moments = [lead.created_at, *(getattr(lead, step) for step in taken)]
        assert moments == sorted(set(moments))


def test_it_moves_opportunities_through_ordered_stage_changes_by_their_owner(tenant: Tenant):
    with scope(tenant=tenant):
        deals = list(Opportunity.objects.select_related("lead", "stage"))
        changes = StageChange.objects.order_by("changed_at", "pk")
        moves: dict[int, list[StageChange]] = {}
        for change in changes.select_related("from_stage", "to_stage"):
            moves.setdefault(change.opportunity_id, []).append(change)
    assert {deal.status for deal in deals} == set(Opportunity.Status.values)
    for deal in deals:
        path = moves[deal.pk]
        assert path[0].from_stage is None and path[0].to_stage.name == "Prospecting"
        assert path[0].changed_at == deal.created_at
        for before, after in zip(path, path[1:], strict=False):
            assert after.from_stage == before.to_stage
            assert after.changed_at > before.changed_at
            assert after.to_stage.position > before.to_stage.position
        assert path[-1].to_stage == deal.stage
        assert {change.member_id for change in path} == {deal.owner_id}
        closed = {"won": "Closed won", "lost": "Closed lost"}.get(deal.status)
        assert deal.stage.name == closed or (closed is None and deal.stage.position < 5)
        assert deal.closed_at == (path[-1].changed_at if closed else None)
        assert deal.value > 0 and deal.value % 100 == 0
        assert deal.currency == "USD"
        assert deal.lead.status == Lead.Status.CONVERTED
        assert (deal.lead.converted_at, deal.lead.owner_id) == (deal.created_at, deal.owner_id)


def test_it_gives_activities_realistic_outcomes_durations_and_links(tenant: Tenant):
    with scope(tenant=tenant):
        activities = list(Activity.objects.select_related("type", "lead", "opportunity"))
    statuses = Counter(activity.status for activity in activities)
    assert statuses["completed"] > 0.9 * len(activities)
    assert 0 < statuses["cancelled"] < statuses["planned"] < 0.1 * len(activities)
    for activity in activities:
        category, outcome, seconds = (
            activity.type.category,
            activity.outcome,
            activity.duration_seconds,
        )
        if activity.status != Activity.Status.COMPLETED:
            assert (outcome, seconds) == ("", 0)
        elif category == Category.CALL and outcome in ("no answer", "busy", "missed"):
            assert seconds == 0
        elif category == Category.CALL and outcome == "connected":
            assert 60 <= seconds <= 20 * 60
        elif category in (Category.MEETING, Category.DEMO) and outcome == "held":
            assert 30 * 60 <= seconds <= 60 * 60 and seconds % 300 == 0
        for record in (activity.lead, activity.opportunity):
            if record is not None:
                assert record.owner_id == activity.owner_id
                assert record.created_at <= activity.occurred_at
        assert activity.lead is None or activity.opportunity is None
    linked = [a for a in activities if a.lead or a.opportunity]
    assert len(linked) > len(activities) / 2
    assert any(a.opportunity for a in linked)
    assert len({a.external_id for a in activities}) == len(activities)
    assert activities[0].external_id.startswith("demo-activity-")


def test_it_places_the_demo_logins_in_the_tree(tenant: Tenant):
    domain = demo_domain(tenant.slug)
    with scope(tenant=tenant):
        members = {m.email: m for m in Member.objects.select_related("user", "reports_to__user")}
    admin, manager, rep, sam = (members[f"{who}@{domain}"] for who, *_ in demo.LOGINS)
    assert (admin.role, admin.reports_to, admin.title) == ("admin", None, "VP Sales")
    assert (manager.role, manager.reports_to) == ("manager", admin)
    assert (rep.role, rep.reports_to, sam.role, sam.reports_to) == ("rep", manager, "rep", manager)
    assert [m.name for m in (admin, manager, rep, sam)] == [
        "Ada Admin",
        "Max Manager",
        "Riley Rep",
        "Sam Seller",
    ]
    for member in members.values():
        is_login = member in (admin, manager, rep, sam)
        assert member.user.check_password(DEMO_PASSWORD) == is_login
        assert member.user.has_usable_password() == is_login
        assert member.email.endswith("@" + domain)


def test_it_builds_a_valid_tree_numbered_by_the_tenant(tenant: Tenant):
    with scope(tenant=tenant):
        members = {m.pk: m for m in Member.objects.all()}
    assert {m.tree_id for m in members.values()} == {tenant.pk}
    bounds = sorted([m.lft for m in members.values()] + [m.rght for m in members.values()])
    assert bounds == list(range(1, 2 * len(members) + 1))
    for member in members.values():
        boss = members.get(member.reports_to_id)
        if boss is None:
            assert (member.lft, member.level) == (1, 0)
        else:
            assert boss.lft < member.lft < member.rght < boss.rght
            assert member.level == boss.level + 1


def test_it_adds_team_leads_under_regional_managers_in_a_large_organization():
    tenant = build(members=120, activities=200).tenant
    with scope(tenant=tenant):
        places = Counter(Member.objects.values_list("level", "role"))
    regional, team_leads = places[(1, "manager")], places[(2, "manager")]
    assert 2 <= regional < team_leads
    assert set(places) == {(0, "admin"), (1, "manager"), (2, "manager"), (2, "rep"), (3, "rep")}
    assert places[(2, "rep")] == 2  # rep@ and sam@, directly under manager@
    assert places[(3, "rep")] == 120 - 1 - regional - team_leads - 2


def test_it_tells_about_the_new_rows_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    told: list[tuple[str, datetime, datetime]] = []
    monkeypatch.setattr(
        demo,
        "entities_changed",
        lambda tenant_id, entity, **span: told.append((entity, span["start"], span["end"])),
    )
    with django_capture_on_commit_callbacks(execute=True):
        build(activities=100)
    assert [entity for entity, _, _ in told] == ["lead", "opportunity", "stage_change", "activity"]
    assert {(start, end) for _, start, end in told} == {
        (START, NOW + timedelta(days=demo.PLANNED_DAYS))
    }


def seed(*arguments: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--members=6", "--days=2", "--activities=300", *arguments, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    with scopes_disabled():
        models = (Tenant, Member, Lead, Opportunity, StageChange, Activity, ActivityType)
        counted = {model.__name__: model.objects.count() for model in models}
    return counted | {"users": get_user_model().objects.count()}


def test_it_prints_the_logins_and_leaves_an_existing_tenant_alone():
    output = seed()
    assert "Created the demo tenant demo in" in output
    assert "6 members" in output and "300 activities" in output
    for email in ("admin", "manager", "rep", "sam"):
        assert f"{email}@demo.example" in output
    assert "password goals-demo-2026" in output
    created = counts()
    assert created["Activity"] == 300 and created["Member"] == 6

    again = seed()
    assert "The tenant demo exists already" in again
    assert "admin@demo.example" in again
    assert counts() == created


def test_it_rebuilds_the_tenant_with_reset():
    seed()
    tenant = Tenant.objects.get(slug="demo")
    created = counts()
    output = seed("--reset")
    assert "Deleted the CRM data and members of demo" in output
    assert "Created the demo tenant demo in" in output
    assert counts() == created
    assert Tenant.objects.get(slug="demo").pk == tenant.pk


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--members=3"], "argument --members: 3 is less than 4"),
        (["--days=0"], "argument --days: 0 is less than 1"),
        (["--activities=lots"], "argument --activities: 'lots' is not a whole number"),
        (["--tenant=no way"], "Cannot create the tenant no way: slug: Enter a valid “slug”"),
        (["--leads=-1"], "argument --leads: -1 is less than 0"),
    ],
)
def test_it_refuses_what_it_cannot_build(arguments: list[str], message: str):
    with pytest.raises(CommandError, match=message):
        seed(*arguments)
    assert not Tenant.objects.exists()


@pytest.mark.parametrize("deals", [5, 150])
def test_the_demo_makes_as_many_leads_and_opportunities_as_asked(deals: int) -> None:
    """Fewer deals than converted leads thins them; more opens deals without a lead."""
    tenant = demo_tenant_build(
        slug="counts", members=10, days=20, activities=500, leads=300, opportunities=deals
    ).tenant
    with scope(tenant=tenant):
        assert (Lead.objects.count(), Opportunity.objects.count()) == (300, deals)
        converted = Lead.objects.filter(status=Lead.Status.CONVERTED).count()
        linked = Opportunity.objects.filter(lead__isnull=False).count()
        assert linked == min(deals, converted)
        assert not Opportunity.objects.filter(stage_changes__isnull=True).exists()


def test_seed_demo_takes_the_numbers_of_leads_and_opportunities() -> None:
    seed("--leads=40", "--opportunities=12")
    assert (counts()["Lead"], counts()["Opportunity"]) == (40, 12)


def test_it_gives_deals_and_leads_accounts_and_spends_on_every_channel_each_month():
    tenant = build(days=45).tenant  # from late January: three months
    with scope(tenant=tenant):
        assert not Lead.objects.filter(account__isnull=True).exists()
        assert not Opportunity.objects.filter(account__isnull=True).exists()
        # An account's channel is its first lead's source, and every account is named.
        first = Lead.objects.order_by("created_at", "pk").select_related("account").first()
        assert first.account.channel == first.source
        assert not Account.objects.filter(leads__isnull=True, opportunities__isnull=True).exists()
        months = set(Spend.objects.values_list("date", flat=True))
        assert {(day.month, day.day) for day in months} == {(1, 1), (2, 1), (3, 1)}
        channels = set(Spend.objects.values_list("channel", flat=True))
        assert channels == set(Lead.objects.values_list("source", flat=True))
    metrics = customers_measure(tenant=tenant, start=NOW - timedelta(days=45), end=NOW)
    assert metrics.total.new_customers > 0 and metrics.total.spend > 0
    assert metrics.total.cac is not None and metrics.total.ltv is not None
