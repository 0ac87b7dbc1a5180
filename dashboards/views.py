"""Dashboards: Assigned to me, My team (drill-down), a member's goals, a goal's progress with its
chart and CSV export, and the company overview. Each page reads a fixed number of queries."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from achievements.models import Achievement, GoalComputation
from achievements.queries import achievement_rows, write_rows
from goals.calendar import cycle_containing
from goals.models import Goal, tenant_calendar, tenant_today
from goals.quotas import goals_changed
from hierarchy.decorators import member_required
from hierarchy.models import MANAGING_ROLES, Member, Tenant

from .chart import bar_chart, sparkline
from .dashboard import Progress, progress, time_left
from .fragments import Fragment, render_fragment
from .panels import Person, cached, held, held_cells, team_panel, team_totals

# Panels marked data-poll skip the poll while their tab is hidden (static/js/app.js; a trigger
# filter would need eval, which the Content-Security-Policy forbids).
POLL = "every 30s"


def _template(request: HttpRequest, name: str, partial: str) -> str:
    return f"{name}#{partial}" if request.htmx and request.htmx.target == partial else name


def _bars(bars: list[Progress]) -> Fragment:
    return Fragment("dashboards/_bars.html", {"bars": bars}, tuple(bar.shown for bar in bars))


def _member_goals(tenant: Tenant, member: Member, now: datetime) -> list[dict[str, Any]]:
    """The member's goals in their running cycle: a progress bar per rule they hold a target of."""
    calendar = tenant_calendar(tenant)
    running = {}  # goal id -> (name, running cycle, computation stamp)
    for pk, name, kind, start, end, stamp in (
        Goal.objects.covering(member)
        .live()
        .values_list("pk", "name", "cycle", "start", "end", "computation__computed_at")
    ):
        if (cycle := cycle_containing(calendar, kind, now, start, end)) is not None:
            running[pk] = (name, cycle, stamp)
    stamps = tuple((pk, cycle.index, cycle.start, at) for pk, (_, cycle, at) in running.items())
    cycles = {pk: cycle for pk, (_, cycle, _) in running.items()}
    held = cached(tenant, ("member", member.pk, stamps), lambda: held_cells(member.pk, cycles))
    goals: dict[int, dict[str, Any]] = {}
    for cell in held:
        if cell.goal_id not in goals:
            name, cycle, _ = running[cell.goal_id]
            goals[cell.goal_id] = {
                "name": name,
                "cycle": cycle,
                "time_left": time_left(cycle, now),
                "computed_at": cell.computed_at,
                "bars": [],
            }
        goals[cell.goal_id]["bars"].append(
            progress(cell, goals[cell.goal_id]["cycle"], now, team=False)
        )
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
    series: dict[tuple[int, int], dict[str, Any]] = {}
    for row in rows:
        entry = series.setdefault(
            (row.goal_id, row.rule_id), {"goal": row.goal, "rule": row.rule, "cycles": []}
        )
        cycle = row.goal.cycles()[row.cycle_index]
        entry["cycles"].append({"cycle": cycle, "bar": progress(row, cycle, cycle.end, team=False)})
    for entry in series.values():
        entry["cycles"] = entry["cycles"][-12:]
        entry["trend"] = sparkline(_trend([item["bar"] for item in entry["cycles"]]))
    return list(series.values())


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
    if wanted.isdigit() and int(wanted) < len(cycles):
        return int(wanted)
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
        .filter(title="")
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
    for cell in panel.cells:
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
        "team_bars_html": render_fragment(_bars(team_bars)),
        "leaderboard": render_fragment(leaderboard) if reports else "",
        "breadcrumb": [manager for manager in panel.managers if manager.lft >= top.lft],
        "computed_at": panel.cells[0].computed_at if panel.cells else None,
    }
    return render(request, _template(request, "dashboards/my_team.html", "team-panel"), context)


def _board_shown(board: dict[str, Any]) -> tuple[Any, ...]:
    """Everything templates/dashboards/_leaderboard.html shows."""
    return (
        board["goal"].pk,
        board["cycle"].index,
        board["node"].pk,
        board["sort"],
        tuple((bar.rule.key, bar.rule.name) for bar in board["team_bars"]),
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


def _progress_goal(request: HttpRequest, pk: int) -> Goal:
    goals = Goal.objects.visible_to(request.member).select_related("tenant", "team", "ruleset")
    return get_object_or_404(goals, pk=pk)


@member_required(*MANAGING_ROLES)
@vary_on_headers("HX-Request")
def goal_progress(request: HttpRequest, pk: int) -> HttpResponse:
    goal = _progress_goal(request, pk)
    now = timezone.now()
    cycles = goal.cycles()
    index = _cycle_index(request, goal, now)
    team_rows = list(
        Achievement.objects.filter(goal=goal, member=goal.team)
        .select_related("rule")
        .order_by("rule__position", "cycle_index")
    )
    charts = defaultdict(list)
    for row in team_rows:
        charts[row.rule].append((cycles[row.cycle_index].label, row.team_value, row.team_target))
    members = (
        Achievement.objects.filter(goal=goal, cycle_index=index)
        .select_related("member", "rule")
        .order_by("member__lft", "rule__position")
    )
    table = defaultdict(list)
    for row in members:
        table[row.member].append(progress(row, cycles[index], now, team=True))
    context = {
        "goal": goal,
        "charts": [
            {"rule": rule, "svg": bar_chart(points, rule)} for rule, points in charts.items()
        ],
        "cycle": cycles[index],
        "cycles": cycles,
        "table": dict(table),
        "computation": GoalComputation.objects.filter(goal=goal).first(),
    }
    return render(request, "dashboards/goal_progress.html", context)


@member_required(*MANAGING_ROLES)
def goal_export(request: HttpRequest, pk: int) -> HttpResponse:
    goal = _progress_goal(request, pk)
    buffer = io.StringIO()
    write_rows([row.export() for row in achievement_rows(goal)], buffer, "csv")
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="goal-{goal.pk}-achievements.csv"'
    return response


@member_required(Member.Role.ADMIN)
@vary_on_headers("HX-Request")
def company_overview(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    goals = list(
        Goal.objects.live()
        .select_related("team")
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
