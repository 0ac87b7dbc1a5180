from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from crm.ingest import records_upsert
from crm.models import ActivityType, CustomField, PipelineStage
from hierarchy.models import AuditEntry
from tests.conftest import Crm, client_for

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def stages(crm: Crm) -> list[str]:
    with scope(tenant=crm.tenant):
        return list(PipelineStage.objects.order_by("position").values_list("name", flat=True))


def test_it_shows_the_settings_to_admins_only(crm: Crm):
    body = client_for(crm.personas.admin).get(reverse("settings")).content.decode()
    assert ">Settings</a>" in body
    for shown in ("Pipeline stages", "Prospect", "Activity types", "Call", "Custom fields", "tier"):
        assert shown in body
    assert "Carrier pigeon" not in body  # another tenant's type
    for member in (crm.personas.manager, crm.personas.rep):
        client = client_for(member)
        assert ">Settings</a>" not in client.get(reverse("assigned_to_me")).content.decode()
        assert client.get(reverse("settings")).status_code == 403
        add = reverse("stage_add")
        assert client.post(add, {"stages-add-name": "Won"}).status_code == 403
    assert stages(crm) == ["Prospect", "Proposal", "Negotiation"]


def test_it_adds_a_stage_at_the_end_and_audits_it(crm: Crm):
    client = client_for(crm.personas.admin)
    response = client.post(reverse("stage_add"), {"stages-add-name": " Won "})
    assert response.status_code == 302
    assert stages(crm) == ["Prospect", "Proposal", "Negotiation", "Won"]
    with scope(tenant=crm.tenant):
        entry = AuditEntry.objects.get(action="stages.set")
        assert entry.actor == crm.personas.admin
    assert entry.after == {"stages": ["Prospect", "Proposal", "Negotiation", "Won"]}


def test_it_answers_htmx_with_the_section_and_names_the_field_of_an_error(crm: Crm):
    client = client_for(crm.personas.admin)
    url = reverse("activity_type_add")
    data = {"activity-types-add-name": "call", "activity-types-add-category": "call"}
    response = client.post(url, data, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<h1>" not in body and 'id="activity-types"' in body
    assert "Activity type name: This organization already has an activity type" in body
    data = {"activity-types-add-name": "Site visit", "activity-types-add-category": "fax"}
    body = client.post(url, data, headers=HTMX).content.decode()
    assert "Category: Select a valid choice." in body
    data["activity-types-add-category"] = "meeting"
    body = client.post(url, data, headers=HTMX).content.decode()
    assert "Added Site visit." in body
    with scope(tenant=crm.tenant):
        assert ActivityType.objects.get(name="Site visit").category == "meeting"


def test_it_reorders_and_renames_stages(crm: Crm):
    client = client_for(crm.personas.admin)
    negotiation = crm.stages["Negotiation"]
    client.post(reverse("stage_move", args=[negotiation.pk]), {"direction": "up"})
    assert stages(crm) == ["Prospect", "Negotiation", "Proposal"]
    client.post(reverse("stage_move", args=[crm.stages["Prospect"].pk]), {"direction": "down"})
    assert stages(crm) == ["Negotiation", "Prospect", "Proposal"]
    edit = reverse("stage_edit", args=[negotiation.pk])
    form = client.get(edit, headers=HTMX).content.decode()
    assert f'name="stages-{negotiation.pk}-name"' in form and 'value="Negotiation"' in form
    client.post(edit, {f"stages-{negotiation.pk}-name": "Talks"})
    assert stages(crm) == ["Talks", "Prospect", "Proposal"]
    clash = client.post(edit, {f"stages-{negotiation.pk}-name": "proposal"}).content.decode()
    assert "Stage name: This organization already has a stage with this name." in clash


def test_it_marks_a_stage_won_shows_it_and_audits_it_in_words(crm: Crm):
    client = client_for(crm.personas.admin)
    negotiation = crm.stages["Negotiation"]
    edit = reverse("stage_edit", args=[negotiation.pk])
    form = client.get(edit, headers=HTMX).content.decode()
    assert f'name="stages-{negotiation.pk}-outcome"' in form
    client.post(
        edit, {f"stages-{negotiation.pk}-name": "Signed", f"stages-{negotiation.pk}-outcome": "won"}
    )
    client.post(reverse("stage_add"), {"stages-add-name": "Gone", "stages-add-outcome": "lost"})
    with scope(tenant=crm.tenant):
        outcomes = dict(PipelineStage.objects.values_list("name", "outcome"))
        entries = list(AuditEntry.objects.filter(action="stages.set").order_by("pk"))
    assert outcomes == {"Prospect": "open", "Proposal": "open", "Signed": "won", "Gone": "lost"}
    assert entries[0].after == {"stages": ["Prospect", "Proposal", "Signed (won)"]}
    assert entries[1].after["stages"][-1] == "Gone (lost)"
    page = client.get(reverse("settings")).content.decode()
    assert ">Won<" in page and ">Lost<" in page
    client.post(edit, {f"stages-{negotiation.pk}-name": "Signed"})  # no outcome sent: kept
    with scope(tenant=crm.tenant):
        assert PipelineStage.objects.get(pk=negotiation.pk).outcome == "won"


def test_it_deletes_only_what_no_record_uses(crm: Crm):
    records_upsert(tenant=crm.tenant, entity="opportunity", records=[crm.opportunity()])
    records_upsert(tenant=crm.tenant, entity="activity", records=[crm.activity()])
    records_upsert(
        tenant=crm.tenant, entity="lead", records=[crm.lead(attributes={"tier": "gold"})]
    )
    client = client_for(crm.personas.admin)
    with scope(tenant=crm.tenant):
        call = ActivityType.objects.get(name="Call")
        demo = ActivityType.objects.get(name="Demo")
        tier = CustomField.objects.get(name="tier")
        notes = CustomField.objects.get(name="notes")
    refusals = [
        ("stage", crm.stages["Prospect"].pk, "use the stage Prospect: it stays"),
        ("activity_type", call.pk, "1 activities are of the type Call: it stays"),
        ("custom_field", tier.pk, "1 records carry a value of tier: it stays"),
    ]
    for route, pk, message in refusals:
        body = client.post(reverse(f"{route}_delete", args=[pk]), headers=HTMX)
        assert message in body.content.decode()
    for route, pk in (("stage", crm.stages["Proposal"].pk), ("activity_type", demo.pk)):
        client.post(reverse(f"{route}_delete", args=[pk]))
    client.post(reverse("custom_field_delete", args=[notes.pk]))
    assert stages(crm) == ["Prospect", "Negotiation"]
    with scope(tenant=crm.tenant):
        assert not ActivityType.objects.filter(name="Demo").exists()
        assert not CustomField.objects.filter(name="notes").exists()
        assert CustomField.objects.filter(name="tier").exists()
        deleted = AuditEntry.objects.filter(action__endswith=".delete")
        assert set(deleted.values_list("action", flat=True)) == {
            "activity_type.delete",
            "custom_field.delete",
        }


def test_it_declares_and_edits_custom_fields(crm: Crm):
    client = client_for(crm.personas.admin)
    data = {
        "custom-fields-add-entity": "opportunity",
        "custom-fields-add-name": "segment",
        "custom-fields-add-type": "choice",
        "custom-fields-add-choices": "SMB\n Enterprise \n\n",
    }
    client.post(reverse("custom_field_add"), data)
    with scope(tenant=crm.tenant):
        segment = CustomField.objects.get(name="segment")
    assert segment.choices == ["SMB", "Enterprise"]
    data["custom-fields-add-choices"] = ""
    data["custom-fields-add-name"] = "size"
    body = client.post(reverse("custom_field_add"), data).content.decode()
    assert "Choices: List the allowed values, as text." in body
    edit = reverse("custom_field_edit", args=[segment.pk])
    prefix = f"custom-fields-{segment.pk}"
    client.post(edit, {f"{prefix}-type": "choice", f"{prefix}-choices": "SMB\nMid\nEnterprise"})
    with scope(tenant=crm.tenant):
        segment.refresh_from_db()
    assert segment.choices == ["SMB", "Mid", "Enterprise"]
    records_upsert(
        tenant=crm.tenant, entity="lead", records=[crm.lead(attributes={"tier": "gold"})]
    )
    with scope(tenant=crm.tenant):
        tier = CustomField.objects.get(name="tier")
    edit = reverse("custom_field_edit", args=[tier.pk])
    body = client.post(edit, {f"custom-fields-{tier.pk}-type": "text"}).content.decode()
    assert "Type: 1 records carry a value of tier: its type stays." in body


def test_another_tenants_ids_do_not_exist(crm: Crm):
    with scopes_disabled():
        theirs = PipelineStage.objects.get(name="Closing")
        their_type = ActivityType.objects.get(name="Carrier pigeon")
    client = client_for(crm.personas.admin)
    assert client.get(reverse("stage_edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("stage_move", args=[theirs.pk])).status_code == 404
    delete = reverse("activity_type_delete", args=[their_type.pk])
    assert client.post(delete).status_code == 404
    assert client.get(f"{reverse('settings')}?section=colours").status_code == 404
    with scopes_disabled():
        assert PipelineStage.objects.filter(pk=theirs.pk).exists()
        assert ActivityType.objects.filter(pk=their_type.pk).exists()
