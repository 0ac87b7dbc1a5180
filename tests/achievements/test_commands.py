"""Operators' commands: recompute, close, status, export."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scopes_disabled

from crm.ingest import records_upsert
from goals.models import Goal
from hierarchy.models import Member
from tests.conftest import Org

# Last month ended days ago: its cycle may be closed whenever the suite runs.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mid_month")]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def goal(org: Org) -> Goal:
    start = org.today.replace(day=1) - timedelta(days=1)
    start = start.replace(day=1)
    goal = org.goal(actor=org.admin, start=start, backfill=True)
    records_upsert(
        tenant=org.admin.tenant,
        entity="activity",
        records=[
            {"external_id": f"c{n}", "owner_email": org.rep.email, "type": "Call",
             "occurred_at": f"{start}T10:{n:02}", "status": "completed"}
            for n in range(3)
        ],
    )  # fmt: skip
    return goal


def test_recompute_then_status_then_export(org: Org, goal: Goal) -> None:
    status = run("goals_status", "--tenant", org.admin.tenant.slug)
    assert "never" in status and "recompute" in status
    out = run("recompute_achievements", "--tenant", org.admin.tenant.slug, "--goal", str(goal.pk))
    assert "Recomputed 1 goals, 2 cycles" in out
    status = run("goals_status")
    assert "s ago" in status and "cycles to close" in status
    exported = run("export_achievements", "--tenant", org.admin.tenant.slug, "--goal", str(goal.pk))
    rows = list(csv.DictReader(io.StringIO(exported)))
    mine = [r for r in rows if r["member"] == org.rep.email and r["cycle_start"] == str(goal.start)]
    assert mine[0]["value"] == "3.0000" and mine[0]["rule"] == "dialled_calls"
    assert mine[0]["target"] == "50.00" and mine[0]["status"] in ("behind", "missed")
    as_json = json.loads(run("export_achievements", "--tenant", org.admin.tenant.slug,
                             "--goal", str(goal.pk), "--format", "json"))  # fmt: skip
    # two months, east's team of three, five rules (four of them tracked, without a target)
    assert len(as_json) == len(rows) == 2 * 3 * 3  # a ratio's parts are on its rows
    assert {r["rule"] for r in rows if r["target"]} == {"dialled_calls"}


def test_close_cycles_freezes_last_month(org: Org, goal: Goal) -> None:
    assert "Closed 1 cycles of 1 goals." in run("close_cycles", "--tenant", org.admin.tenant.slug)
    assert "Closed 0 cycles of 0 goals." in run("close_cycles")
    rows = json.loads(run("export_achievements", "--tenant", org.admin.tenant.slug,
                          "--goal", str(goal.pk), "--format", "json"))  # fmt: skip
    last_month = [r for r in rows if r["cycle_start"] == str(goal.start)]
    assert all(r["final"] for r in last_month)
    assert {r["status"] for r in last_month} <= {"achieved", "missed", "no_target"}


def test_a_goal_of_another_tenant_is_not_found(org: Org, goal: Goal) -> None:
    other = org.personas.outsider.tenant.slug
    with pytest.raises(CommandError, match=f"No goal {goal.pk} of tenant '{other}'"):
        run("export_achievements", "--tenant", other, "--goal", str(goal.pk))
    with pytest.raises(CommandError, match="No tenant"):
        run("recompute_achievements", "--tenant", "nope")


def test_the_export_neutralizes_cells_a_spreadsheet_would_run(org: Org, goal: Goal) -> None:
    with scopes_disabled():
        Member._tree_manager.filter(pk=org.rep.pk).update(name="=cmd|'/c calc'!A0")
        goal.ruleset.rules.update(name="@SUM(1+1)")
    run("recompute_achievements", "--tenant", org.admin.tenant.slug, "--goal", str(goal.pk))
    exported = run("export_achievements", "--tenant", org.admin.tenant.slug, "--goal", str(goal.pk))
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {r["member_name"] for r in rows if r["member"] == org.rep.email} == {
        "'=cmd|'/c calc'!A0"
    }
    assert {r["rule_name"] for r in rows} == {"'@SUM(1+1)"}


def test_export_writes_the_stored_quotas(org: Org, goal: Goal) -> None:
    exported = run("export_achievements", "--tenant", org.admin.tenant.slug, "--goal",
                   str(goal.pk), "--quotas")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert list(rows[0]) == ["member", "member_name", "rule", "cycle", "cycle_start",
                             "cycle_end", "own", "team", "source", "set_by", "set_at"]  # fmt: skip
    # Both started months, stored when the goal was saved, east's team of three, one target.
    assert len(rows) == 2 * 3
    mine = [r for r in rows if r["member"] == org.rep.email]
    assert [(r["cycle"], r["own"], r["source"]) for r in mine] == [
        ("0", "50.00", "distribution"),
        ("1", "50.00", "distribution"),
    ]
    assert mine[0]["set_by"].startswith(org.admin.name)
    as_json = json.loads(run("export_achievements", "--tenant", org.admin.tenant.slug,
                             "--goal", str(goal.pk), "--quotas", "--format", "json"))  # fmt: skip
    assert [r["team"] for r in as_json if r["member"] == org.east.email] == ["100.00", "100.00"]
