from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import connections
from django.db import connection, transaction
from django_scopes import scope

from crm import ingest
from crm.management.commands.import_entities import Command
from crm.models import Activity, Lead, Opportunity, StageChange
from tests.conftest import Crm

pytestmark = pytest.mark.django_db

LEADS = "external_id,owner_email,name,status,created_at,budget,tier\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "records.csv"
    path.write_text(text, encoding="utf-8")
    return path


def run(crm: Crm, path: Path, entity: str = "lead", *options: str) -> str:
    out = StringIO()
    call_command(
        "import_entities",
        f"--tenant={crm.tenant.slug}",
        f"--entity={entity}",
        str(path),
        *options,
        stdout=out,
    )
    return out.getvalue()


def errors(crm: Crm, path: Path, entity: str = "lead", *options: str) -> list[str]:
    with pytest.raises(CommandError) as exc:
        run(crm, path, entity, *options)
    return str(exc.value).splitlines()


def lead_ids(crm: Crm) -> list[str]:
    with scope(tenant=crm.tenant):
        return sorted(Lead.objects.values_list("external_id", flat=True))


def test_it_imports_records_with_custom_field_columns(crm: Crm, tmp_path: Path) -> None:
    rep = crm.rep_email
    path = write(
        tmp_path,
        LEADS
        + f"L-1,{rep},Ada,new,2025-03-01,1500,gold\n"
        + f'L-2,{rep.upper()},"Lovelace, Ada",converted,2025-03-02T09:00,,\n',
    )
    output = run(crm, path)
    assert "Importing: [" in output and "] 2/2 rows" in output
    assert "Imported lead records into" in output and "2 created, 0 updated, 0 unchanged" in output
    with scope(tenant=crm.tenant):
        leads = {lead.external_id: lead for lead in Lead.objects.all()}
    assert leads["L-1"].attributes == {"budget": "1500.00", "tier": "Gold"}
    assert leads["L-2"].name == "Lovelace, Ada"
    assert leads["L-2"].attributes == {}
    assert "0 created, 0 updated, 2 unchanged" in run(crm, path)


def test_it_reports_every_problem_by_line_and_writes_nothing(crm: Crm, tmp_path: Path) -> None:
    rep = crm.rep_email
    path = write(
        tmp_path,
        LEADS
        + f"L-1,{rep},Ada,new,2025-03-01,,\n"
        + "L-2,nobody@example.com,Bob,new,,,\n"
        + f'L-3,{rep},"Two\nlines",lost,,,\n'  # a record over lines 4 and 5
        + f"L-4,{rep},Dee,new,yesterday,lots,\n"
        + f"L-1,{rep},Ada again,new,,,\n"
        + f"L-5,{rep},Eve,new,,,,extra\n",
    )
    assert errors(crm, path) == [
        f"Nothing imported: problems in {path}: 6 problem(s)",
        "  line 3: owner_email 'nobody@example.com' is not the email of a member of this "
        "organization",
        "  line 5: status 'lost' is not one of new, contacted, qualified, converted, disqualified",
        "  line 6: created_at 'yesterday' is not an ISO 8601 date or timestamp "
        "(e.g. 2025-03-31T14:30:00+02:00, 2025-03-31 14:30 or 2025-03-31)",
        "  line 6: budget 'lots' is not a number (use digits and a point: 1250.50)",
        "  line 7: external_id 'L-1' is repeated (first on line 2)",
        "  line 8: more values than the 7 columns of the header",
    ]
    assert lead_ids(crm) == []


def test_it_checks_the_whole_file_before_writing_any_batch(
    crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "BATCH_SIZE", 2)
    rows = [f"L-{n},{crm.rep_email},Lead {n},new,,,\n" for n in range(1, 6)]
    rows.append(f"L-2,{crm.rep_email},Lead 2 again,new,,,\n")
    path = write(tmp_path, LEADS + "".join(rows))
    assert errors(crm, path)[1:] == ["  line 7: external_id 'L-2' is repeated (first on line 3)"]
    assert lead_ids(crm) == []
    path = write(tmp_path, LEADS + "".join(rows[:5]))
    assert "5 created" in run(crm, path)
    assert lead_ids(crm) == ["L-1", "L-2", "L-3", "L-4", "L-5"]


def test_it_writes_the_valid_rows_with_partial(crm: Crm, tmp_path: Path) -> None:
    rep = crm.rep_email
    path = write(
        tmp_path,
        LEADS
        + f"L-1,{rep},Ada,new,,,\n"
        + f"L-2,{rep},Bob,new,,,diamond\n"
        + f"L-3,{rep},Cy,new,,,\n"
        + f"L-4,{rep},Dee,new,,,,extra\n",
    )
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command(
            "import_entities",
            f"--tenant={crm.tenant.slug}",
            "--entity=lead",
            str(path),
            "--partial",
            stdout=out,
        )
    assert "2 created, 0 updated, 0 unchanged" in out.getvalue()
    assert str(exc.value).splitlines() == [
        f"Rows of {path} not imported: 2 problem(s)",
        "  line 3: tier 'diamond' is not one of Gold, Silver",
        "  line 5: more values than the 7 columns of the header",
    ]
    assert lead_ids(crm) == ["L-1", "L-3"]


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (
            "external_id,name,status\n",
            "line 1: missing column(s) owner_email",
        ),
        (
            "external_id,owner_email,name,shoe_size,Status\n",
            "line 1: unknown column(s) shoe_size (custom fields: budget, employees, notes, "
            "renewal, tier, vip)",
        ),
        (
            "external_id,owner_email,name,name\n",
            "line 1: repeated column(s) name",
        ),
    ],
)
def test_it_stops_at_a_bad_header(crm: Crm, tmp_path: Path, header: str, problem: str) -> None:
    path = write(tmp_path, header + f"L-1,{crm.rep_email},Ada,new,x\n")
    for options in ((), ("--partial",)):
        assert errors(crm, path, "lead", *options)[1:] == [f"  {problem}"]
    assert lead_ids(crm) == []


def test_it_imports_activities(crm: Crm, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "external_id,owner_email,type,occurred_at,duration_seconds,campaign\n"
        f"A-1,{crm.rep_email},call,2025-03-30,300,Spring\n",
    )
    run(crm, path, "activity")
    with scope(tenant=crm.tenant):
        activity = Activity.objects.get()
    assert (activity.duration_seconds, activity.attributes) == (300, {"campaign": "Spring"})
    assert activity.occurred_at.isoformat() == "2025-03-29T23:00:00+00:00"


def test_it_skips_empty_lines_and_reads_missing_trailing_values_as_empty(
    crm: Crm, tmp_path: Path
) -> None:
    path = write(tmp_path, LEADS + f"\nL-1,{crm.rep_email},Ada\n\nL-2,{crm.rep_email},Bob,new,,7\n")
    assert "] 2/2 rows" in run(crm, path)
    with scope(tenant=crm.tenant):
        leads = {lead.external_id: lead for lead in Lead.objects.all()}
    assert (leads["L-1"].status, leads["L-1"].attributes) == ("new", {})
    assert leads["L-2"].attributes == {"budget": "7.00"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's deferred checks")
def test_it_leaves_foreign_keys_checked_at_commit_after_an_import(crm: Crm, tmp_path: Path) -> None:
    # The import checks them statement by statement; the caller's transaction gets its
    # deferred checks back: a row may refer to one that is written later.
    run(crm, write(tmp_path, LEADS + f"L-1,{crm.rep_email},Ada,new,,,\n"))
    with scope(tenant=crm.tenant), connection.cursor() as cursor, transaction.atomic():
        cursor.execute(
            "INSERT INTO crm_lead (tenant_id, external_id, owner_id, name, email, phone, source, "
            "status, created_at, attributes) VALUES (%s, 'L-2', -1, 'Bob', '', '', '', 'new', "
            "now(), '{}')",
            [crm.tenant.pk],
        )
        cursor.execute("DELETE FROM crm_lead WHERE owner_id = -1")
    assert lead_ids(crm) == ["L-1"]


def test_it_imports_opportunities_in_batches_and_records_their_stage_changes(
    crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "BATCH_SIZE", 2)
    header = "external_id,owner_email,name,stage,status,created_at,stage_changed_at\n"
    rows = [f"O-{n},{crm.rep_email},Deal {n},Prospect,open,2025-03-0{n},\n" for n in (1, 2, 3)]
    path = write(tmp_path, header + "".join(rows))
    assert "3 created, 0 updated, 0 unchanged" in run(crm, path, "opportunity")
    rows[1] = f"O-2,{crm.rep_email},Deal 2,proposal,won,2025-03-02,2025-03-20T12:00\n"
    path = write(tmp_path, header + "".join(rows))
    assert "0 created, 1 updated, 2 unchanged" in run(crm, path, "opportunity")
    assert "0 created, 0 updated, 3 unchanged" in run(crm, path, "opportunity")
    with scope(tenant=crm.tenant):
        moves = list(
            StageChange.objects.filter(opportunity__external_id="O-2").values_list(
                "from_stage__name", "to_stage__name", "changed_at"
            )
        )
        won = Opportunity.objects.get(external_id="O-2")
    assert moves == [
        (None, "Prospect", datetime(2025, 3, 1, 23, tzinfo=UTC)),
        ("Prospect", "Proposal", datetime(2025, 3, 20, 11, tzinfo=UTC)),
    ]
    assert (won.status, won.closed_at is not None) == ("won", True)


def test_it_fails_with_a_clear_message_for_a_missing_file_or_tenant(
    crm: Crm, tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="Cannot read .*nope.csv: No such file"):
        run(crm, tmp_path / "nope.csv")
    path = write(tmp_path, LEADS)
    with pytest.raises(CommandError, match="No tenant with the slug 'nope'"):
        call_command("import_entities", "--tenant=nope", "--entity=lead", str(path))


def test_it_prints_problems_on_stderr_and_exits_non_zero(
    crm: Crm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # run_from_argv closes connections when done; the test's connection must stay open.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    path = write(tmp_path, LEADS + "L-1,nobody@example.com,Ada,new,,,\n")
    stdout, stderr = StringIO(), StringIO()
    command = Command(stdout=stdout, stderr=stderr)
    argv = ["manage.py", "import_entities", f"--tenant={crm.tenant.slug}", "--entity=lead"]
    with pytest.raises(SystemExit) as exc:
        command.run_from_argv([*argv, str(path)])
    assert exc.value.code == 1
    assert "line 2: owner_email 'nobody@example.com' is not the email" in stderr.getvalue()
