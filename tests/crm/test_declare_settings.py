from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scope

from crm.ingest import records_upsert
from crm.models import ActivityType, CustomField, PipelineStage
from hierarchy.models import AuditEntry
from tests.conftest import Crm

pytestmark = pytest.mark.django_db

DECLARATION = {
    "stages": ["Prospect", "Qualified", "Proposal", "Won", "Lost"],
    "activity_types": [
        {"name": "Call", "category": "call"},
        {"name": "Site visit", "category": "meeting"},
    ],
    "custom_fields": [
        {"entity": "opportunity", "name": "segment", "type": "choice", "choices": ["SMB", "ENT"]},
        {"entity": "lead", "name": "notes"},
    ],
}

CSV = """kind,name,category,entity,type,choices,outcome
stage,Prospect,,,,,
stage,Qualified,,,,,
stage,Won,,,,,won
activity_type,Call,call,,,,
activity_type,Site visit,meeting,,,,
custom_field,segment,,opportunity,choice,SMB|ENT,
"""


def declare(crm: Crm, tmp_path: Path, content: str, suffix: str = ".json") -> str:
    path = tmp_path / f"settings{suffix}"
    path.write_text(content, encoding="utf-8")
    out = StringIO()
    call_command("declare_settings", "--tenant", crm.tenant.slug, str(path), stdout=out)
    return out.getvalue()


def settings_of(crm: Crm) -> tuple[list[str], dict[str, str], dict[tuple[str, str], list[str]]]:
    with scope(tenant=crm.tenant):
        return (
            list(PipelineStage.objects.order_by("position").values_list("name", flat=True)),
            dict(ActivityType.objects.values_list("name", "category")),
            {(f.entity, f.name): f.choices for f in CustomField.objects.all()},
        )


def test_it_declares_settings_from_json_and_changes_nothing_on_a_rerun(crm: Crm, tmp_path):
    out = declare(crm, tmp_path, json.dumps(DECLARATION))
    assert "Pipeline (set): Prospect → Qualified → Proposal → Won → Lost" in out
    assert "Activity types: 1 created, 0 updated, 1 unchanged" in out
    assert "Custom fields: 1 created, 0 updated, 1 unchanged" in out
    stages, types, fields = settings_of(crm)
    assert stages == ["Prospect", "Qualified", "Proposal", "Won", "Lost"]
    assert types["Site visit"] == "meeting" and types["Demo"] == "demo"  # nothing deleted
    assert fields[("opportunity", "segment")] == ["SMB", "ENT"]
    with scope(tenant=crm.tenant):
        audited = AuditEntry.objects.count()
    again = declare(crm, tmp_path, json.dumps(DECLARATION))
    assert "Pipeline (unchanged)" in again
    assert "Activity types: 0 created, 0 updated, 2 unchanged" in again
    assert settings_of(crm) == (stages, types, fields)
    with scope(tenant=crm.tenant):
        assert AuditEntry.objects.count() == audited
        assert AuditEntry.objects.filter(actor_label="command line").exists()


def test_it_declares_settings_from_csv(crm: Crm, tmp_path):
    out = declare(crm, tmp_path, CSV, suffix=".csv")
    assert "Pipeline (set): Prospect → Qualified → Won" in out
    stages, types, fields = settings_of(crm)
    assert stages == ["Prospect", "Qualified", "Won"]
    assert types["Site visit"] == "meeting"
    assert fields[("opportunity", "segment")] == ["SMB", "ENT"]
    assert outcomes(crm) == {"Prospect": "open", "Qualified": "open", "Won": "won"}


def test_it_marks_declared_stages_won_or_lost_and_a_new_mark_is_a_change(crm: Crm, tmp_path):
    marked = ["Prospect", {"name": "Won", "outcome": "won"}, {"name": "Lost", "outcome": "lost"}]
    assert "Pipeline (set)" in declare(crm, tmp_path, json.dumps({"stages": marked}))
    assert outcomes(crm) == {"Prospect": "open", "Won": "won", "Lost": "lost"}
    assert "Pipeline (unchanged)" in declare(crm, tmp_path, json.dumps({"stages": marked}))
    unmarked = ["Prospect", "Won", "Lost"]  # the file is the whole pipeline: marks go too
    assert "Pipeline (set)" in declare(crm, tmp_path, json.dumps({"stages": unmarked}))
    assert set(outcomes(crm).values()) == {"open"}
    bad = json.dumps({"stages": [{"name": "Won", "outcome": "maybe"}]})
    with pytest.raises(CommandError, match="not a valid choice"):
        declare(crm, tmp_path, bad)


def outcomes(crm: Crm) -> dict[str, str]:
    with scope(tenant=crm.tenant):
        return dict(PipelineStage.objects.values_list("name", "outcome"))


def test_it_updates_what_differs(crm: Crm, tmp_path):
    changed = {
        "activity_types": [{"name": "demo", "category": "meeting"}],
        "custom_fields": [{"entity": "lead", "name": "tier", "type": "choice", "choices": ["A"]}],
    }
    out = declare(crm, tmp_path, json.dumps(changed))
    assert "Pipeline" not in out
    assert "Activity types: 0 created, 1 updated, 0 unchanged" in out
    stages, types, fields = settings_of(crm)
    assert stages == ["Prospect", "Proposal", "Negotiation"]  # no stages declared: kept
    assert types["demo"] == "meeting"
    assert fields[("lead", "tier")] == ["A"]


@pytest.mark.parametrize(
    ("content", "suffix", "problems"),
    [
        (
            {
                "stages": ["Won", "won"],
                "activity_types": [{"name": "Fax", "category": "fax"}, {"name": 3}],
                "custom_fields": [{"entity": "deal", "name": "Bad name", "colour": "red"}],
                "teams": [],
            },
            ".json",
            [
                "unknown key(s) teams (use stages, activity_types, custom_fields)",
                "activity_types entry 2: name must be text",
                "custom_fields entry 1: unknown key(s) colour (use entity, name, type, choices)",
            ],
        ),
        (
            {
                "stages": ["Won", "won"],
                "activity_types": [{"name": "Fax", "category": "fax"}],
                "custom_fields": [{"entity": "deal", "name": "Bad name"}],
            },
            ".json",
            [
                "stages entry 2: repeats stages entry 1",
                "activity_types entry 1: category Value 'fax' is not a valid choice.",
                "custom_fields entry 1: entity Value 'deal' is not a valid choice.",
                "custom_fields entry 1: name Use lowercase letters, digits and underscores",
            ],
        ),
        (
            "kind,name,category\nstage,Won,\nactivity_type,Fax,fax\nteam,A,\nstage,,\n"
            "stage,Lost,call\n",
            ".csv",
            [
                "line 3: category Value 'fax' is not a valid choice.",
                "line 4: kind 'team' is not one of stage, activity_type, custom_field",
                "line 5: name is required",
                "line 6: a stage has no category",
            ],
        ),
        ("{not json", ".json", ["line 1: not JSON"]),
        ("name,colour\nWon,red\n", ".csv", ["line 1: the header needs the columns kind and name"]),
    ],
)
def test_it_writes_nothing_and_names_every_problems_entry(
    crm: Crm, tmp_path, content, suffix, problems
):
    before = settings_of(crm)
    text = json.dumps(content) if isinstance(content, dict) else content
    with pytest.raises(CommandError) as failure:
        declare(crm, tmp_path, text, suffix)
    message = str(failure.value)
    assert message.startswith("Nothing declared: problems in ")
    for problem in problems:
        assert problem in message
    assert settings_of(crm) == before


def test_it_keeps_the_pipeline_when_records_use_a_stage_left_out(crm: Crm, tmp_path):
    records_upsert(tenant=crm.tenant, entity="opportunity", records=[crm.opportunity()])
    declaration = {"stages": ["Won"], "activity_types": [{"name": "Visit", "category": "meeting"}]}
    with pytest.raises(CommandError, match="Records use the stage\\(s\\) Prospect"):
        declare(crm, tmp_path, json.dumps(declaration))
    stages, types, _ = settings_of(crm)
    assert stages == ["Prospect", "Proposal", "Negotiation"] and "Visit" not in types


def test_it_exits_non_zero_for_an_unknown_tenant(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{}")
    with pytest.raises(CommandError, match="No tenant with the slug 'nope'"):
        call_command("declare_settings", "--tenant", "nope", str(path))
