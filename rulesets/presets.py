"""One-click templates for the metrics customers ask for first.

Each preset is a list of rule definitions (a ratio brings the rules it divides). They are
plain data that ``ruleset_parse`` checks like any rule a person writes.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

Rule = dict[str, Any]


def _eq(field: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": "eq", "value": value}


# Leading indicators predict results (the work done, the pipeline); lagging ones show them.
LEADING, LAGGING = {"indicator": "leading"}, {"indicator": "lagging"}


def _activity(key: str, name: str, *conditions: dict[str, Any], **extra: Any) -> Rule:
    rule = {"key": key, "name": name, "entity": "activity", "conditions": list(conditions)}
    return rule | LEADING | extra


def _lead(
    key: str, name: str, date_field: str, *conditions: dict[str, Any], indicator: Rule = LEADING
) -> Rule:
    rule = {"key": key, "name": name, "entity": "lead", "date_field": date_field}
    return rule | {"conditions": list(conditions)} | indicator


def _task(key: str, name: str, date_field: str, *conditions: dict[str, Any]) -> Rule:
    rule = {"key": key, "name": name, "entity": "task", "date_field": date_field}
    return rule | {"conditions": list(conditions)} | LEADING


def _won(key: str, name: str, **extra: Any) -> Rule:
    rule = {"key": key, "name": name, "entity": "opportunity", "date_field": "closed_at"}
    return rule | {"conditions": [_eq("status", "won")]} | LAGGING | extra


def _pipeline(key: str, name: str, *conditions: dict[str, Any], **extra: Any) -> Rule:
    """Opportunities as they stood at the end of each cycle, by their stage then."""
    rule = {"key": key, "name": name, "entity": "opportunity", "mode": "cycle_end"}
    return rule | {"conditions": list(conditions)} | LEADING | extra


CALL, DONE = _eq("category", "call"), _eq("status", "completed")
# A demo the prospect did not turn up to is often logged as completed with the outcome "no
# show": it was not given. Outcomes are free text compared as written, so the spellings CRMs
# export are listed; an empty outcome (none recorded) still counts.
NO_SHOW = sorted(
    {
        spelling(words)
        for words in ("no show", "no-show", "no_show", "noshow")
        for spelling in (str.lower, str.capitalize, str.title, str.upper)
    }
)
HELD = {"field": "outcome", "op": "not_in", "value": NO_SHOW}
# The activity types an "of chosen types" preset counts, filled in by ``preset_rules``.
TYPES = {"field": "type", "op": "in", "value": None}

PRESETS: dict[str, tuple[str, list[Rule]]] = {
    "leads_converted": (
        "Leads converted to customers",
        [
            _lead(
                "leads_converted",
                "Leads converted",
                "converted_at",
                _eq("status", "converted"),
                indicator=LAGGING,
            ),
        ],
    ),
    "new_leads": ("New leads", [_lead("new_leads", "New leads", "created_at")]),
    "contacted_leads": (
        "Contacted leads",
        [
            _lead(
                "contacted_leads",
                "Contacted leads",
                "first_contacted_at",
                {"field": "first_contacted_at", "op": "is_not_empty"},
            ),
        ],
    ),
    "leads_not_contacted": (
        "Leads not contacted",
        [
            _lead(
                "leads_not_contacted",
                "Leads not contacted",
                "created_at",
                {"field": "first_contacted_at", "op": "is_empty"},
                {"field": "status", "op": "not_in", "value": ["converted", "disqualified"]},
            )
            | {"direction": "lower"},
        ],
    ),
    "disqualified_leads": (
        "Disqualified leads",
        [
            _lead(
                "disqualified_leads",
                "Disqualified leads",
                "disqualified_at",
                _eq("status", "disqualified"),
                indicator=LAGGING,
            ),
        ],
    ),
    "conversion_rate": (
        "Conversion percentage",
        [
            # Its sides are named as its own: beside the "Leads converted" preset, a ruleset
            # would show two rules of one name.
            _lead(
                "converted",
                "Conversion rate: leads converted",
                "converted_at",
                _eq("status", "converted"),
                indicator=LAGGING,
            ),
            _lead("created", "Conversion rate: new leads", "created_at", indicator=LAGGING),
            {
                "key": "conversion_rate",
                "name": "Conversion rate",
                "aggregation": "ratio",
                "numerator": "converted",
                "denominator": "created",
                "unit": "percent",
            }
            | LAGGING,
        ],
    ),
    "dialled_calls": (
        "Number of dialled calls",
        [
            _activity("dialled_calls", "Dialled calls", CALL, DONE),
        ],
    ),
    "connected_calls": (
        "Number of connected calls",
        [
            _activity(
                "connected_calls", "Connected calls", CALL, DONE, _eq("outcome", "connected")
            ),
        ],
    ),
    "call_duration": (
        "Phone call duration",
        [
            _activity(
                "call_duration",
                "Call duration",
                CALL,
                DONE,
                aggregation="sum",
                field="duration",
                unit="duration",
            ),
        ],
    ),
    # Follow-ups logged as activities; follow-up tasks (with a due date) are "follow_up_tasks".
    "follow_ups_done": (
        "Completed follow-up activities",
        [
            _activity(
                "follow_ups_done", "Follow-ups completed", _eq("category", "follow_up"), DONE
            ),
        ],
    ),
    "follow_up_tasks": (
        "Completed follow-up tasks",
        [
            _task(
                "follow_up_tasks",
                "Follow-up tasks completed",
                "completed_at",
                _eq("category", "follow_up"),
                DONE,
            ),
        ],
    ),
    "tasks_on_time": (
        "Tasks completed on time (%)",
        [
            # Of the tasks completed in the cycle, the share completed by their due time.
            _task(
                "tasks_done_on_time",
                "Tasks on time: completed on time",
                "completed_at",
                _eq("on_time", True),
            ),
            _task("tasks_done", "Tasks on time: completed", "completed_at", DONE),
            {
                "key": "tasks_on_time",
                "name": "Tasks completed on time",
                "aggregation": "ratio",
                "numerator": "tasks_done_on_time",
                "denominator": "tasks_done",
                "unit": "percent",
            }
            | LEADING,  # the work done well, not yet the result it brings
        ],
    ),
    "tasks_overdue": (
        "Tasks overdue",
        [
            _task("tasks_overdue", "Tasks overdue", "due_at", _eq("overdue", True))
            | {"direction": "lower"},
        ],
    ),
    "demos_scheduled": (
        "Demos scheduled",
        [
            _activity(
                "demos_scheduled",
                "Demos scheduled",
                _eq("category", "demo"),
                {"field": "status", "op": "in", "value": ["planned", "completed"]},
            ),
        ],
    ),
    "demos_completed": (
        "Demos completed",
        [
            _activity("demos_completed", "Demos completed", _eq("category", "demo"), DONE, HELD),
        ],
    ),
    "meetings_booked": (
        "Meetings booked",
        [
            _activity(
                "meetings_booked",
                "Meetings booked",
                _eq("category", "meeting"),
                {"field": "status", "op": "ne", "value": "cancelled"},
            ),
        ],
    ),
    "emails_sent": (
        "Emails sent",
        [
            _activity("emails_sent", "Emails sent", _eq("category", "email"), DONE),
        ],
    ),
    "deals_added": (
        "Deals added",
        [
            {
                "key": "deals_added",
                "name": "Deals added",
                "entity": "opportunity",
                "date_field": "created_at",
                "conditions": [],
            }
            | LEADING,
        ],
    ),
    "deals_won": ("Deals won", [_won("deals_won", "Deals won")]),
    "won_value": (
        "Value of deals won (in one currency)",
        [
            _won("won_value", "Value of deals won", aggregation="sum", field="value"),
        ],
    ),
    "total_sales": (
        "Total sales value",
        [
            _won("total_sales", "Total sales value", aggregation="sum", field="value"),
        ],
    ),
    "average_deal": (
        "Average deal size",
        [
            _won("average_deal", "Average deal size", aggregation="average", field="value"),
        ],
    ),
    "deals_advanced": (
        "Deals advanced to a stage",
        [
            {
                "key": "deals_advanced",
                "name": "Deals advanced",
                "entity": "stage_change",
                "conditions": [_eq("to_stage", None)],
            }
            | LEADING,
        ],
    ),
    "pipeline_stage": (
        "Opportunities in a stage",
        [
            _pipeline("in_stage", "Opportunities in a stage", _eq("stage", None)),
        ],
    ),
    "open_pipeline": (
        "Open pipeline value",
        [
            # Status as of the cycle's end is the outcome of the stage the deal was in then.
            _pipeline(
                "open_pipeline",
                "Open pipeline value",
                _eq("status", "open"),
                aggregation="sum",
                field="value",
            ),
        ],
    ),
    "advanced_value": (
        "Value of deals advanced to a stage (in one currency)",
        [
            {
                "key": "advanced_value",
                "name": "Value of deals advanced",
                "entity": "stage_change",
                "aggregation": "sum",
                "field": "value",
                "conditions": [_eq("to_stage", None)],
            }
            | LEADING,
        ],
    ),
    "activities_added": (
        "Activities added of chosen types",
        [
            # Planned, done or cancelled: every activity logged counts as added (there is no
            # date of logging: its date places it in a cycle).
            _activity("activities_added", "Activities added", TYPES),
        ],
    ),
    "activities_completed": (
        "Activities completed of chosen types",
        [_activity("activities_completed", "Activities completed", TYPES, DONE)],
    ),
}

# What each placeholder (a condition whose value is None) is filled with by ``preset_rules``.
CHOSEN = {"to_stage": "stage", "stage": "stage", "type": "types"}


def preset_needs(slug: str) -> str:
    """What a preset asks for before its rules run: "stage", "types" or nothing ("")."""
    for rule in PRESETS[slug][1]:
        for condition in rule.get("conditions", []):
            if condition.get("value", "") is None:
                return CHOSEN[condition["field"]]
    return ""


def preset_rules(slug: str, **choices: Any) -> list[Rule]:
    """A fresh copy of a preset's rules. ``stage`` picks the stage of the "advanced" presets;
    ``types`` (a list of names) the activity types of the "of chosen types" ones; ``currency``
    the currency of the value presets (only amounts in it are counted)."""
    rules = deepcopy(PRESETS[slug][1])
    for rule in rules:
        for condition in rule.get("conditions", []):
            if condition.get("value", "") is None:
                chosen = choices.get(CHOSEN[condition["field"]])
                condition["value"] = list(chosen) if isinstance(chosen, list | tuple) else chosen
        if "currency" in choices and rule.get("field") == "value":
            rule["currency"] = choices["currency"]
    return rules
