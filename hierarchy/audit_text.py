"""The audit log in words: each entry as a sentence with names, and its changes as lines.

Pure, no Django: an entry's action, actor, target and before/after snapshots in, sentences out.
Every app writes its own snapshots (``member_snapshot``, ``goal_snapshot``, the rulesets' and
settings' snapshots); this module knows their shapes by their keys, and anything it does not
know (a new action, a new field) still reads as a sentence, never as a Python dict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

# What each action did, as a sentence: {actor} and {target} are filled in.
SENTENCES = {
    "member.add": "{actor} added {target} to the organization",
    "member.edit": "{actor} edited the profile of {target}",
    "member.move": "{actor} moved {target} to another manager",
    "member.deactivate": "{actor} deactivated {target}",
    "member.reactivate": "{actor} reactivated {target}",
    "members.import": "{actor} imported members from a CSV file",
    "sales_role.create": "{actor} added the sales role {target}",
    "sales_role.edit": "{actor} changed the sales role {target}",
    "goal.role_holders": "{actor} gave the targets of {target} to the sales role's holders at once",
    "api_token.create": "{actor} created the API token {target}",
    "api_token.revoke": "{actor} revoked the API token {target}",
    "ruleset.create": "{actor} created the ruleset {target}",
    "ruleset.edit": "{actor} changed the ruleset {target}",
    "ruleset.archive": "{actor} archived the ruleset {target}",
    "ruleset.restore": "{actor} restored the ruleset {target}",
    "ruleset.delete": "{actor} deleted the ruleset {target}",
    "goal.create": "{actor} created the goal {target}",
    "goal.edit": "{actor} changed the goal {target}",
    "goal.archive": "{actor} archived the goal {target}",
    "activity_type.create": "{actor} added the activity type {target}",
    "activity_type.update": "{actor} changed the activity type {target}",
    "activity_type.delete": "{actor} deleted the activity type {target}",
    "stages.set": "{actor} changed the pipeline stages",
    "custom_field.create": "{actor} added the custom field {target}",
    "custom_field.update": "{actor} changed the custom field {target}",
    "custom_field.delete": "{actor} deleted the custom field {target}",
}
# The verb of an action this module has no sentence for, by the action's last word.
VERBS = {
    "create": "created",
    "add": "added",
    "edit": "changed",
    "update": "changed",
    "set": "changed",
    "delete": "deleted",
    "archive": "archived",
    "restore": "restored",
    "revoke": "revoked",
    "import": "imported",
}
LABELS = {
    "is_active": "active",
    "reports_to": "reports to",
    "reports_handed_to": "reports handed to",
    "key_hint": "key",
    "revoked_at": "revoked",
    "holders": "who holds it",
    "backfilled": "counted from before it was created",
    "distribution": "distribution",
    "unchanged": "unchanged members",
    "sales_role": "sales role",
    "sales_roles": "sales roles",
    "sales_role_at_once": "sales role counts at once",
}
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_ACTOR_EMAIL = re.compile(r"\s*<[^<>]*>$")
_WORD = re.compile(r"^[a-z]+(?:_[a-z]+)+$")  # a stored choice such as follow_up


@dataclass
class Described:
    """One entry in words: what happened, and one line per change."""

    sentence: str
    changes: list[str] = field(default_factory=list)


def actor_name(label: str) -> str:
    """The name part of an actor label such as "Ann Lee <ann@acme.example>"."""
    return _ACTOR_EMAIL.sub("", label) or "someone"


def emails_in(value: Any) -> set[str]:
    """Every email in a snapshot, lower-cased, to look their members' names up at once."""
    if isinstance(value, str):
        return {value.lower()} if _EMAIL.match(value) else set()
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list):
        return set().union(*(emails_in(item) for item in value))
    return set()


def humanize(key: str) -> str:
    """A snapshot's key (or a rule's key) in words: ``leads_converted`` -> "leads converted"."""
    return LABELS.get(key) or key.replace("_", " ").replace(".", " ").strip()


def number_text(text: str) -> str | None:
    """A number with thousands separators ("20,000", "1,250.5"), or None if it is not one."""
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number.normalize():,f}"


def value_text(value: Any, names: Mapping[str, str]) -> str:
    """A snapshot value in words: names for emails, separators in numbers, yes and no."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return number_text(str(value)) or str(value)
    if isinstance(value, str):
        if _EMAIL.match(value):
            return names.get(value.lower(), value)
        if (number := number_text(value)) is not None:
            return number
        return value.replace("_", " ") if _WORD.match(value) else value
    if isinstance(value, list):
        return ", ".join(value_text(item, names) for item in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{humanize(str(k))} {value_text(v, names)}" for k, v in value.items())
    return str(value)


def _target_lines(goal: str, before: Mapping, after: Mapping, names: Mapping[str, str]) -> list:
    """A goal's targets, rule by rule: "the target of Weekly pipeline: leads converted 20 → 25"."""
    lines = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        amount = {
            side: value_text(t.get("amount") if isinstance(t, Mapping) else t, names)
            for side, t in (("old", old), ("new", new))
        }
        rule = humanize(str(key))
        if old is None:
            lines.append(f"set the target of {goal}: {rule} {amount['new']}")
        elif new is None:
            lines.append(f"removed the target of {goal}: {rule} (was {amount['old']})")
        elif amount["old"] != amount["new"]:
            lines.append(f"changed the target of {goal}: {rule} {amount['old']} → {amount['new']}")
        else:
            lines.append(f"changed how the target of {goal} for {rule} is phased")
    return lines


def _rule_lines(before: list, after: list) -> list[str]:
    """A ruleset's rules, by key, named by their names."""

    def by_key(rules: list) -> dict[str, Mapping]:
        return {str(r.get("key")): r for r in rules if isinstance(r, Mapping)}

    old, new = by_key(before), by_key(after)
    lines = []
    for key in dict.fromkeys([*old, *new]):
        rule = new.get(key) or old[key]
        name = str(rule.get("name") or humanize(key))
        if key not in old:
            lines.append(f"added the rule {name}")
        elif key not in new:
            lines.append(f"removed the rule {name}")
        elif old[key] != new[key]:
            parts = [
                humanize(p)
                for p in dict.fromkeys([*old[key], *new[key]])
                if old[key].get(p) != new[key].get(p)
            ]
            lines.append(f"changed the rule {name} ({', '.join(parts)})")
    return lines


def _distribution_lines(before: list, after: list, names: Mapping[str, str]) -> list[str]:
    """A goal's splits: whose team, which rule, which method (shares are by member id, so
    they are summed up in words, not listed)."""

    def by_place(splits: list) -> dict[tuple[str, str], Mapping]:
        return {
            (str(s.get("rule")), str(s.get("parent"))): s for s in splits if isinstance(s, Mapping)
        }

    old, new = by_place(before), by_place(after)
    lines = []
    for place in dict.fromkeys([*old, *new]):
        if old.get(place) == new.get(place):
            continue
        rule, parent = humanize(place[0]), value_text(place[1], names)
        split = new.get(place) or old[place]
        method = humanize(str(split.get("method") or ""))
        verb = "removed" if place not in new else "changed"
        lines.append(f"{verb} how {rule} splits across the team of {parent} ({method})")
    return lines


def change_lines(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    names: Mapping[str, str],
    target: str,
) -> list[str]:
    """One line per changed field, in words."""
    before, after = before or {}, after or {}
    lines: list[str] = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key == "targets" and isinstance(old or {}, Mapping) and isinstance(new or {}, Mapping):
            lines += _target_lines(target, old or {}, new or {}, names)
        elif key == "rules" and isinstance(old or [], list) and isinstance(new or [], list):
            lines += _rule_lines(old or [], new or [])
        elif key == "distribution" and isinstance(old or [], list) and isinstance(new or [], list):
            lines += _distribution_lines(old or [], new or [], names)
        elif not before:
            lines.append(f"{humanize(key)}: {value_text(new, names)}")
        else:
            lines.append(f"{humanize(key)}: {value_text(old, names)} → {value_text(new, names)}")
    return lines


def describe(
    *,
    action: str,
    actor: str,
    target: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
) -> Described:
    """An audit entry in words. ``names`` maps (lower-case) emails to members' names."""
    names = names or {}
    template = SENTENCES.get(action)
    if template is None:
        thing, _, verb = action.rpartition(".")
        thing = humanize(thing) if thing else "record"
        template = f"{{actor}} {VERBS.get(verb, 'changed')} the {thing} {{target}}"
    sentence = template.format(actor=actor, target=target).strip()
    lines = change_lines(before, after, names, target)
    old, new = before or {}, after or {}
    changed = [key for key in dict.fromkeys([*old, *new]) if old.get(key) != new.get(key)]
    if old and len(lines) == 1 and changed in (["targets"], ["rules"], ["distribution"]):
        # One edit of one target (rule, split) says it all: "Ann changed the target of ...".
        return Described(sentence=f"{actor} {lines[0]}.")
    return Described(sentence=sentence + ".", changes=lines)
