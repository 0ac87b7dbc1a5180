from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.commands import tenant_by_slug
from crm.services import Declared, SettingsInvalid, settings_declare

# What each kind of entry holds, with the value an entry may leave out (None: required).
SHAPES: dict[str, dict[str, Any]] = {
    "stage": {"name": None, "outcome": "open"},
    "activity_type": {"name": None, "category": "other"},
    "custom_field": {"entity": None, "name": None, "type": "text", "choices": []},
}
JSON_KEYS = {"stages": "stage", "activity_types": "activity_type", "custom_fields": "custom_field"}
CSV_COLUMNS = ["kind", "name", "outcome", "category", "entity", "type", "choices"]


class Command(BaseCommand):
    help = (
        "Declare a tenant's pipeline stages, activity types and custom fields from a small JSON "
        "or CSV file (format in docs/crm-import.md). All or nothing; running it again changes "
        "nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("file", help="A .json or .csv file (UTF-8).")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(options["tenant"])
        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text.") from None
        reader = _from_csv if path.suffix.lower() == ".csv" else _from_json
        entries, problems = reader(text)
        # The valid entries are checked too, to report every problem; any rolls all back.
        with transaction.atomic():
            try:
                result = settings_declare(
                    tenant=tenant,
                    stages=entries["stage"],
                    activity_types=entries["activity_type"],
                    custom_fields=entries["custom_field"],
                    actor="command line",
                )
            except SettingsInvalid as exc:
                problems += exc.problems
            if problems:
                lines = "\n".join(f"  {problem}" for problem in _in_file_order(problems))
                raise CommandError(
                    f"Nothing declared: problems in {path}: {len(problems)} problem(s)\n{lines}"
                )
        if result.pipeline:
            changed = "set" if result.pipeline_changed else "unchanged"
            self.stdout.write(f"Pipeline ({changed}): {' → '.join(result.pipeline)}")
        for label, counts in (
            ("Activity types", result.activity_types),
            ("Custom fields", result.custom_fields),
        ):
            if counts:
                self.stdout.write(
                    f"{label}: {counts['created']} created, {counts['updated']} updated, "
                    f"{counts['unchanged']} unchanged"
                )
        self.stdout.write(self.style.SUCCESS(f"Declared the settings of {tenant.slug}."))


Entries = dict[str, list[Declared]]


def _entry(kind: str, where: str, raw: object, problems: list[str]) -> Declared | None:
    """An entry of ``kind`` with every value it holds, or None after adding its problems."""
    shape = SHAPES[kind]
    if kind == "stage" and isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected an object with {', '.join(shape)}")
        return None
    found = len(problems)
    if unknown := sorted(set(raw) - set(shape)):
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (use {', '.join(shape)})")
    values = {}
    for key, default in shape.items():
        value = raw.get(key)
        if value is None or value == "":
            if default is None:
                problems.append(f"{where}: {key} is required")
            value = default
        elif key == "choices":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"{where}: choices must be a list of texts")
        elif not isinstance(value, str):
            problems.append(f"{where}: {key} must be text")
        values[key] = value
    return Declared(where, values) if len(problems) == found else None


def _from_json(text: str) -> tuple[Entries, list[str]]:
    """``{"stages": [names...], "activity_types": [{...}], "custom_fields": [{...}]}``; each
    key may be left out. Entries are numbered from 1 within their list."""
    entries: Entries = {kind: [] for kind in SHAPES}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return entries, [f"line {exc.lineno}: not JSON: {exc.msg}"]
    if not isinstance(data, dict):
        return entries, [f"expected an object with the keys {', '.join(JSON_KEYS)}"]
    problems = []
    if unknown := sorted(set(data) - set(JSON_KEYS)):
        problems.append(f"unknown key(s) {', '.join(unknown)} (use {', '.join(JSON_KEYS)})")
    for key, kind in JSON_KEYS.items():
        items = data.get(key, [])
        if not isinstance(items, list):
            problems.append(f"{key}: expected a list")
            continue
        for number, raw in enumerate(items, start=1):
            if entry := _entry(kind, f"{key} entry {number}", raw, problems):
                entries[kind].append(entry)
    return entries, problems


def _from_csv(text: str) -> tuple[Entries, list[str]]:
    """A header ``kind,name,category,entity,type,choices`` (columns in any order, unused ones
    may be left out), then one entry a line; a choice field's values are separated by ``|``."""
    entries: Entries = {kind: [] for kind in SHAPES}
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if "kind" not in header or "name" not in header:
        return entries, ["line 1: the header needs the columns kind and name"]
    if unknown := [name for name in header if name not in CSV_COLUMNS]:
        return entries, [f"line 1: unknown column(s) {', '.join(unknown)}"]
    reader.fieldnames = header
    problems: list[str] = []
    for row in reader:
        where = f"line {reader.line_num}"
        if None in row:  # DictReader's key for values beyond the header
            problems.append(f"{where}: more values than the {len(header)} columns of the header")
            continue
        kind = (row.pop("kind") or "").strip().lower()
        if kind not in SHAPES:
            problems.append(f"{where}: kind {kind!r} is not one of {', '.join(SHAPES)}")
            continue
        raw = {k: v.strip() for k, v in row.items() if k in SHAPES[kind] and v and v.strip()}
        if extra := sorted(k for k, v in row.items() if k not in SHAPES[kind] and v and v.strip()):
            problems.append(f"{where}: a {kind} has no {', '.join(extra)}")
            continue
        if "choices" in raw:
            raw["choices"] = [choice.strip() for choice in raw["choices"].split("|")]
        if entry := _entry(kind, where, raw, problems):
            entries[kind].append(entry)
    return entries, problems


def _in_file_order(problems: list[str]) -> list[str]:
    """Problems of a CSV file by line (reading and declaring found them apart)."""

    def line(problem: str) -> int:
        head = problem.split(":", 1)[0]
        return int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else 0

    return sorted(problems, key=line)
