"""Goal pages: the list, the wizard (create and edit with the same screens), a goal's page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from core.numbers import whole_number
from hierarchy.decorators import member_required
from hierarchy.models import MANAGING_ROLES, AuditEntry, Member

from .forms import (
    METHODS,
    STEPS,
    GoalBasicsForm,
    Parsed,
    draft_from,
    initial_from,
    parse_splits,
    parse_targets,
    shares_prefilled,
)
from .models import Goal, tenant_today
from .quotas import org_change, quotas_redistribute, redistribution_preview, shown_targets
from .services import (
    OWN_KEY,
    draft_plan,
    goal_archive,
    goal_check,
    goal_plan,
    goal_save,
    goal_tree,
)
from .suggestions import target_suggestions

TABS = ("in_progress", "upcoming", "ended", "archived")
# What each step's errors are called in goal_check's answer.
STEP_OF_FIELD = {"targets": "targets", "distribution": "distribution", "share": "distribution"}
LOCKED_WHILE_RUNNING = {"ruleset", "team", "cycle", "start", "sales_role"}


def _visible(request: HttpRequest):  # noqa: ANN202
    goals = Goal.objects.visible_to(request.member)
    return goals.select_related("tenant", "ruleset", "team__user", "sales_role")


@member_required(*MANAGING_ROLES)
def goal_list(request: HttpRequest) -> HttpResponse:
    today = tenant_today(request.tenant)
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "in_progress"
    templates = request.GET.get("kind") == "templates"
    viewer = request.member
    own = set(_visible(request).values_list("pk", flat=True))
    covering = Goal.objects.covering(viewer) | Goal.objects.filter(pk__in=own)
    goals = [
        goal
        for goal in covering.select_related("tenant", "ruleset", "team", "sales_role").order_by(
            "-start", "name"
        )
        if goal.status_on(today) == tab and goal.is_template == templates
    ]
    for goal in goals:  # goals set above the viewer: they see their part in My team
        goal.managed_here = goal.pk in own
    context = {"goals": goals, "tab": tab, "tabs": TABS, "today": today, "templates": templates}
    return render(request, "goals/goal_list.html", context)


def _step_of(field: str) -> str:
    return STEP_OF_FIELD.get(field.split(".")[0].split("-")[0], "basics")


@member_required(*MANAGING_ROLES)
@vary_on_headers("HX-Request")
def goal_wizard(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Every step in one form: basics, targets per rule, the distribution down the tree, review.
    ``check`` (HTMX, as numbers are typed) answers the distribution step alone."""
    goal = get_object_or_404(_visible(request), pk=pk) if pk else None
    today = tenant_today(request.tenant)
    if goal is not None and goal.status_on(today) in (Goal.Status.ENDED, Goal.Status.ARCHIVED):
        return render(request, "goals/goal_readonly.html", {"goal": goal}, status=409)
    running = goal is not None and goal.status_on(today) == Goal.Status.IN_PROGRESS
    locked = LOCKED_WHILE_RUNNING if running else set()
    template_goal = request.GET.get("kind") == "templates" or bool(goal and goal.is_template)
    if request.method == "GET" and goal is None:
        initial = {"start": today} | _for_one(request, template_goal)
        form = GoalBasicsForm(initial=initial, viewer=request.member, locked=locked)
        context = {"step": "basics", "inputs": {}, "errors": {}}
        return _render(request, form, goal, template_goal, context)
    # A goal opens as if its saved state were posted on the first step: every step's inputs
    # (targets, splits) are on the page, so going through the steps keeps them.
    saved = initial_from(goal) if goal is not None else None
    data = request.POST if request.method == "POST" else _posted(*saved)
    form = GoalBasicsForm(data, viewer=request.member, locked=locked)
    if saved is not None:  # locked fields are not posted: take the goal's
        form.initial = saved[0]
    wanted = data.get("go", data.get("step", "basics"))
    step = wanted if wanted in STEPS else "basics"
    context: dict[str, Any] = {"inputs": data, "errors": {}}
    if not form.is_valid():
        context.update(step="basics")
        return _render(request, form, goal, template_goal, context)
    basics = form.cleaned_data
    rules = list(basics["ruleset"].rules.order_by("position"))
    tree = goal_tree(basics["team"])
    own = basics["holders"] == Goal.Holders.EVERYONE
    data = context["inputs"] = shares_prefilled(data, tree, basics["default_split"], own)
    parsed = Parsed()
    parse_targets(data, rules, parsed)
    keys = [r.key for r in rules if r.key in parsed.targets]
    parse_splits(data, tree, keys, parsed, basics["default_split"])
    draft = draft_from(basics, parsed)
    errors = dict(parsed.errors)
    plan = None
    try:
        goal_cycles, tree = goal_check(draft, goal=goal, actor=request.member)
        plan = draft_plan(draft, goal_cycles, tree)
    except ValidationError as exc:
        errors |= {name: " ".join(texts) for name, texts in exc.message_dict.items()}
    # A step's problems show once the person has been on it: arriving on the targets step
    # says nothing of targets not typed yet.
    problems = errors  # all of them: nothing is saved while any stands
    came_from = data.get("step") or step
    if came_from in STEPS:
        seen = STEPS.index(came_from)
        errors = {
            name: text for name, text in errors.items() if STEPS.index(_step_of(name)) <= seen
        }
    warnings = plan.zero_shares(plan.shown_cycle(today)) if plan and not plan.template else []
    context.update(errors=errors, rules=rules, tree=tree, plan=plan, draft=draft, warnings=warnings)
    if step == "targets" and "check" not in request.GET:
        context["suggestions"] = target_suggestions(
            team=basics["team"], rules=rules, kind=basics["cycle"], start=basics["start"]
        )
    if "check" in request.GET:
        return _render(request, form, goal, template_goal, context | {"step": "distribution"})
    if errors:  # stay on the earliest step with a problem (not past the one asked for)
        order = STEPS.index
        earliest = min((_step_of(name) for name in errors), key=order)
        step = earliest if order(earliest) <= order(step) or step == "review" else step
    if step == "review" and data.get("save") and not problems:
        saved = goal_save(draft=draft, goal=goal, actor=request.member)
        messages.success(request, f"Saved {saved.name}.")
        return redirect("goal_detail", pk=saved.pk)
    return _render(request, form, goal, template_goal, context | {"step": step})


def _for_one(request: HttpRequest, template_goal: bool) -> dict[str, Any]:
    """``?team=<id>`` (the "Set a goal" link of a member's pages): the wizard opens on that
    member's team; for someone without reports the team is the person, who holds it all."""
    wanted = whole_number(request.GET.get("team"))
    if template_goal or wanted is None:
        return {}
    visible = Member.objects.visible_to(request.member).filter(is_active=True)
    person = visible.filter(pk=wanted).first()
    if person is None:
        raise Http404("no such member in your team")
    return {"team": person.pk, "name": f"{person.name}'s goals"}


def _posted(basics: dict[str, Any], inputs: dict[str, str]) -> QueryDict:
    """A saved goal's basics and inputs as the wizard posts them."""
    data = QueryDict(mutable=True)
    for name, value in basics.items():
        if value is not None and value is not False:
            data[name] = "on" if value is True else str(value)
    data.update(inputs)
    return data


def _render(
    request: HttpRequest,
    form: GoalBasicsForm,
    goal: Goal | None,
    template_goal: bool,
    context: dict,
) -> HttpResponse:
    """The wizard page (or its distribution step alone, for the live check)."""
    inputs, errors = context["inputs"], context["errors"]
    rules = context.get("rules", [])
    targeted = [rule for rule in rules if inputs.get(f"target-{rule.key}", "").strip()]
    context["rule_rows"] = [
        {
            "rule": rule,
            "value": inputs.get(f"target-{rule.key}", ""),
            "phasing": inputs.get(f"phasing-{rule.key}", ""),
            "error": errors.get(f"targets.{rule.key}"),
            "suggestion": context.get("suggestions", {}).get(rule.key),
        }
        for rule in rules
    ]
    context["targeted"] = targeted
    context["rows"] = _tree_rows(request, context, targeted) if "tree" in context else []
    context.update(
        form=form,
        goal=goal,
        template_goal=template_goal,
        steps=STEPS if not template_goal else ("basics", "targets", "review"),
        methods=METHODS,
        general_errors=[
            text
            for name, text in errors.items()
            if _step_of(name) == "basics" and name not in form.fields
        ],
    )
    name = "goals/goal_wizard.html"
    if request.htmx and "check" in request.GET:
        # As numbers are typed only the results change (the inputs stay as the person types);
        # a changed split method brings other inputs: the whole step.
        name += "#results" if request.GET["check"] == "results" else "#distribution"
    return render(request, name, context)


def _tree_rows(request: HttpRequest, context: dict, targeted: list) -> list[dict[str, Any]]:
    """The team as rows in tree order: each with its share inputs (under a parent that splits
    by percentage or custom amounts), its targets in the shown cycle, and each parent's method."""
    tree, plan, inputs, errors = (context[k] for k in ("tree", "plan", "inputs", "errors"))
    shown = plan.shown_cycle(tenant_today(request.tenant)) if plan else None
    context["shown_cycle"] = shown
    table = plan.member_targets(shown) if plan else {}
    parent_of = tree.manager_of
    own_share = context["draft"].holders == Goal.Holders.EVERYONE

    default = context["draft"].default_split

    def share_inputs(parent: int, taker: int | str) -> list[dict[str, str]]:
        method = inputs.get(f"method-{parent}", default)
        if method == "percentage":
            name = f"share-{parent}-{taker}"
            return [{"name": name, "value": inputs.get(name, ""), "label": "%"}]
        if method == "custom":
            return [
                {"name": f"share-{parent}-{taker}-{rule.key}", "label": rule.name,
                 "value": inputs.get(f"share-{parent}-{taker}-{rule.key}", "")}
                for rule in targeted
            ]  # fmt: skip
        return []

    level_errors: dict[int, list[str]] = {}
    splits = context["draft"].splits
    for name, text in errors.items():
        place = name.split(".")
        if place[0] == "distribution" and len(place) > 1 and place[1].isdigit():
            level_errors.setdefault(splits[int(place[1])].parent.pk, []).append(text)
        elif name.startswith("share-"):
            level_errors.setdefault(int(name.split("-")[1]), []).append(text)
    rows = []
    root_level = tree.members[tree.root].level
    for pk, member in tree.members.items():
        reports = tree.children.get(pk, [])
        parent = parent_of.get(pk)
        rows.append(
            {
                "member": member,
                "depth": member.level - root_level,
                "has_reports": bool(reports),
                "method": inputs.get(f"method-{pk}", default) if reports else None,
                "shares": share_inputs(parent, pk) if parent is not None else [],
                "own": share_inputs(pk, OWN_KEY) if reports and own_share else [],
                "errors": level_errors.get(pk, []),
                "targets": [(rule, table.get(pk, {}).get(rule.key)) for rule in targeted],
            }
        )
    return rows


@member_required(*MANAGING_ROLES)
def goal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    goal = get_object_or_404(_visible(request), pk=pk)
    today = tenant_today(request.tenant)
    plan = goal_plan(goal)
    cycle = plan.shown_cycle(today)
    table, stored = shown_targets(goal, plan, cycle)
    keyed = {rule.key: rule for rule in plan.rules if rule.pk in plan.targets}
    rows = [
        {
            "member": plan.tree.members[pk_],
            "targets": targets,
            "cells": [(rule, targets.get(key)) for key, rule in keyed.items()],
        }
        for pk_, targets in table.items()
    ]
    history = AuditEntry.objects.filter(target_type="goal", target_id=goal.pk)
    history = history.order_by("-created_at", "-pk")
    context = {
        "goal": goal,
        "status": goal.status_on(today),
        "cycles": plan.cycles,
        "cycle": cycle,
        "rules": list(keyed.values()),
        "tracked": [rule for rule in plan.rules if rule.pk not in plan.targets],
        "rows": rows,
        "history": history.select_related("actor"),
        "editable": goal.status_on(today) in (Goal.Status.UPCOMING, Goal.Status.IN_PROGRESS),
        "stored": stored,
        "change": org_change(goal, plan.tree, plan.cycles, timezone.now()),
    }
    return render(request, "goals/goal_detail.html", context)


@member_required(*MANAGING_ROLES)
def goal_redistribute(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the running cycle's stored targets and those a re-distribution would give, side
    by side; POST: apply it (audited)."""
    goal = get_object_or_404(_visible(request), pk=pk)  # another tenant's id: 404 on any method
    if request.method == "POST":
        try:
            cycle = quotas_redistribute(goal=goal, actor=request.member)
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, f"Targets for {cycle.label} re-distributed over the team as it is now."
            )
        return redirect("goal_detail", pk=goal.pk)
    plan = goal_plan(goal)
    change = org_change(goal, plan.tree, plan.cycles, timezone.now())
    if change is None:
        messages.info(request, "The team is as its targets were set: nothing to re-distribute.")
        return redirect("goal_detail", pk=goal.pk)
    context = {
        "goal": goal,
        "change": change,
        "rules": [rule for rule in plan.rules if rule.pk in plan.targets],
        "rows": redistribution_preview(change, plan),
    }
    return render(request, "goals/goal_redistribute.html", context)


@member_required(*MANAGING_ROLES)
def goal_archive_view(request: HttpRequest, pk: int) -> HttpResponse:
    goal = get_object_or_404(_visible(request), pk=pk)  # another tenant's id: 404 on any method
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        goal_archive(goal=goal, actor=request.member)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Archived {goal.name}; it is kept with its history.")
    return redirect("goal_detail", pk=goal.pk)
