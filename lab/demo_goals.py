"""Goals for the demo tenant, so that a newcomer sees real progress at once.

One ruleset of the metrics customers ask for first (the presets: dialled calls, call duration,
leads converted, conversion percentage, deals won and their value, demos completed, follow-up
tasks completed, tasks completed on time and tasks overdue, deals advanced to Proposal and their
value, which the pipeline page shows as pies) and three
goals for the whole company: daily, weekly and monthly cycles, each started a few cycles ago
(backfilled) so that the past tabs have history. Targets are set 10% above what the team did
per day over the last four weeks (10% below for a metric where lower is better), so some
people are ahead and some behind.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django_scopes import scope

from achievements.models import Achievement
from achievements.services import CLOSE_GRACE, goal_recompute
from goals.calendar import local_day_start
from goals.models import Goal, tenant_calendar, tenant_today
from goals.services import GoalDraft, TargetInput, goal_save
from goals.targets import is_additive, quantum_for
from hierarchy.models import Member, Tenant
from lab.demo_tenant import PIPELINE, tables_analyze
from rulesets.compiler import Granularity, rule_parts
from rulesets.models import Ruleset
from rulesets.parts import Parts, ratio_value
from rulesets.presets import preset_rules
from rulesets.services import rule_specs, ruleset_save, tenant_vocabulary
from rulesets.spec import Aggregation, Direction, RuleSpec, Unit

RULESET_NAME = "Sales essentials"
PRESETS = (
    "dialled_calls",
    "call_duration",
    "leads_converted",
    "conversion_rate",
    "deals_won",
    "won_value",
    "demos_completed",
    "follow_up_tasks",
    "tasks_on_time",
    "tasks_overdue",
    "deals_advanced",
    "advanced_value",
)
# The stage the "advanced" presets track: its column of the pipeline shows their pies.
TRACKED_STAGE = PIPELINE[3]  # Proposal
BASELINE_DAYS = 28
STRETCH = Decimal("1.1")
# (name, cycle, how many cycles back it starts, how long it runs in days from today)
GOALS = (
    ("Daily activity", "daily", 6, 30),
    ("Weekly pipeline", "weekly", 3, 56),
    ("Monthly revenue", "monthly", 2, 90),
)


def _ruleset(tenant: Tenant) -> Ruleset:
    with scope(tenant=tenant):
        found = Ruleset.objects.filter(name=RULESET_NAME).first()
    if found is not None:
        return found
    rules: list[dict] = []
    for slug in PRESETS:
        for rule in preset_rules(slug, currency=tenant.default_currency, stage=TRACKED_STAGE):
            if all(rule["key"] != kept["key"] for kept in rules):
                rules.append(rule)
    return ruleset_save(
        tenant=tenant,
        name=RULESET_NAME,
        description="The demo's metrics: calls, their duration, conversions, deals, demos and "
        "tasks.",
        rules=rules,
        actor="demo seed",
    )


def _per_day(tenant: Tenant, specs: dict[str, RuleSpec], root: Member) -> dict[str, Decimal]:
    """What the whole company did per day over the last four weeks, per rule (for ratios and
    averages: their value over the four weeks)."""
    calendar = tenant_calendar(tenant)
    today = tenant_today(tenant)
    window = {
        "tenant": tenant,
        "start": local_day_start(calendar, today - timedelta(days=BASELINE_DAYS)),
        "end": local_day_start(calendar, today),
        "granularity": Granularity.MONTH,
        "cycle_of": lambda day: 0,
    }
    custom, _vocab = tenant_vocabulary(tenant)
    totals: dict[str, Parts] = {}
    with scope(tenant=tenant):
        members = list(Member.objects.values_list("pk", flat=True))
        for key, spec in specs.items():
            if spec.aggregation == Aggregation.RATIO:
                continue
            totals[key] = Parts()
            for parts in rule_parts(spec, custom=custom, member_ids=members, **window).values():
                totals[key].merge(parts)
    baseline: dict[str, Decimal] = {}
    for key, spec in specs.items():
        if spec.aggregation == Aggregation.RATIO:
            numerator = totals[spec.numerator].value(specs[spec.numerator].aggregation)
            denominator = totals[spec.denominator].value(specs[spec.denominator].aggregation)
            percent = spec.unit == Unit.PERCENT
            baseline[key] = ratio_value(numerator, denominator, percent=percent) or Decimal(0)
        elif is_additive(spec.aggregation):
            baseline[key] = totals[key].value(spec.aggregation) / BASELINE_DAYS
        else:
            baseline[key] = totals[key].value(spec.aggregation) or Decimal(0)
    return baseline


def _target(spec: RuleSpec, per_day: Decimal, days: int) -> Decimal:
    stretch = STRETCH if spec.direction == Direction.HIGHER else 2 - STRETCH
    amount = per_day * (days if is_additive(spec.aggregation) else 1) * stretch
    quantum = quantum_for(spec.aggregation, spec.unit)
    return max(amount.quantize(quantum, rounding=ROUND_HALF_UP), quantum)


def _first_cycle_start(cycle: str, today: date, back: int, week_start: int) -> date:
    if cycle == "daily":
        return today - timedelta(days=back)
    if cycle == "weekly":
        monday = today - timedelta(days=(today.weekday() - week_start) % 7)
        return monday - timedelta(weeks=back)
    first = today.replace(day=1)
    for _ in range(back):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def demo_goals_build(tenant: Tenant, *, now: datetime | None = None) -> list[Goal]:
    """Create the demo ruleset and goals (once: existing demo goals are kept) and compute them."""
    now = now or timezone.now()
    with scope(tenant=tenant):
        root = Member.objects.select_related("tenant").get(reports_to__isnull=True)
        existing = list(Goal.objects.filter(name__in=[name for name, *_ in GOALS]))
    if existing:
        return existing
    ruleset = _ruleset(tenant)
    with scope(tenant=tenant):
        specs, _failed = rule_specs(tenant=tenant, rules=list(ruleset.rules.all()))
    per_day = _per_day(tenant, specs, root)
    today = tenant_today(tenant)
    length = {"daily": 1, "weekly": 7, "monthly": 30}
    goals = []
    for name, cycle, back, days in GOALS:
        targets = {
            key: TargetInput(_target(spec, per_day[key], length[cycle]))
            for key, spec in specs.items()
            if key in _measured_in(cycle)
        }
        draft = GoalDraft(
            name=name,
            ruleset=ruleset,
            team=root,
            cycle=cycle,
            start=_first_cycle_start(cycle, today, back, tenant.week_start),
            end=today + timedelta(days=days),
            targets=targets,
            backfill=True,
        )
        goals.append(goal_save(draft=draft, actor="demo seed"))
    for goal in goals:
        goal_recompute(goal.pk, close_before=now - CLOSE_GRACE)
    tables_analyze(Achievement._meta.db_table)  # the dashboards' first reads use the indexes
    return goals


def _measured_in(cycle: str) -> tuple[str, ...]:
    """Daily goals track activity; weekly ones the funnel; monthly ones revenue."""
    return {
        "daily": ("dialled_calls", "call_duration", "demos_completed"),
        "weekly": (
            "leads_converted",
            "conversion_rate",
            "demos_completed",
            "follow_up_tasks",
            "tasks_on_time",
            "tasks_overdue",
            "deals_advanced",
            "advanced_value",
        ),
        "monthly": ("deals_won", "won_value", "conversion_rate"),
    }[cycle]
