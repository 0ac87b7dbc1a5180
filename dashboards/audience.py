"""What a dashboard by audience shows a member: each metric for what the member may see (a
manager or admin: their team, an admin the whole company; a rep: themselves).

A metric whose rule is measured by a running goal covering the member shows the goal's stored
achievement as a progress bar (``dashboard.progress``: value, target and status computed where
every dashboard computes them), its trend from the goal's stored cycles and its breakdown over
the goal's window (``records.number_window``), with links to the records behind each bar. A
metric without a goal shows its value in the current cycle of the metric's kind and its trend,
computed on the fly (``trends.rule_trend``), never a status; its value, each cycle of its trend
and each bar link to the records behind them too (the records page names such a number by its
rule, the kind of cycle and the cycle's first day). The queries are a fixed number per metric,
whatever the size of the team.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import Http404

from achievements.models import Achievement
from goals.calendar import Cycle, CycleKind
from goals.models import Goal, tenant_calendar
from hierarchy.models import Member
from rulesets.models import GoalRule
from rulesets.services import tenant_vocabulary
from rulesets.spec import Aggregation, Indicator

from .breakdowns import breakdown_fields, breakdown_rows, rule_breakdown
from .customers import KINDS, customers_panel
from .dashboard import Progress, member_cycles, progress
from .models import Dashboard, DashboardMetric
from .records import (
    Number,
    Rules,
    RulesetRead,
    Window,
    number_window,
    records_link,
    ruleset_read,
)
from .trends import goal_trend, points_linked, rule_trend, trend_cycles, trend_shown


@dataclass(frozen=True)
class Viewpoint:
    """Whose numbers a member sees: ``subject`` (the member, or the company's top for an
    admin) and whether with their whole team."""

    subject: Member
    whole_team: bool
    team_head: Member | None = None  # a rep's manager, whose team's totals the rep sees too
    company: bool = False  # an admin's: the whole company

    @classmethod
    def of(cls, member: Member, *, reps_see_team: bool = False) -> Viewpoint:
        if member.is_admin:
            top = Member.objects.filter(tree_id=member.tree_id, reports_to__isnull=True).first()
            return cls(top or member, whole_team=True, company=True)
        if member.manages_people or not reps_see_team or member.reports_to_id is None:
            return cls(member, whole_team=member.manages_people)
        head = Member.objects.select_related("tenant").get(pk=member.reports_to_id)
        return cls(member, whole_team=False, team_head=head)


@dataclass
class Shown:
    """One metric as the page shows it."""

    metric: DashboardMetric
    rule: GoalRule | None = None
    cycle: Cycle | None = None
    bars: list[Progress] = field(default_factory=list)  # a running goal's, against its target
    value: Decimal | None = None  # a metric without a goal
    records: str = ""  # and the URL of the records behind it
    team_value: Decimal | None = None  # and the rep's team's, where the dashboard shows it
    goal: Goal | None = None
    trend: dict[str, Any] = field(default_factory=dict)
    breakdown: dict[str, Any] = field(default_factory=dict)
    customers: dict[str, Any] = field(default_factory=dict)
    problem: str = ""

    @property
    def indicator(self) -> str:
        """The metric's kind of indicator: its rule's; CAC and LTV show results (lagging)."""
        return self.rule.indicator if self.rule is not None else Indicator.LAGGING

    @property
    def groups(self) -> list[tuple[str, list[Progress]]]:
        """The bars as ``dashboards/_bars.html`` takes them: one group, its heading the page's."""
        return [("", self.bars)] if self.bars else []


def _goal_rows(view: Viewpoint, rules: list[GoalRule], now: datetime) -> dict[int, Achievement]:
    """The achievement of each rule (by id) in the running cycle of a live goal covering the
    subject, one per rule: a row with a target first (two queries)."""
    running, _stamps = member_cycles(view.subject.tenant, view.subject, now, closing=False)
    rows = Achievement.objects.filter(
        member=view.subject, goal_id__in={goal for goal, _index in running}, rule__in=rules
    ).select_related("rule", "goal", "goal__team")
    found: dict[int, Achievement] = {}
    for row in rows:
        if (row.goal_id, row.cycle_index) not in running:
            continue
        target = row.team_target if view.whole_team else row.target
        kept = found.get(row.rule_id)
        if kept is None or (
            target is not None and (kept.team_target if view.whole_team else kept.target) is None
        ):
            found[row.rule_id] = row
    for row in found.values():
        row.shown_cycle = running[(row.goal_id, row.cycle_index)][1]
    return found


def _breakdown(
    rules: Rules, rule: GoalRule, by: str, window: Window, records: str, shown: Shown,
    subject: Member, whole_team: bool,
) -> dict[str, Any]:  # fmt: skip
    fields = {f.name: f for f in breakdown_fields(rules.spec, rules.specs, rules.custom)}
    if by not in fields:
        return {}
    breakdown = rule_breakdown(rules, window, by)
    return {
        "rule": rule,
        "by": breakdown.field,
        "cycle": shown.cycle,
        "subject": subject,
        "whole_team": whole_team,
        "ratio": rules.spec.aggregation == Aggregation.RATIO,
        "sides": [side.name for side in rules.sides()],
        "rows": breakdown_rows(breakdown, rules, rule, records),
    }


def _with_goal(shown: Shown, rules: Rules, row: Achievement, view: Viewpoint, now: datetime):
    metric, rule, goal = shown.metric, shown.rule, row.goal
    cycle: Cycle = row.shown_cycle
    shown.goal, shown.cycle = goal, cycle
    shown.bars = [progress(row, cycle, now, team=view.whole_team)]
    if metric.trend:
        points = goal_trend(goal, rules, rule, view.subject, count=metric.trend, now=now)
        shown.trend = trend_shown(rule, points, view.subject)
    if metric.breakdown:
        number = Number(goal, rule, view.subject, cycle, view.whole_team, "numerator")
        try:
            window = number_window(goal.tenant, number)
        except Http404:  # the member joined the goal's team after this cycle began
            return
        shown.breakdown = _breakdown(
            rules, rule, metric.breakdown, window, records_link(number), shown, view.subject,
            view.whole_team,
        )  # fmt: skip


def _without_goal(shown: Shown, rules: Rules, view: Viewpoint, now: datetime) -> None:
    metric, rule = shown.metric, shown.rule
    tenant = view.subject.tenant
    calendar = tenant_calendar(tenant)
    today = now.astimezone(calendar.zone).date()
    trend = trend_cycles(calendar, metric.cycle, through=today, count=max(metric.trend, 1),
                         anchor=today)  # fmt: skip
    points = rule_trend(
        rules, tenant=tenant, trend=trend, member=view.subject.pk, whole_team=view.whole_team
    )
    points = points_linked(points, rule, view.subject, whole_team=view.whole_team)
    shown.cycle, shown.value, shown.records = trend[-1], points[-1].value, points[-1].records
    if metric.trend:
        shown.trend = trend_shown(rule, points, view.subject)
    if metric.breakdown:
        number = Number(None, rule, view.subject, shown.cycle, view.whole_team, "numerator")
        window = number_window(tenant, number)
        shown.breakdown = _breakdown(
            rules, rule, metric.breakdown, window, shown.records, shown, view.subject,
            view.whole_team,
        )  # fmt: skip


def _team_totals(
    shown: Shown, rules: Rules, team: Viewpoint, row: Achievement | None, now: datetime
) -> None:
    """A rep's view with their team's totals: the team's bar of its goal, or its value in the
    metric's cycle without one (the rep's own cycle when the rep's number has no goal)."""
    if row is not None:
        bar = progress(row, row.shown_cycle, now, team=True)
        shown.bars.append(replace(bar, held_as="your team", records_url=""))
        return
    if shown.goal is None and shown.cycle is not None:
        points = rule_trend(
            rules, tenant=team.subject.tenant, trend=[shown.cycle], member=team.subject.pk
        )
        shown.team_value = points[-1].value


def dashboard_shown(dashboard: Dashboard, view: Viewpoint, now: datetime) -> list[Shown]:
    """Every metric of the dashboard as the member of ``view`` may see it, in order
    (``Viewpoint.of(member, reps_see_team=dashboard.reps_see_team)``)."""
    tenant = view.subject.tenant
    metrics = list(dashboard.metrics.all())
    wanted = {(m.ruleset_id, m.rule_key) for m in metrics if m.kind == DashboardMetric.Kind.RULE}
    rules = {
        (rule.ruleset_id, rule.key): rule
        for rule in GoalRule.objects.filter(
            ruleset_id__in={ruleset for ruleset, _key in wanted},
            key__in={key for _ruleset, key in wanted},
        )
    }
    rows = _goal_rows(view, list(rules.values()), now) if rules else {}
    head = view.team_head
    team_view = Viewpoint(head, whole_team=True) if head is not None else None
    team_rows = _goal_rows(team_view, list(rules.values()), now) if team_view and rules else {}
    shown_all = []
    vocabulary = tenant_vocabulary(tenant)
    read: dict[int, RulesetRead] = {}
    for metric in metrics:
        shown = Shown(metric)
        shown_all.append(shown)
        if metric.kind == DashboardMetric.Kind.CUSTOMERS:
            today = now.astimezone(tenant_calendar(tenant).zone).date()
            team = None if view.company else view.subject
            kind = CycleKind(metric.cycle)
            kind = kind if kind in KINDS else CycleKind.MONTHLY  # a month at the shortest
            shown.customers = customers_panel(tenant=tenant, kind=kind, day=today, team=team)
            continue
        shown.rule = rules.get((metric.ruleset_id, metric.rule_key))
        if shown.rule is None:
            shown.problem = "This metric's rule is no longer in its ruleset."
            continue
        ruleset_id = shown.rule.ruleset_id
        if ruleset_id not in read:  # once a ruleset, however many of its rules are shown
            read[ruleset_id] = ruleset_read(tenant, ruleset_id, vocabulary)
        try:
            counted = Rules.of(tenant, shown.rule, read[ruleset_id])
        except Http404:
            shown.problem = "This metric's rule cannot be computed: its ruleset's page says why."
            continue
        row = rows.get(shown.rule.pk)
        if row is not None:
            _with_goal(shown, counted, row, view, now)
        else:
            _without_goal(shown, counted, view, now)
        if team_view is not None:
            _team_totals(shown, counted, team_view, team_rows.get(shown.rule.pk), now)
    return shown_all
