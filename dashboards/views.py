"""Dashboards: Assigned to me, My team (drill-down), a member's goals, a goal's progress with its
chart and CSV export, and the company overview. Each page reads a fixed number of queries."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from achievements.models import Achievement, GoalComputation
from achievements.queries import achievement_rows, write_rows
from core.dates import date_range_problem
from core.numbers import whole_number
from crm.listings import LISTINGS
from crm.models import PipelineStage
from goals.calendar import Cycle, CycleKind, cycle_containing, cycle_ended
from goals.models import Goal, tenant_calendar, tenant_today
from goals.quotas import goals_changed
from hierarchy.decorators import member_required
from hierarchy.models import MANAGING_ROLES, Member, Tenant

from .breakdowns import breakdown_fields
from .chart import bar_chart, sparkline
from .customers import KINDS, customers_panel
from .dashboard import (
    Progress,
    by_indicator,
    held_bars,
    leading_first,
    member_cycles,
    progress,
    time_left,
)
from .fragments import Fragment, render_fragment
from .panels import (
    Person,
    cached,
    closing_cells,
    held,
    held_cells,
    team_panel,
    team_totals,
)
from .pipeline import (
    PERIODS,
    board_for,
    closed_totals,
    columns,
    more_cards,
    stage_pies,
)
from .records import ruleset_read, whole_asked

# Panels marked data-poll skip the poll while their tab is hidden (static/js/app.js; a trigger
# filter would need eval, which the Content-Security-Policy forbids).
POLL = "every 30s"


def _template(request: HttpRequest, name: str, partial: str) -> str:
    return f"{name}#{partial}" if request.htmx and request.htmx.target == partial else name


def _bars(bars: list[Progress]) -> Fragment:
    """Progress bars under a heading per kind of indicator, leading first."""
    groups = by_indicator(bars)
    shown = tuple((heading, tuple(bar.shown for bar in group)) for heading, group in groups)
    return Fragment("dashboards/_bars.html", {"groups": groups}, shown)


def _member_goals(tenant: Tenant, member: Member, now: datetime) -> list[dict[str, Any]]:
    """The member's goals in their running cycle, and in the cycle that just ended while it is
    closing (not final yet): a progress bar per rule they hold a target of."""
    shown, stamps = member_cycles(tenant, member, now, closing=True)
    pairs = [(pk, cycle) for (pk, _), (_, cycle) in shown.items()]
    key = ("member", member.pk, tuple(stamps))
    held = cached(tenant, key, lambda: held_cells(member.pk, pairs))
    goals: dict[tuple[int, int], dict[str, Any]] = {}
    for cell in held:
        place = (cell.goal_id, cell.cycle_index)
        if place not in goals:
            name, cycle = shown[place]
            goals[place] = {
                "name": name,
                "cycle": cycle,
                "closing": cycle.end <= now,
                "time_left": time_left(cycle, now),
                "computed_at": cell.computed_at,
                "bars": [],
            }
        cycle = goals[place]["cycle"]
        goals[place]["bars"] += held_bars(cell, cycle, now, leads_team=member.leads_team)
    entries = list(goals.values())
    for entry in entries:
        entry["bars_html"] = render_fragment(_bars(entry["bars"]))
    return entries


def _past(member: Member) -> list[dict[str, Any]]:
    """Closed cycles of the member's targets and tracked metrics, per goal and rule: a trend
    (of the share of target; of the value where there is no target) and a table."""
    rows = (
        Achievement.objects.filter(held(), member=member, final=True)
        .select_related("goal__tenant", "rule")
        .order_by("goal__name", "rule__position", "cycle_index")
    )
    series: dict[tuple[int, int, bool], dict[str, Any]] = {}
    for row in rows:
        cycle = row.goal.cycles()[row.cycle_index]
        for bar in held_bars(row, cycle, cycle.end, leads_team=member.leads_team):
            entry = series.setdefault(
                (row.goal_id, row.rule_id, bar.team),
                {"goal": row.goal, "rule": row.rule, "team": bar.team, "cycles": []},
            )
            entry["cycles"].append({"cycle": cycle, "bar": bar})
    for entry in series.values():
        entry["cycles"] = entry["cycles"][-12:]
        entry["trend"] = sparkline(_trend([item["bar"] for item in entry["cycles"]]))
    return leading_first(series.values(), lambda entry: entry["rule"])


def _trend(bars: list[Progress]) -> list[int]:
    """Percent of target per cycle; a tracked metric's values as percent of their highest."""
    if any(bar.target is not None for bar in bars):
        return [bar.percent or 0 for bar in bars]
    top = max((bar.value or 0 for bar in bars), default=0)
    return [int((bar.value or 0) * 100 / top) if top else 0 for bar in bars]


def _upcoming(member: Member) -> list[Goal]:
    today = tenant_today(member.tenant)
    return list(
        Goal.objects.live()
        .covering(member)
        .filter(start__gt=today)
        .select_related("team")
        .order_by("start")
    )


@member_required()
@vary_on_headers("HX-Request")
def assigned_to_me(request: HttpRequest) -> HttpResponse:
    return _goals_page(request, request.member, "dashboards/assigned_to_me.html")


@member_required(*MANAGING_ROLES)
@vary_on_headers("HX-Request")
def member_goals(request: HttpRequest, pk: int) -> HttpResponse:
    subject = get_object_or_404(Member.objects.visible_to(request.member), pk=pk)
    return _goals_page(request, subject, "dashboards/member_goals.html")


def _goals_page(request: HttpRequest, subject: Member, template: str) -> HttpResponse:
    now = timezone.now()
    tab = request.GET.get("tab", "current")
    context: dict[str, Any] = {
        "subject": subject,
        "tab": tab,
        "tab_choices": (("current", "Current"), ("upcoming", "Upcoming"), ("past", "Past cycles")),
        "poll": POLL,
        "now": now,
    }
    if tab == "upcoming":
        context["upcoming"] = _upcoming(subject)
    elif tab == "past":
        context["past"] = _past(subject)
    else:
        context["goals"] = _member_goals(request.tenant, subject, now)
    return render(request, _template(request, template, "panel"), context)


def _top(request: HttpRequest, goal: Goal) -> Member:
    """Where the viewer's view of a goal starts: its team, or the viewer when the goal covers
    more than their own part of the tree (a company goal seen by a regional manager)."""
    viewer, team = request.member, goal.team
    if viewer.is_admin or viewer.contains(team):
        return team
    return viewer


def _node(request: HttpRequest, goal: Goal) -> Member:
    """The member whose reports My team shows: the top of the viewer's view unless ?member=
    goes deeper."""
    wanted = request.GET.get("member")
    if not wanted:
        return _top(request, goal)
    try:
        pk = int(wanted)
    except ValueError:
        raise Http404("member must be an id") from None
    node = get_object_or_404(Member.objects.visible_to(request.member), pk=pk)
    team = goal.team
    if not team.contains(node):
        raise Http404("not in this goal's team")
    return node


def _cycle_index(request: HttpRequest, goal: Goal, now: datetime) -> int:
    cycles = goal.cycles()
    wanted = request.GET.get("cycle", "")
    index = whole_number(wanted)
    if index is not None and index < len(cycles):
        return index
    started = [cycle.index for cycle in cycles if cycle.start <= now]
    return started[-1] if started else 0


@member_required(*MANAGING_ROLES)
@vary_on_headers("HX-Request")
def my_team(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    viewer = request.member
    mine = Goal.objects.visible_to(viewer) | Goal.objects.covering(viewer)
    goals = list(
        mine.live()
        .filter(sales_role__isnull=True)
        .select_related("team")
        .annotate(stamp=F("computation__computed_at"))
        .order_by("-start", "name")
    )
    for shown in goals:
        shown.tenant = request.tenant  # the scope's: cheaper than joining it again
    context: dict[str, Any] = {"goals": goals, "poll": POLL, "now": now}
    if not request.htmx:  # the notices sit above the panel, which alone refreshes
        managed = [
            g
            for g in goals
            if (viewer.is_admin or viewer.contains(g.team))
            and g.status_on(tenant_today(g.tenant)) == Goal.Status.IN_PROGRESS
        ]
        context["changes"] = goals_changed(managed, now)
    chosen = request.GET.get("goal", "")
    if chosen and all(str(g.pk) != chosen for g in goals):
        raise Http404("no such goal of your team")  # another tenant's, or another team's
    if not goals:
        context["direct_reports"] = viewer.direct_reports.filter(is_active=True).order_by("name")
        return render(request, "dashboards/my_team.html", context)
    goal = next((g for g in goals if str(g.pk) == chosen), None) or next(
        (g for g in goals if g.status_on(tenant_today(g.tenant)) == Goal.Status.IN_PROGRESS),
        goals[0],
    )
    node = _node(request, goal)
    top = _top(request, goal)
    index = _cycle_index(request, goal, now)
    cycle = goal.cycles()[index]
    panel = cached(
        request.tenant,
        ("team", goal.pk, cycle.index, cycle.start, node.pk, goal.stamp),
        lambda: team_panel(goal.pk, cycle, node),
    )
    team_bars, by_member = [], defaultdict(list)
    for cell in leading_first(panel.cells):
        bar = progress(cell, cycle, now, team=True)
        if cell.member_id == node.pk:
            team_bars.append(bar)
        else:
            by_member[panel.people[cell.member_id]].append(bar)
    sort = request.GET.get("sort", "")
    reports = _leaderboard(by_member, sort)
    board = {"goal": goal, "cycle": cycle, "node": node, "sort": sort, "team_bars": team_bars,
             "reports": reports}  # fmt: skip
    leaderboard = Fragment("dashboards/_leaderboard.html", board, _board_shown(board))
    context |= board | {
        "cycles": goal.cycles(),
        "closing": cycle.end <= now and any(not cell.final for cell in panel.cells),
        "team_bars_html": render_fragment(_bars(team_bars)),
        "leaderboard": render_fragment(leaderboard) if reports else "",
        "breadcrumb": [manager for manager in panel.managers if manager.lft >= top.lft],
        "computed_at": panel.cells[0].computed_at if panel.cells else None,
        "ended": _closing_card(request, goal, cycle, node, now),
    }
    return render(request, _template(request, "dashboards/my_team.html", "team-panel"), context)


def _closing_card(
    request: HttpRequest, goal: Goal, shown: Cycle, node: Member, now: datetime
) -> dict[str, Any] | None:
    """The team's totals in the goal's cycle that just ended, while it is closing (not final
    yet) and another cycle is shown: yesterday's result stays in sight until it is closed."""
    calendar = tenant_calendar(request.tenant)
    cycle = cycle_ended(calendar, goal.cycle, now, goal.start, goal.end)
    if cycle is None or cycle.index == shown.index:
        return None
    key = ("closing", goal.pk, cycle.index, cycle.start, node.pk, goal.stamp)
    cells = cached(request.tenant, key, lambda: closing_cells(goal.pk, cycle, node))
    if not cells:
        return None
    bars = [progress(cell, cycle, now, team=True) for cell in cells]
    return {"cycle": cycle, "bars_html": render_fragment(_bars(bars))}


def _board_shown(board: dict[str, Any]) -> tuple[Any, ...]:
    """Everything templates/dashboards/_leaderboard.html shows."""
    return (
        board["goal"].pk,
        board["cycle"].index,
        board["node"].pk,
        board["sort"],
        tuple((bar.rule.key, bar.rule.name, bar.rule.indicator) for bar in board["team_bars"]),
        tuple(
            (entry["member"], entry["behind"], tuple(bar.shown for bar in entry["bars"]))
            for entry in board["reports"]
        ),
    )


def _leaderboard(by_member: dict[Person, list[Progress]], sort: str) -> list[dict[str, Any]]:
    """Direct reports, by name or by how far along a rule's target they are (best first, then
    by name)."""
    reports = [
        {"member": member, "bars": bars, "behind": any(b.status == "behind" for b in bars)}
        for member, bars in by_member.items()
    ]
    if sort.startswith("rule-"):
        key = sort.removeprefix("rule-")

        def reached(entry: dict[str, Any]) -> float:
            bar = next((b for b in entry["bars"] if b.rule.key == key), None)
            return -(bar.percent or 0) if bar and bar.percent is not None else 1.0

        return sorted(reports, key=lambda entry: (reached(entry), entry["member"].name.lower()))
    return sorted(reports, key=lambda entry: entry["member"].name.lower())


def _progress_goal(request: HttpRequest, pk: int) -> tuple[Goal, Member]:
    """A goal the viewer manages, or one set above them, and the top of what they see of it:
    the goal's team, or (set above them) their own team, their part of it."""
    viewer = request.member
    goals = Goal.objects.visible_to(viewer) | Goal.objects.covering(viewer)
    goal = get_object_or_404(goals.select_related("tenant", "team", "ruleset"), pk=pk)
    top = goal.team if viewer.is_admin or viewer.contains(goal.team) else viewer
    return goal, top


@member_required(*MANAGING_ROLES)
@vary_on_headers("HX-Request")
def goal_progress(request: HttpRequest, pk: int) -> HttpResponse:
    goal, top = _progress_goal(request, pk)
    now = timezone.now()
    cycles = goal.cycles()
    index = _cycle_index(request, goal, now)
    team_rows = list(
        Achievement.objects.filter(goal=goal, member=top)
        .select_related("rule")
        .order_by("rule__position", "cycle_index")
    )
    charts = defaultdict(list)
    for row in leading_first(team_rows):
        charts[row.rule].append((cycles[row.cycle_index].label, row.team_value, row.team_target))
    specs, custom = ruleset_read(request.tenant, goal.ruleset_id)
    members = (
        Achievement.objects.filter(top.subtree_q("member"), goal=goal, cycle_index=index)
        .select_related("member", "rule")
        .order_by("member__lft", "rule__position")
    )
    table = defaultdict(list)
    for row in leading_first(members):
        table[row.member].append(progress(row, cycles[index], now, team=True))
    trend = reverse("rule_trend")
    context = {
        "goal": goal,
        "top": top,
        "charts": by_indicator(
            [
                {
                    "rule": rule,
                    "svg": bar_chart(points, rule),
                    "fields": breakdown_fields(specs[rule.key], specs, custom)
                    if rule.key in specs
                    else [],
                    "trend_url": f"{trend}?goal={goal.pk}&rule={rule.pk}&member={top.pk}&cycles=12"
                    if rule.key in specs
                    else "",
                }
                for rule, points in charts.items()
            ],
            lambda chart: chart["rule"],
        ),
        "cycle": cycles[index],
        "cycles": cycles,
        "table": dict(table),
        "computation": GoalComputation.objects.filter(goal=goal).first(),
    }
    return render(request, "dashboards/goal_progress.html", context)


@member_required(*MANAGING_ROLES)
def goal_export(request: HttpRequest, pk: int) -> HttpResponse:
    goal, top = _progress_goal(request, pk)
    buffer = io.StringIO()
    write_rows([row.export() for row in achievement_rows(goal, within=top)], buffer, "csv")
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="goal-{goal.pk}-achievements.csv"'
    return response


@member_required(Member.Role.ADMIN)
@vary_on_headers("HX-Request")
def company_overview(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    goals = list(
        Goal.objects.live()
        .select_related("team", "sales_role")
        .annotate(stamp=F("computation__computed_at"))
        .order_by("name")
    )
    calendar = tenant_calendar(request.tenant)
    running = {
        goal.pk: cycle
        for goal in goals
        if (cycle := cycle_containing(calendar, goal.cycle, now, goal.start, goal.end))
    }
    teams = [(goal.pk, goal.team_id, running[goal.pk]) for goal in goals if goal.pk in running]
    stamp = {goal.pk: goal.stamp for goal in goals}
    stamps = tuple((pk, team, c.index, c.start, stamp[pk]) for pk, team, c in teams)
    tops = cached(request.tenant, ("overview", stamps), lambda: team_totals(teams))
    bars = defaultdict(list)
    for cell in tops:
        bars[cell.goal_id].append(progress(cell, running[cell.goal_id], now, team=True))
    today = tenant_today(request.tenant)
    entries = [
        {
            "goal": goal,
            "status": goal.status_on(today),
            "bars": bars.get(goal.pk, []),
            "bars_html": render_fragment(_bars(bars[goal.pk])) if goal.pk in bars else "",
            "computed_at": goal.stamp,
        }
        for goal in goals
    ]
    context = {"entries": entries, "poll": POLL, "now": now}
    return render(request, _template(request, "dashboards/overview.html", "panel"), context)


@member_required()
@vary_on_headers("HX-Request")
def pipeline(request: HttpRequest) -> HttpResponse:
    """The open stages as columns of the open deals of a member the viewer may see (with
    their team, by default the viewer's), with the pies of the goals that track each stage;
    ``?stage=&offset=`` (a column scrolled to its end) answers the column's next cards."""
    now = timezone.now()
    form, board = board_for(request.member, request.GET, now)
    wanted = request.GET.get("member", "")
    alone = "member" not in form.fields and wanted not in ("", str(request.member.pk))
    if alone or (form.is_bound and "member" in form.errors):
        raise Http404("no such member in your team")  # another tenant's, or outside the team
    query = request.GET.copy()
    for name in ("stage", "offset"):
        query.pop(name, None)
    kinds = {key: listing.title for key, listing in LISTINGS.items()}
    context: dict[str, Any] = {"form": form, "board": board, "query": query.urlencode(),
                               "kinds": kinds}  # fmt: skip
    if "stage" in request.GET:
        stage = get_object_or_404(
            PipelineStage.objects.filter(outcome=PipelineStage.Outcome.OPEN),
            pk=whole_asked(request, "stage"),
        )
        offset = whole_asked(request, "offset") if "offset" in request.GET else 0
        cards = more_cards(board, stage, offset)
        count = board.open_deals().filter(stage=stage).count() if cards else 0
        context |= {"stage": stage, "cards": cards, "next": offset + len(cards),
                    "more": offset + len(cards) < count}  # fmt: skip
        return render(request, "dashboards/pipeline.html#more-cards", context)
    viewer = request.member
    pies = stage_pies(request.tenant, board.subject, now, manager=viewer.manages_people)
    shown = columns(board, request.tenant)
    for column in shown:
        column.pies = pies.get(column.stage.name, [])
    context |= {
        "columns": shown,
        "closed": closed_totals(board, request.tenant),
        "currency": request.tenant.default_currency,
        "period": PERIODS.get(request.GET.get("period") or "none", ""),  # "": any time
        "elsewhere": sum(column.elsewhere for column in shown),
    }
    return render(request, _template(request, "dashboards/pipeline.html", "board"), context)


@member_required(Member.Role.ADMIN)
def customers(request: HttpRequest) -> HttpResponse:
    """New customers, spend, CAC, LTV and LTV:CAC of a month, quarter or fiscal year."""
    kind = request.GET.get("kind", "")
    kind = CycleKind(kind) if kind in KINDS else CycleKind.MONTHLY
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = tenant_today(request.tenant)
    if date_range_problem(day):
        day = tenant_today(request.tenant)
    panel = customers_panel(tenant=request.tenant, kind=kind, day=day)
    context = {
        "panel": panel,
        "day": day,
        "kinds": KINDS.items(),
    }
    return render(request, "dashboards/customers.html", context)
