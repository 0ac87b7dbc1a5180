"""The README's import walk-through, run as written: its commands, its files (docs/walkthrough/)
and its API calls, from a new tenant to computed achievements."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)

WALKTHROUGH = Path(settings.BASE_DIR) / "docs" / "walkthrough"
RULES = ("dialled_calls", "connected_calls", "call_duration", "connect_rate")
README = (Path(settings.BASE_DIR) / "README.md").read_text()


def run(*args: str, shown: str = "") -> str:
    """A step of the walk-through; it must be written in the README as it is run here
    (or as ``shown``, when the README names a value the shell fills in)."""
    line = shown or "manage.py " + " ".join(args).replace(str(WALKTHROUGH), "docs/walkthrough")
    assert line in README, f"the README does not show: {line}"
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_goes_from_create_tenant_to_computed_achievements():
    run(
        "create_tenant",
        "Acme",
        "--slug",
        "acme",
        "--timezone",
        "Europe/Berlin",
        "--admin-email",
        "admin@acme.example",
        "--admin-password",
        "change-me-2026",
    )
    run("declare_settings", "--tenant", "acme", str(WALKTHROUGH / "settings.json"))
    run("import_members", "--tenant", "acme", str(WALKTHROUGH / "members.csv"))
    run(
        "import_entities",
        "--tenant",
        "acme",
        "--entity",
        "activity",
        str(WALKTHROUGH / "activities.csv"),
    )
    token = run("create_api_token", "--tenant", "acme", "--name", "setup").strip()
    api = Client(headers={"Authorization": f"Bearer {token}"})
    assert "RULESET=$(api rulesets < docs/walkthrough/ruleset.json | id)" in README
    assert r'\"ruleset\": $RULESET/" docs/walkthrough/goal.json | api goals | id)' in README
    ruleset = api.post(
        "/api/v1/rulesets",
        json.loads((WALKTHROUGH / "ruleset.json").read_text()),
        content_type="application/json",
    )
    assert ruleset.status_code == 201, ruleset.content
    goal = api.post(
        "/api/v1/goals",
        json.loads((WALKTHROUGH / "goal.json").read_text()) | {"ruleset": ruleset.json()["id"]},
        content_type="application/json",
    )
    assert goal.status_code == 201, goal.content
    goal_id = str(goal.json()["id"])
    run("recompute_achievements", "--tenant", "acme")
    exported = run(
        "export_achievements",
        "--tenant",
        "acme",
        "--goal",
        goal_id,
        shown="manage.py export_achievements --tenant acme --goal $GOAL",
    )
    rows = {(row["member"], row["rule"]): row for row in csv.DictReader(StringIO(exported))}
    expected = {
        # Ana: three completed calls, two connected, 12:30 + 0:20 + 5:00.
        "ana@acme.example": ("3", "2", "1070", "66.67", None),
        # Ben: one completed call (C-5 is only planned), 1:02:00.
        "ben@acme.example": ("1", "1", "3720", "100", None),
        # Mia's row is her team's: 20 calls, 8 connected, 2 hours and 40% (0-100) to reach.
        "mia@acme.example": ("4", "3", "4790", "75", ("20", "8", "7200", "40")),
    }
    for email, (dialled, connected, seconds, rate, targets) in expected.items():
        values = [rows[email, rule]["team_value"] for rule in RULES]
        assert [round(Decimal(v), 2) for v in values] == [
            round(Decimal(v), 2) for v in (dialled, connected, seconds, rate)
        ]
        if targets:
            assert [Decimal(rows[email, rule]["team_target"]) for rule in RULES] == [
                Decimal(t) for t in targets
            ]
