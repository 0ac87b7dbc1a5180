"""Demo data: a tenant with a sales organization and weeks of CRM work up to this moment.

Everything is drawn from ``random.Random`` streams seeded by the caller, and every moment is
placed relative to one ``now``: the same seed, arguments and ``now`` give the same rows.

Members go through the members importer (one validated path for the tree). CRM rows are far
too many for ``crm.ingest``'s per-record validation, so they are built here and written with
``bulk_create`` in batches, generated lazily so that memory stays bounded whatever the count.
They keep what ingestion keeps, by construction: a status's moment is set exactly when the
status says so (a converted lead has ``converted_at``, a won or lost deal ``closed_at``), every
opportunity has a StageChange for each stage it entered, by its owner, the first one from no
stage at its ``created_at``, and ``entities_changed`` hears of the rows after commit.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from itertools import accumulate, chain, islice
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, models, reset_queries, transaction
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from crm import signals
from crm.ingest import Progress, entities_changed
from crm.models import (
    Account,
    Activity,
    ActivityType,
    CustomField,
    Entity,
    Lead,
    Opportunity,
    PipelineStage,
    Spend,
    StageChange,
    Task,
)
from dashboards.models import Dashboard
from hierarchy.importer import COLUMNS, members_upsert
from hierarchy.models import Member, SalesRole, Tenant

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Sales Co"
DEMO_TIME_ZONE = "America/New_York"
DEMO_CURRENCY = "USD"
DEMO_PASSWORD = "goals-demo-2026"

# seed_demo's defaults: small enough for `make demo` to take a few seconds on SQLite.
DEFAULT_MEMBERS, DEFAULT_DAYS, DEFAULT_ACTIVITIES, DEFAULT_SEED = 30, 60, 20_000, 2026

BATCH_SIZE = 5000  # rows per bulk_create

ADMIN, MANAGER, REP = Member.Role.ADMIN, Member.Role.MANAGER, Member.Role.REP

# The people a demo is shown with: local part of the email, name, role, title. The manager
# runs the first region and always has the two reps.
LOGINS = (
    ("admin", "Ada Admin", ADMIN, "VP Sales"),
    ("manager", "Max Manager", MANAGER, "Sales Manager, West"),
    ("rep", "Riley Rep", REP, "Account Executive"),
    ("sam", "Sam Seller", REP, "Account Executive"),
)
MIN_MEMBERS = len(LOGINS)

REGIONS = (
    "West", "East", "Central", "South", "Northeast", "Southeast",
    "Northwest", "Southwest", "Midwest", "Mid-Atlantic", "Mountain", "Great Lakes",
)  # fmt: skip
TEAM_SIZE = 8  # reps per manager
TEAMS_PER_REGION = 6  # past this many teams, regional managers get team leads under them
REP_TITLES = (
    ("Account Executive", 40),
    ("Sales Development Representative", 25),
    ("Senior Account Executive", 15),
    ("Business Development Representative", 10),
    ("Account Manager", 10),
)
FIRST_NAMES = (
    "Aisha", "Alex", "Amelia", "Andre", "Ben", "Camila", "Carlos", "Chloe", "Daniel", "Diego",
    "Elena", "Emma", "Ethan", "Fatima", "Grace", "Hannah", "Hiro", "Isabel", "Jack", "Jamal",
    "Julia", "Kai", "Leah", "Liam", "Lucas", "Maya", "Mei", "Mia", "Noah", "Nora", "Olivia",
    "Omar", "Priya", "Rafael", "Rosa", "Ryan", "Sofia", "Tariq", "Theo", "Wei", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Ahmed", "Baker", "Brooks", "Chen", "Clark", "Cruz", "Diaz", "Evans", "Fischer",
    "Garcia", "Gupta", "Hall", "Hughes", "Ito", "Jensen", "Khan", "Kim", "Lopez", "Martin",
    "Meyer", "Morales", "Nguyen", "Novak", "Okafor", "Park", "Patel", "Reed", "Rossi", "Santos",
    "Schmidt", "Silva", "Singh", "Sullivan", "Tanaka", "Turner", "Walker", "Wang", "Young",
)  # fmt: skip
COMPANY_WORDS = (
    "Acorn", "Apex", "Blue Harbor", "Brightline", "Cedar", "Copperleaf", "Crescent", "Evergreen",
    "Granite", "Harborview", "Ironwood", "Juniper", "Keystone", "Lakeside", "Lighthouse",
    "Maple", "Meridian", "Northwind", "Oakridge", "Pinnacle", "Redwood", "Riverstone",
    "Silverline", "Summit", "Sunrise", "Tidewater", "Trailhead", "Westbrook",
)  # fmt: skip
COMPANY_KINDS = (
    "Analytics", "Builders", "Foods", "Freight", "Group", "Health", "Labs", "Logistics",
    "Manufacturing", "Media", "Partners", "Retail", "Software", "Systems",
)  # fmt: skip
PRODUCTS = (
    "Starter plan", "Team plan", "Business plan", "Enterprise plan", "Add-on seats",
    "Annual renewal", "Onboarding package", "Analytics add-on",
)  # fmt: skip
AREA_CODES = (202, 206, 212, 303, 305, 312, 404, 415, 503, 512, 602, 617, 704, 713, 720, 919)
LEAD_SOURCES = (
    ("Website", 30),
    ("Cold outreach", 20),
    ("Referral", 15),
    ("Webinar", 10),
    ("Paid search", 10),
    ("Trade show", 8),
    ("Partner", 7),
)
SEGMENTS = (("SMB", 55), ("Mid-market", 30), ("Enterprise", 15))
# What a lead from each source costs, in the tenant's currency: each month's spend on a
# channel is its leads that month at this price (give or take SPEND_NOISE), so CAC is real.
COST_PER_LEAD = {
    "Website": 60,
    "Cold outreach": 110,
    "Referral": 40,
    "Webinar": 150,
    "Paid search": 260,
    "Trade show": 420,
    "Partner": 90,
}
SPEND_NOISE = (0.85, 1.15)
PIPELINE = ("Prospecting", "Qualification", "Demo", "Proposal", "Negotiation")
WON_STAGE, LOST_STAGE = "Closed won", "Closed lost"
CLOSED = {WON_STAGE: Opportunity.Status.WON, LOST_STAGE: Opportunity.Status.LOST}

# (outcome, weight, shortest and longest duration in seconds) of a completed activity.
Outcomes = tuple[tuple[str, int, int, int], ...]
CALL: Outcomes = (
    ("connected", 40, 60, 1200),
    ("no answer", 35, 0, 0),
    ("voicemail", 15, 20, 90),
    ("busy", 10, 0, 0),
)
INBOUND: Outcomes = (("connected", 90, 60, 1200), ("missed", 10, 0, 0))
EMAIL: Outcomes = (("sent", 70, 0, 0), ("replied", 25, 0, 0), ("bounced", 5, 0, 0))
MEETING: Outcomes = (("held", 85, 1800, 3600), ("no show", 15, 0, 0))
TASK: Outcomes = (("done", 1, 300, 1800),)
WEBINAR: Outcomes = (("attended", 60, 1800, 3600), ("registered", 40, 0, 0))
EVENT: Outcomes = (("attended", 1, 3600, 14400),)
OTHER: Outcomes = (("done", 1, 0, 1800),)
LONG_ACTIVITY = 1800  # from half an hour, durations are booked in 5-minute steps


@dataclass(frozen=True)
class Kind:
    """An activity type of the demo and how its activities look."""

    name: str
    category: str
    weight: int  # share of all activities
    outcomes: Outcomes
    links: tuple[str, ...] = ()  # the entities it is about, by preference


Category = ActivityType.Category
LEAD, DEAL = Entity.LEAD, Entity.OPPORTUNITY
KINDS = (
    Kind("Outbound call", Category.CALL, 28, CALL, (LEAD, DEAL)),
    Kind("Cold call", Category.CALL, 12, CALL, (LEAD,)),
    Kind("Inbound call", Category.CALL, 6, INBOUND, (LEAD, DEAL)),
    Kind("Prospecting email", Category.EMAIL, 14, EMAIL, (LEAD,)),
    Kind("Email reply", Category.EMAIL, 8, EMAIL, (DEAL, LEAD)),
    Kind("Discovery meeting", Category.MEETING, 4, MEETING, (LEAD, DEAL)),
    Kind("On-site visit", Category.MEETING, 1, MEETING, (DEAL,)),
    Kind("Product demo", Category.DEMO, 3, MEETING, (DEAL, LEAD)),
    Kind("Technical deep dive", Category.DEMO, 1, MEETING, (DEAL,)),
    Kind("Follow-up call", Category.FOLLOW_UP, 7, CALL, (DEAL, LEAD)),
    Kind("Follow-up email", Category.FOLLOW_UP, 6, EMAIL, (DEAL, LEAD)),
    Kind("Send proposal", Category.TASK, 2, TASK, (DEAL,)),
    Kind("Update CRM records", Category.TASK, 3, TASK),
    Kind("Webinar", Category.CAMPAIGN, 1, WEBINAR),
    Kind("Trade show", Category.CAMPAIGN, 1, EVENT),
    Kind("Other", Category.OTHER, 1, OTHER),
)

# How busy the floor is in each local hour (0-23) and on each weekday (Monday first). Nights
# and weekends keep a little work, so every day and most hours of today show some.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 9, 13, 14, 13, 8, 11, 13, 12, 9, 5, 3, 2, 2, 1, 1, 1)
WEEKDAY_WEIGHTS = (1.0, 1.05, 1.05, 1.0, 0.85, 0.15, 0.1)
DAY_NOISE = (0.75, 1.25)  # each day's volume varies by this factor

HOUR, DAY = 3600, 86400
QUARTER_HOUR = 900
NEVER = 2**62  # the end of a record that is still open

ACTIVITIES_PER_LEAD = 8
ACTIVITIES_PER_TASK = 10
# A task is due from an hour to TASK_DAYS days after it is set; of those due by now, these
# shares are completed on time, completed late (if by now), left open (overdue) or cancelled;
# of those due later, TASK_EARLY are completed already.
TASK_DAYS = 5
TASK_ON_TIME, TASK_LATE, TASK_FORGOTTEN = 0.62, 0.2, 0.12
TASK_EARLY = 0.3
TASK_LATE_WAIT = 2 * DAY
PLANNED_SHARE = 0.04  # of activities, scheduled in the next PLANNED_DAYS
PLANNED_DAYS = 14
CANCELLED_SHARE = 0.03  # of past activities
LINKED_SHARE = 0.9  # of activities of a kind that links, tied to a lead or opportunity
RECENT_RECORDS = 6.0  # activities go mostly to an owner's latest records (mean rank back)

# Who does the CRM work, relative to an average rep (the VP does none); reps differ, so that
# leaderboards do.
REGIONAL_WORKLOAD, TEAM_LEAD_WORKLOAD = 0.15, 0.3
REP_WORKLOAD = (0.5, 1.5)

# The funnel: the chance of each step, and the average wait before it in a window of
# FULL_CYCLE_DAYS or more; a shorter window runs faster, so it still shows every step.
FULL_CYCLE_DAYS = 60
UNREACHED = 0.15  # of leads, never contacted
JUNK = 0.3  # of the unreached, disqualified without a word
DISQUALIFIED, QUALIFIED = 0.25, 0.45  # of the contacted; the others stay contacted
CONVERTED = 0.5  # of the qualified, each becoming an opportunity
LOST_PER_STAGE = 0.15  # of the deals moving on from a stage
CONTACT_WAIT, JUNK_WAIT, DISQUALIFY_WAIT = 18 * HOUR, 2 * DAY, 5 * DAY
CONVERT_WAIT, STAGE_WAIT = 6 * DAY, 5 * DAY
DEAL_MEDIAN, DEAL_SPREAD = 18_000, 0.7  # of the lognormal deal values
CENTS = Decimal("0.01")


@dataclass
class DemoResult:
    """The tenant built, and how many rows of each kind it got."""

    tenant: Tenant
    counts: dict[str, int]  # rows written by kind ("members", "leads"...), in writing order


def demo_domain(slug: str) -> str:
    """The demo's email domain: admin@demo.example for the tenant ``demo``."""
    return f"{slug.lower().replace('_', '-')}.example"


def demo_logins(slug: str) -> list[tuple[str, str, str]]:
    """(email, name, role) of the people to log in as, all with DEMO_PASSWORD."""
    return [(f"{local}@{demo_domain(slug)}", name, role) for local, name, role, _ in LOGINS]


def demo_tenant_build(
    *,
    slug: str = DEMO_SLUG,
    members: int = DEFAULT_MEMBERS,
    days: int = DEFAULT_DAYS,
    activities: int = DEFAULT_ACTIVITIES,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: Progress | None = None,
    leads: int | None = None,
    opportunities: int | None = None,
) -> DemoResult:
    """Create the tenant ``slug`` (or refill it after ``demo_tenant_clear``) with ``members``
    people and ``activities`` activities, one lead per ACTIVITIES_PER_LEAD of them, from
    ``days`` days before ``now`` up to it, in one transaction.

    ``leads`` sets the number of leads instead. Each converted lead becomes an opportunity;
    ``opportunities`` sets their number instead: the converted leads' deals, thinned evenly
    when there are more, or topped up with deals opened without a lead when there are fewer.

    Raises ValueError for fewer than MIN_MEMBERS members, no days or negative counts,
    ValidationError for a bad slug, and MemberImportError if a demo email is another
    tenant's login.
    """
    counts = (activities, leads or 0, opportunities or 0)
    if members < MIN_MEMBERS or days < 1 or min(counts) < 0:
        raise ValueError(
            f"A demo needs at least {MIN_MEMBERS} members, 1 day and no negative counts "
            f"(got {members} members, {days} days and {', '.join(map(str, counts))} "
            "activities, leads and opportunities)."
        )
    now = (now or timezone.now()).astimezone(UTC).replace(microsecond=0)
    progress = progress or _silent
    with transaction.atomic():
        tenant = _tenant(slug)
        with scope(tenant=tenant):
            people = _org(demo_domain(slug), members, random.Random(f"{seed}:org"))
            ids = _members_create(tenant, people, progress)
            workers = [(ids[person.email], person.workload) for person in people]
            builder = _Builder(tenant, seed, int(now.timestamp()), days, workers, progress)
            builder.catalogue()
            builder.accounts()
            if leads is None:
                leads = max(len(builder.owners), activities // ACTIVITIES_PER_LEAD)
            builder.leads(leads)
            builder.opportunities(opportunities)
            builder.customers()
            builder.spend()
            builder.activities(activities)
            builder.tasks(activities // ACTIVITIES_PER_TASK)
        builder.notify()
    tables_analyze(
        "crm_activity",
        "crm_lead",
        "crm_opportunity",
        "crm_stagechange",
        "crm_account",
        "crm_spend",
        "crm_task",
        "hierarchy_member",
    )
    return DemoResult(tenant=tenant, counts={"members": len(people)} | builder.counts)


def tables_analyze(*tables: str) -> None:
    """Fresh planner statistics after a bulk load, so the first queries over a million new
    rows use their indexes (autovacuum would catch up only minutes later, if it runs)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(map(connection.ops.quote_name, tables))}")


def demo_tenant_clear(tenant: Tenant) -> None:
    """Delete the tenant's CRM rows, members and their logins; the tenant itself stays.

    Apps that refer to members (goals) delete their rows on ``tenant_clearing`` first.
    """
    with scopes_disabled(), transaction.atomic():
        signals.tenant_clearing.send(sender=Tenant, tenant=tenant)
        # Referring rows first (types and stages are PROTECTed). Nothing refers to activities
        # and stage changes: one DELETE each. Leads and opportunities are referred to, so
        # Django reads them before it deletes them: in batches.
        Dashboard.objects.filter(tenant=tenant).delete()  # the demo's dashboards go too
        for model in (StageChange, Activity, Task, CustomField, Spend):
            model.objects.filter(tenant=tenant).delete()
        for model in (Opportunity, Lead):
            _delete_in_batches(model.objects.filter(tenant=tenant))
        Account.objects.filter(tenant=tenant).delete()
        for model in (ActivityType, PipelineStage):
            model.objects.filter(tenant=tenant).delete()
        people = Member._tree_manager.filter(tenant=tenant)
        users = list(people.values_list("user_id", flat=True))
        # reports_to is PROTECT: the deepest level goes first, so nobody still has reports.
        for level in sorted(set(people.values_list("level", flat=True)), reverse=True):
            people.filter(level=level).delete()
        SalesRole.objects.filter(tenant=tenant).delete()  # held by members: after them
        get_user_model()._default_manager.filter(pk__in=users).delete()


def _delete_in_batches(rows: models.QuerySet) -> None:
    """Delete through the ORM (its on_delete rules apply) without reading every row at once.
    Batches go by increasing pk, so that no query wades through the rows deleted before it."""
    last = 0
    ordered = rows.order_by("pk").values_list("pk", flat=True)
    while batch := list(ordered.filter(pk__gt=last)[:BATCH_SIZE]):
        rows.model.objects.filter(pk__in=batch).delete()
        last = batch[-1]


def _silent(phase: str, done: int, total: int) -> None:
    """No progress report."""


def _tenant(slug: str) -> Tenant:
    """The tenant, created or set back to the demo's settings (moments depend on its zone).

    Not ``tenant_create``: its admin would be created apart from the members importer's."""
    name = DEMO_NAME if slug == DEMO_SLUG else f"{DEMO_NAME} ({slug})"
    tenant = Tenant.objects.filter(slug=slug).first() or Tenant(slug=slug)
    tenant.name, tenant.time_zone, tenant.default_currency = name, DEMO_TIME_ZONE, DEMO_CURRENCY
    tenant.full_clean()
    tenant.save()
    return tenant


@dataclass(frozen=True)
class Person:
    """A member to create; the fields up to ``title`` are the members importer's COLUMNS."""

    email: str
    name: str
    role: str
    reports_to: str | None
    title: str
    workload: float  # their share of the CRM work, relative to others


def _org(domain: str, size: int, rng: random.Random) -> list[Person]:
    """The VP, regional managers, team leads once there are many teams, and reps.

    Managers come before their reports; the fixed logins keep their names and places.
    """
    below = size - 1
    teams = max(1, round(below / (TEAM_SIZE + 1)))
    if teams <= TEAMS_PER_REGION:
        regions, leads = teams, 0
    else:
        regions = min(len(REGIONS), max(2, math.ceil(teams / TEAMS_PER_REGION)))
        leads = round((below - regions) / (TEAM_SIZE + 1))
    names = _names(rng, taken={local for local, *_ in LOGINS})

    def person(role: str, reports_to: str | None, title: str, workload: float) -> Person:
        local, name = next(names)
        return Person(f"{local}@{domain}", name, role, reports_to, title, workload)

    def login(index: int, reports_to: str | None, workload: float) -> Person:
        local, name, role, title = LOGINS[index]
        return Person(f"{local}@{domain}", name, role, reports_to, title, workload)

    admin = login(0, None, 0.0)
    regional = [login(1, admin.email, REGIONAL_WORKLOAD)] + [
        person(MANAGER, admin.email, f"Sales Manager, {REGIONS[i]}", REGIONAL_WORKLOAD)
        for i in range(1, regions)
    ]
    team_leads = []
    for i in range(leads):
        region = i % regions
        title = f"Team Lead, {REGIONS[region]}"
        team_leads.append(person(MANAGER, regional[region].email, title, TEAM_LEAD_WORKLOAD))
    manager = regional[0].email
    people = [admin, *regional, *team_leads]
    people += [login(i, manager, rng.uniform(*REP_WORKLOAD)) for i in (2, 3)]
    holders = team_leads or regional
    titles = _Picker(REP_TITLES)
    for i in range(size - len(people)):
        boss = holders[i % len(holders)].email
        people.append(person(REP, boss, titles(rng), rng.uniform(*REP_WORKLOAD)))
    return people


def _names(rng: random.Random, taken: set[str]) -> Iterator[tuple[str, str]]:
    """(email local part, full name) pairs, the local part never repeated."""
    while True:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        base = f"{first}.{last}".lower()
        local, number = base, 1
        while local in taken:
            number += 1
            local = f"{base}{number}"
        taken.add(local)
        yield local, f"{first} {last}"


def _members_create(tenant: Tenant, people: list[Person], progress: Progress) -> dict[str, int]:
    """Create the people through the members importer, give the logins their password, and
    return the member ids by email."""

    def step(done: int, total: int) -> None:
        progress("members", done, total)

    records = [
        (position, {column: getattr(person, column) for column in COLUMNS})
        for position, person in enumerate(people, start=1)
    ]
    members_upsert(tenant=tenant, records=records, progress=step, actor="command line (seed_demo)")
    # One hash for the four logins: the password hasher is slow on purpose.
    logins = [email for email, _, _ in demo_logins(tenant.slug)]
    get_user_model()._default_manager.filter(member__tenant=tenant, email__in=logins).update(
        password=make_password(DEMO_PASSWORD)
    )
    return dict(Member.objects.values_list("user__email", "pk"))


def _slots(start: int, hours: int, zone: ZoneInfo, rng: random.Random) -> list[float]:
    """Cumulative weights of the hour-long slots from ``start``, by local hour and day."""
    noise: dict[object, float] = {}
    weights = []
    for hour in range(hours):
        local = datetime.fromtimestamp(start + hour * HOUR + HOUR // 2, zone)
        day = noise.setdefault(local.date(), rng.uniform(*DAY_NOISE))
        weights.append(HOUR_WEIGHTS[local.hour] * WEEKDAY_WEIGHTS[local.weekday()] * day)
    return list(accumulate(weights))


def _moments(start: int, slots: list[float], count: int, rng: random.Random) -> Iterator[int]:
    """``count`` moments (epoch seconds) in time order, each slot getting its exact share of
    the count (cumulative rounding): even a small count reaches every day of the window."""
    total, placed = slots[-1], 0
    for hour, cumulative in enumerate(slots):
        upto = round(count * cumulative / total)
        for offset in sorted(rng.random() for _ in range(upto - placed)):
            yield start + int((hour + offset) * HOUR)
        placed = upto


def _at(moment: int) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def _epoch(moment: datetime | None) -> int:
    return NEVER if moment is None else int(moment.timestamp())


def _duration(rng: random.Random, least: int, most: int) -> int:
    if least >= LONG_ACTIVITY:
        return least + 300 * rng.randrange((most - least) // 300 + 1)
    return rng.randint(least, most)


Item = TypeVar("Item")
Row = TypeVar("Row", bound=models.Model)


class _Picker(Generic[Item]):
    """Weighted choice by bisection on cumulative weights: faster than random.choices."""

    def __init__(self, items: Iterable[tuple[Item, float]]) -> None:
        pairs = list(items)
        self.items = [item for item, _ in pairs]
        self.cumulative = list(accumulate(weight for _, weight in pairs))

    def __call__(self, rng: random.Random) -> Item:
        return self.items[bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


class _Open:
    """Each owner's leads or opportunities in creation order, with when each was worked on,
    so that an activity at a moment can be tied to a record its owner had open then."""

    def __init__(self, owners: int) -> None:
        self.starts = [array("q") for _ in range(owners)]
        self.ends = [array("q") for _ in range(owners)]
        self.ids = [array("q") for _ in range(owners)]

    def add(self, owner: int, start: int, end: int, pk: int) -> None:
        self.starts[owner].append(start)
        self.ends[owner].append(end)
        self.ids[owner].append(pk)

    def pick(self, owner: int, moment: int, rng: random.Random) -> int | None:
        """Mostly one of the owner's latest records created by then; None if it was closed."""
        created = bisect_right(self.starts[owner], moment)
        if not created:
            return None
        index = max(0, created - 1 - int(rng.expovariate(1 / RECENT_RECORDS)))
        return self.ids[owner][index] if self.ends[owner][index] >= moment else None


class _Builder:
    """Writes one demo tenant's CRM rows, phase by phase. Each phase draws from a random
    stream of its own, so that a change to one phase does not reshuffle the others."""

    def __init__(
        self,
        tenant: Tenant,
        seed: int,
        now: int,
        days: int,
        workers: list[tuple[int, float]],
        progress: Progress,
    ) -> None:
        self.tenant, self.seed, self.now, self.progress = tenant, seed, now, progress
        self.start = now - days * DAY
        self.pace = min(1.0, days / FULL_CYCLE_DAYS)
        self.zone = ZoneInfo(tenant.time_zone)
        self.slots = _slots(self.start, days * 24, self.zone, self.rng("days"))
        workers = [(pk, workload) for pk, workload in workers if workload > 0]
        self.owners = [pk for pk, _ in workers]  # owners are numbered by their place here
        self.owner_index = {pk: index for index, pk in enumerate(self.owners)}
        self.pick_owner = _Picker((index, w) for index, (_, w) in enumerate(workers))
        self.open_leads, self.open_deals = _Open(len(workers)), _Open(len(workers))
        self.lead_ids = array("q")  # by lead number - 1
        self.converted: list[tuple[int, int, int, str]] = []  # (moment, lead n, owner, company)
        self.counts: dict[str, int] = {}

    def rng(self, phase: str) -> random.Random:
        return random.Random(f"{self.seed}:{phase}")

    def write(
        self,
        model: type[Row],
        rows: Iterable[Row],
        phase: str,
        total: int,
        after: Callable[[list[Row]], None] | None = None,
    ) -> None:
        """bulk_create ``rows`` in batches (each has its pk afterwards) and call ``after``."""
        done, rows = 0, iter(rows)
        self.counts.setdefault(phase, 0)
        self.progress(phase, 0, total)
        while batch := list(islice(rows, BATCH_SIZE)):
            model.objects.bulk_create(batch)
            if after is not None:
                after(batch)
            # Under DEBUG every query's SQL is kept: megabytes a batch, hundreds in all.
            reset_queries()
            done += len(batch)
            self.progress(phase, done, total)
        self.counts[phase] += done

    def catalogue(self) -> None:
        tenant = self.tenant
        self.types = {
            kind.name: ActivityType(tenant=tenant, name=kind.name, category=kind.category)
            for kind in KINDS
        }
        ActivityType.objects.bulk_create(self.types.values())
        names = [*PIPELINE, WON_STAGE, LOST_STAGE]
        self.stages = {
            name: PipelineStage(
                tenant=tenant, name=name, position=position, outcome=CLOSED.get(name, "open")
            )
            for position, name in enumerate(names)
        }
        PipelineStage.objects.bulk_create(self.stages.values())
        self.counts["activity types"], self.counts["pipeline stages"] = len(KINDS), len(names)

    def accounts(self) -> None:
        """An account for every company a lead or deal can name (the unused ones go in
        ``customers``), each in a segment drawn from a stream of its own."""
        rng = self.rng("accounts")
        picker = _Picker(SEGMENTS)
        companies = [f"{word} {kind}" for word in COMPANY_WORDS for kind in COMPANY_KINDS]
        rows = [
            Account(
                tenant=self.tenant,
                external_id=f"demo-account-{number:04d}",
                name=company,
                segment=picker(rng),
            )
            for number, company in enumerate(companies, start=1)
        ]
        Account.objects.bulk_create(rows)
        self.account_ids = {account.name: account.pk for account in rows}

    def customers(self) -> None:
        """Each account's channel is the source of its first lead (deals opened without a
        lead leave it empty); accounts that no lead or deal names are dropped."""
        first_source = (
            Lead.objects.filter(account=OuterRef("pk"))
            .order_by("created_at", "pk")
            .values("source")
        )
        accounts = Account.objects.all()
        accounts.update(channel=Coalesce(Subquery(first_source[:1]), Value("")))
        accounts.filter(leads__isnull=True, opportunities__isnull=True).delete()
        self.counts["accounts"] = accounts.count()

    def spend(self) -> None:
        """Spend on each lead source in each local month of the window, dated the month's
        first day: the month's leads from it at the source's COST_PER_LEAD, with noise."""
        rng = self.rng("spend")
        leads = (
            Lead.objects.annotate(month=TruncMonth("created_at", tzinfo=self.zone))
            .values("month", "source")
            .annotate(count=Count("pk"))
            .order_by("month", "source")
        )
        rows = []
        for row in leads:
            month, source = row["month"].astimezone(self.zone).date(), row["source"]
            amount = row["count"] * COST_PER_LEAD.get(source, 0) * rng.uniform(*SPEND_NOISE)
            if amount:
                channel = source.lower().replace(" ", "-")
                rows.append(
                    Spend(
                        tenant=self.tenant,
                        external_id=f"demo-spend-{month:%Y-%m}-{channel}",
                        date=month,
                        channel=row["source"],
                        amount=Decimal(round(amount, -1)).quantize(CENTS),
                        currency=self.tenant.default_currency,
                    )
                )
        Spend.objects.bulk_create(rows)
        self.counts["spend"] = len(rows)

    def leads(self, count: int) -> None:
        def written(batch: list[Lead]) -> None:
            for lead in batch:
                self.lead_ids.append(lead.pk)
                end = lead.converted_at or lead.disqualified_at
                owner = self.owner_index[lead.owner_id]
                self.open_leads.add(owner, _epoch(lead.created_at), _epoch(end), lead.pk)

        self.write(Lead, self._leads(count), "leads", count, written)

    def _leads(self, count: int) -> Iterator[Lead]:
        rng = self.rng("leads")
        source = _Picker(LEAD_SOURCES)
        for number, created in enumerate(_moments(self.start, self.slots, count, rng), start=1):
            owner = self.owners[self.pick_owner(rng)]
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
            domain = company.lower().replace(" ", "")
            phone = f"+1 {rng.choice(AREA_CODES)}-555-01{rng.randrange(100):02d}"
            status, stamps = self._lead_journey(rng, created)
            if status == Lead.Status.CONVERTED:
                self.converted.append((stamps["converted_at"], number, owner, company))
            yield Lead(
                tenant_id=self.tenant.pk,
                external_id=f"demo-lead-{number:06d}",
                owner_id=owner,
                name=f"{first} {last} ({company})",
                email=f"{first}.{last}@{domain}.example".lower(),
                phone=phone,
                source=source(rng),
                status=status,
                created_at=_at(created),
                account_id=self.account_ids[company],
                **{name: _at(moment) for name, moment in stamps.items()},
            )

    def _later(self, rng: random.Random, moment: int, wait: float, least: int) -> int:
        """A moment after ``moment``: ``least`` seconds, then ``wait`` more on average (at
        the window's pace)."""
        return moment + least + int(rng.expovariate(1 / (wait * self.pace)))

    def _lead_journey(self, rng: random.Random, created: int) -> tuple[str, dict[str, int]]:
        """The lead's status by now and the moment of each step it took, each after the one
        before; a step that would fall after now has not happened yet."""
        Status, now = Lead.Status, self.now
        contacted = self._later(rng, created, CONTACT_WAIT, 300)
        if rng.random() < UNREACHED or contacted > now:
            dropped = self._later(rng, created, JUNK_WAIT, HOUR)
            if rng.random() < JUNK and dropped <= now:
                return Status.DISQUALIFIED, {"disqualified_at": dropped}
            return Status.NEW, {}
        stamps = {"first_contacted_at": contacted}
        fate = rng.random()
        if fate < DISQUALIFIED:
            dropped = self._later(rng, contacted, DISQUALIFY_WAIT, HOUR)
            if dropped <= now:
                return Status.DISQUALIFIED, stamps | {"disqualified_at": dropped}
        elif fate < DISQUALIFIED + QUALIFIED:
            converted = self._later(rng, contacted, CONVERT_WAIT, HOUR)
            if rng.random() < CONVERTED and converted <= now:
                return Status.CONVERTED, stamps | {"converted_at": converted}
            return Status.QUALIFIED, stamps
        return Status.CONTACTED, stamps

    def opportunities(self, count: int | None) -> None:
        """One deal per converted lead, or ``count`` deals (see ``demo_tenant_build``)."""
        changes: list[StageChange] = []  # of the batch being formed, written right after it

        def written(batch: list[Opportunity]) -> None:
            StageChange.objects.bulk_create(changes)
            self.counts["stage changes"] = self.counts.get("stage changes", 0) + len(changes)
            changes.clear()
            for deal in batch:
                owner = self.owner_index[deal.owner_id]
                self.open_deals.add(owner, _epoch(deal.created_at), _epoch(deal.closed_at), deal.pk)

        self.converted.sort()
        if count is not None:
            self._deal_count(count)
        deals = self._opportunities(changes)
        self.write(Opportunity, deals, "opportunities", len(self.converted), written)

    def _deal_count(self, count: int) -> None:
        """Keep ``count`` of the converted leads' deals, evenly spread over time, or add deals
        opened without a lead (lead number 0) until there are ``count``, in time order."""
        have = len(self.converted)
        if count <= have:
            self.converted = [self.converted[i * have // count] for i in range(count)]
            return
        rng = self.rng("direct deals")
        for created in _moments(self.start, self.slots, count - have, rng):
            owner = self.owners[self.pick_owner(rng)]
            company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
            self.converted.append((created, 0, owner, company))
        self.converted.sort()

    def _opportunities(self, changes: list[StageChange]) -> Iterator[Opportunity]:
        rng = self.rng("opportunities")
        for number, (created, lead, owner, company) in enumerate(self.converted, start=1):
            moves = self._stages(rng, created)
            stage, entered = moves[-1]
            value = Decimal(round(rng.lognormvariate(math.log(DEAL_MEDIAN), DEAL_SPREAD), -2))
            deal = Opportunity(
                tenant_id=self.tenant.pk,
                external_id=f"demo-opportunity-{number:06d}",
                owner_id=owner,
                lead_id=self.lead_ids[lead - 1] if lead else None,
                account_id=self.account_ids[company],
                name=f"{company}: {rng.choice(PRODUCTS)}",
                stage_id=self.stages[stage].pk,
                status=CLOSED.get(stage, Opportunity.Status.OPEN),
                value=value.quantize(CENTS),
                currency=self.tenant.default_currency,
                created_at=_at(created),
                closed_at=_at(entered) if stage in CLOSED else None,
            )
            previous = None
            for name, moment in moves:
                to_stage = self.stages[name].pk
                changes.append(
                    StageChange(
                        tenant_id=self.tenant.pk,
                        opportunity=deal,  # its id is set once the deal is written
                        from_stage_id=previous,
                        to_stage_id=to_stage,
                        changed_at=_at(moment),
                        member_id=owner,
                    )
                )
                previous = to_stage
            yield deal

    def _stages(self, rng: random.Random, created: int) -> list[tuple[str, int]]:
        """(stage, moment entered) of a deal created at ``created``: forward through the
        pipeline, some lost at each step, the rest won after negotiating; until now."""
        moves, moment = [(PIPELINE[0], created)], created
        for next_stage in (*PIPELINE[1:], WON_STAGE):
            moment = self._later(rng, moment, STAGE_WAIT, HOUR)
            if moment > self.now:
                break
            if rng.random() < LOST_PER_STAGE:
                moves.append((LOST_STAGE, moment))
                break
            moves.append((next_stage, moment))
        return moves

    def activities(self, count: int) -> None:
        planned = round(count * PLANNED_SHARE)
        self.write(Activity, self._activities(count - planned, planned), "activities", count)

    def _activities(self, past: int, planned: int) -> Iterator[Activity]:
        rng = self.rng("activities")
        kind_of = _Picker((kind, kind.weight) for kind in KINDS)
        outcome_of = {kind.name: _Picker((o, o[1]) for o in kind.outcomes) for kind in KINDS}
        future = _slots(self.now, PLANNED_DAYS * 24, self.zone, self.rng("future days"))
        booked = (
            # Planned work is booked on the quarter hour, strictly after now.
            (max(math.ceil(moment / QUARTER_HOUR) * QUARTER_HOUR, self.now + QUARTER_HOUR), True)
            for moment in _moments(self.now, future, planned, rng)
        )
        done = ((moment, False) for moment in _moments(self.start, self.slots, past, rng))
        for number, (moment, is_planned) in enumerate(chain(done, booked), start=1):
            owner = self.pick_owner(rng)
            kind = kind_of(rng)
            lead, deal = self._links(rng, kind, owner, moment)
            status, outcome, duration = Activity.Status.PLANNED, "", 0
            if not is_planned and rng.random() < CANCELLED_SHARE:
                status = Activity.Status.CANCELLED
            elif not is_planned:
                status = Activity.Status.COMPLETED
                outcome, _, least, most = outcome_of[kind.name](rng)
                duration = _duration(rng, least, most)
            yield Activity(
                tenant_id=self.tenant.pk,
                external_id=f"demo-activity-{number:07d}",
                type_id=self.types[kind.name].pk,
                owner_id=self.owners[owner],
                lead_id=lead,
                opportunity_id=deal,
                occurred_at=_at(moment),
                status=status,
                outcome=outcome,
                duration_seconds=duration,
            )

    def tasks(self, count: int) -> None:
        self.write(Task, self._tasks(count), "tasks", count)

    def _tasks(self, count: int) -> Iterator[Task]:
        """Tasks set over the window, due within TASK_DAYS (some after now): most of those
        due by now done on time, some late, some forgotten (overdue) or cancelled."""
        rng = self.rng("tasks")
        kinds = [kind for kind in KINDS if kind.category in Task.TYPE_CATEGORIES]
        kind_of = _Picker((kind, kind.weight) for kind in kinds)
        for number, created in enumerate(_moments(self.start, self.slots, count, rng), start=1):
            owner, kind = self.pick_owner(rng), kind_of(rng)
            due = created + rng.randint(HOUR, TASK_DAYS * DAY)
            due -= due % QUARTER_HOUR  # on the quarter hour, still after it was set
            status, completed = self._task_end(rng, created, due)
            lead, deal = self._links(rng, kind, owner, created)
            yield Task(
                tenant_id=self.tenant.pk,
                external_id=f"demo-task-{number:07d}",
                type_id=self.types[kind.name].pk,
                owner_id=self.owners[owner],
                lead_id=lead,
                opportunity_id=deal,
                subject=kind.name,
                status=status,
                created_at=_at(created),
                due_at=_at(due),
                completed_at=None if completed is None else _at(completed),
            )

    def _task_end(self, rng: random.Random, created: int, due: int) -> tuple[str, int | None]:
        """(status, completed moment) of a task set at ``created`` and due at ``due``."""
        draw = rng.random()
        if due > self.now:
            if draw < TASK_EARLY:
                return Task.Status.COMPLETED, rng.randint(created, self.now)
            return Task.Status.OPEN, None
        if draw < TASK_ON_TIME:
            return Task.Status.COMPLETED, rng.randint(created, due)
        if draw < TASK_ON_TIME + TASK_LATE:
            late = due + rng.randint(1, TASK_LATE_WAIT)
            return (Task.Status.COMPLETED, late) if late <= self.now else (Task.Status.OPEN, None)
        if draw < TASK_ON_TIME + TASK_LATE + TASK_FORGOTTEN:
            return Task.Status.OPEN, None
        return Task.Status.CANCELLED, None

    def _links(
        self, rng: random.Random, kind: Kind, owner: int, moment: int
    ) -> tuple[int | None, int | None]:
        """(lead id, opportunity id) the activity is about: a record of the first of the
        kind's links that the owner had open at that moment, or neither."""
        if not kind.links or rng.random() >= LINKED_SHARE:
            return None, None
        for link in kind.links:
            records = self.open_leads if link == Entity.LEAD else self.open_deals
            if (pk := records.pick(owner, moment, rng)) is not None:
                return (pk, None) if link == Entity.LEAD else (None, pk)
        return None, None

    def notify(self) -> None:
        """Tell ``entities_changed`` about all the rows, after commit, as ingestion does."""
        start, end = _at(self.start), _at(self.now + max(PLANNED_DAYS, TASK_DAYS) * DAY)
        owners = sorted(self.owners)
        entities = (Entity.LEAD, Entity.OPPORTUNITY, "stage_change", Entity.ACTIVITY, Entity.TASK)
        for entity in entities:
            transaction.on_commit(
                lambda entity=entity: entities_changed(
                    self.tenant.pk, entity, owner_ids=owners, start=start, end=end
                ),
                robust=True,
            )
