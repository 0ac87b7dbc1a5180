"""Tasks: ingestion (API and CSV), the API's one record, the record pages."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db.utils import IntegrityError
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from crm.ingest import RecordsInvalid, records_import, records_upsert
from crm.models import ActivityType, CustomField, Task
from hierarchy.services import api_token_create
from tests.conftest import Crm, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm_tasks(crm: Crm) -> Crm:
    """The CRM of tenant A with a task type, a follow-up type and a custom field of tasks."""
    with scope(tenant=crm.tenant):
        ActivityType.objects.create(tenant=crm.tenant, name="To-do", category="task")
        ActivityType.objects.create(tenant=crm.tenant, name="Follow-up", category="follow_up")
        CustomField.objects.create(tenant=crm.tenant, entity="task", name="priority")
    return crm


def task(crm: Crm, **fields: Any) -> dict[str, Any]:
    base = {"external_id": "T-1", "owner_email": crm.rep_email, "type": "Follow-up"}
    return base | {"subject": "Call back", "due_at": "2025-03-03T17:00:00"} | fields


def upsert(crm: Crm, records: list[dict[str, Any]], **options: Any):
    return records_upsert(tenant=crm.tenant, entity="task", records=records, **options)


def stored() -> list[tuple]:
    with scopes_disabled():
        return list(Task.objects.order_by("external_id").values_list("external_id", "status"))


def test_it_stores_every_field_of_a_task_with_its_lead_and_opportunity(crm_tasks: Crm) -> None:
    crm = crm_tasks
    records_upsert(tenant=crm.tenant, entity="lead", records=[crm.lead()])
    records_upsert(tenant=crm.tenant, entity="opportunity", records=[crm.opportunity()])
    record = task(
        crm,
        status="Completed",
        created_at="2025-03-01T09:00:00",
        completed_at="2025-03-03T16:59:00",
        lead_external_id="L-1",
        opportunity_external_id="O-1",
        attributes={"priority": "high"},
    )
    assert upsert(crm, [record]).created == 1
    with scope(tenant=crm.tenant):
        row = Task.objects.select_related("type", "lead", "opportunity").get()
    assert (row.type.name, row.subject, row.status) == ("Follow-up", "Call back", "completed")
    # Naive times are the tenant's (Europe/Berlin, UTC+1 in March).
    assert row.due_at == datetime(2025, 3, 3, 16, tzinfo=UTC)
    assert row.completed_at == datetime(2025, 3, 3, 15, 59, tzinfo=UTC)
    assert (row.lead.external_id, row.opportunity.external_id) == ("L-1", "O-1")
    assert row.attributes == {"priority": "high"}


def test_it_refuses_a_type_outside_the_task_categories_with_a_sentence(crm_tasks: Crm) -> None:
    with pytest.raises(RecordsInvalid) as exc:
        upsert(crm_tasks, [task(crm_tasks, type="Call")])
    (problem,) = exc.value.problems
    assert problem.field == "type"
    assert problem.message.startswith(
        "type 'Call' is not an activity type of this organization in the category task or "
        "follow-up (known: Follow-up, To-do); an admin declares it first"
    )


def test_it_writes_nothing_when_one_record_is_bad(crm_tasks: Crm) -> None:
    crm = crm_tasks
    records = [
        task(crm),
        task(crm, external_id="T-2", due_at="soon", status="done"),
        task(crm, external_id="T-3", subject=""),
    ]
    with pytest.raises(RecordsInvalid) as exc:
        upsert(crm, records)
    assert sorted((p.line, p.field) for p in exc.value.problems) == [
        (1, "due_at"),
        (1, "status"),
        (2, "subject"),
    ]
    assert stored() == []


def test_it_writes_the_valid_records_in_partial_mode(crm_tasks: Crm) -> None:
    crm = crm_tasks
    result = upsert(crm, [task(crm), task(crm, external_id="T-2", type="Call")], partial=True)
    assert (result.created, [(p.line, p.field) for p in result.rejected]) == (1, [(1, "type")])
    assert stored() == [("T-1", "open")]


def test_it_changes_nothing_when_the_same_batch_arrives_twice(
    crm_tasks: Crm, django_capture_on_commit_callbacks
) -> None:
    crm = crm_tasks
    batch = [task(crm), task(crm, external_id="T-2", status="completed")]
    assert upsert(crm, batch).created == 2
    with scope(tenant=crm.tenant):
        before = list(Task.objects.order_by("pk").values())
    with django_capture_on_commit_callbacks() as callbacks:
        again = upsert(crm, batch)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert callbacks == []  # nothing changed, nothing to recompute
    with scope(tenant=crm.tenant):
        assert list(Task.objects.order_by("pk").values()) == before  # completed_at kept


def test_it_stamps_completed_at_when_completed_without_a_moment(crm_tasks: Crm) -> None:
    crm = crm_tasks
    upsert(crm, [task(crm, status="completed")])
    with scope(tenant=crm.tenant):
        assert Task.objects.get().completed_at is not None


def test_the_csv_import_reads_tasks_with_their_custom_fields(crm_tasks: Crm) -> None:
    crm = crm_tasks
    file = io.StringIO(
        "external_id,owner_email,type,subject,due_at,status,priority\n"
        f"T-1,{crm.rep_email},To-do,Send the quote,2025-03-03 17:00,open,high\n"
        f"T-2,{crm.rep_email},Follow-up,Call back,2025-03-04 09:00,completed,\n"
    )
    result = records_import(tenant=crm.tenant, entity="task", file=file)
    assert (result.created, result.rejected) == (2, [])
    assert stored() == [("T-1", "open"), ("T-2", "completed")]


def test_the_database_refuses_a_second_task_of_one_external_id(crm_tasks: Crm) -> None:
    crm = crm_tasks
    upsert(crm, [task(crm)])
    with scope(tenant=crm.tenant):
        first = Task.objects.get()
        first.pk = None
        with pytest.raises(IntegrityError):
            first.save()


# The API


def api(crm: Crm) -> tuple[Client, Client]:
    _, key_a = api_token_create(tenant=crm.tenant, name="A")
    _, key_b = api_token_create(tenant=crm.personas.outsider.tenant, name="B")
    return tuple(Client(headers={"Authorization": f"Bearer {key}"}) for key in (key_a, key_b))


def test_the_api_upserts_lists_and_gets_tasks(crm_tasks: Crm) -> None:
    crm = crm_tasks
    client, outsider = api(crm)
    body = {"records": [task(crm), task(crm, external_id="T-2", status="completed")]}
    response = client.post("/api/v1/tasks", body, content_type="application/json")
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0, "rejected": []}
    listing = client.get("/api/v1/tasks", {"status": "completed"}).json()
    assert [item["external_id"] for item in listing["items"]] == ["T-2"]
    one = client.get("/api/v1/tasks/T-1").json()
    assert (one["type"], one["subject"], one["status"], one["completed_at"]) == (
        "Follow-up",
        "Call back",
        "open",
        None,
    )
    assert one["due_at"].startswith("2025-03-03T16:00:00")
    # Another tenant's token: no such task, and no list of them.
    assert outsider.get("/api/v1/tasks/T-1").status_code == 404
    assert outsider.get("/api/v1/tasks").json()["count"] == 0
    assert client.get("/api/v1/tasks/T-9").status_code == 404


def test_the_api_answers_422_naming_the_record_and_the_field(crm_tasks: Crm) -> None:
    crm = crm_tasks
    client, _ = api(crm)
    records = [task(crm), task(crm, external_id="T-2", type="Email", due_at="")]
    response = client.post("/api/v1/tasks", {"records": records}, content_type="application/json")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {(error["record"], error["field"]) for error in detail} == {(1, "type"), (1, "due_at")}
    assert any("due_at is required" in error["message"] for error in detail)
    assert stored() == []


# The record pages


def tasks_page(client: Client, **params: str) -> str:
    response = client.get(reverse("record_list", args=["tasks"]), params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_tasks_tab_lists_tasks_due_later_too_and_links_each_to_its_page(
    crm_tasks: Crm,
) -> None:
    crm = crm_tasks
    upsert(crm, [task(crm), task(crm, external_id="T-2", subject="Later", due_at="2099-01-01")])
    body = tasks_page(client_for(crm.personas.manager))
    assert "2 records of your team" in body and "Later" in body
    with scope(tenant=crm.tenant):
        first = Task.objects.get(external_id="T-1")
    assert reverse("record_page_tasks", args=[first.pk]) in body


def test_a_task_page_shows_its_fields_and_is_404_to_others(crm_tasks: Crm) -> None:
    crm = crm_tasks
    records_upsert(tenant=crm.tenant, entity="lead", records=[crm.lead()])
    upsert(crm, [task(crm, lead_external_id="L-1", attributes={"priority": "high"})])
    with scope(tenant=crm.tenant):
        pk = Task.objects.get().pk
    url = reverse("record_page_tasks", args=[pk])
    response = client_for(crm.personas.manager).get(url)
    body = response.content.decode()
    assert response.status_code == 200
    for shown in ("Call back", "Follow-up", "Ada Lovelace", "2025-03-03 17:00", "T-1", "high"):
        assert shown in body
    assert f'href="{url}"' not in body  # its name, not a link to the page itself
    assert client_for(crm.personas.outsider).get(url).status_code == 404
    # A rep sees their own task (the records behind their numbers link to it), not others'.
    rep = client_for(crm.personas.rep)
    assert rep.get(url).status_code == 200
    upsert(crm, [task(crm, external_id="T-2", owner_email=crm.personas.manager.email)])
    with scope(tenant=crm.tenant):
        managers = Task.objects.get(external_id="T-2").pk
    assert rep.get(reverse("record_page_tasks", args=[managers])).status_code == 404
    admin = client_for(crm.personas.admin)
    assert admin.get(url).status_code == 200
    assert admin.get(reverse("record_page_tasks", args=[managers + 1])).status_code == 404
    assert admin.get(f"/records/secrets/{pk}/").status_code == 404


@pytest.mark.parametrize("count", [3, 40])
def test_the_tasks_tab_lists_in_a_fixed_number_of_queries(
    crm_tasks: Crm, count: int, django_assert_max_num_queries
) -> None:
    crm = crm_tasks
    records_upsert(tenant=crm.tenant, entity="lead", records=[crm.lead()])
    records_upsert(tenant=crm.tenant, entity="opportunity", records=[crm.opportunity()])
    links = {"lead_external_id": "L-1", "opportunity_external_id": "O-1"}
    upsert(crm, [task(crm, external_id=f"T-{n}", **links) for n in range(count)])
    client = client_for(crm.personas.admin)
    with django_assert_max_num_queries(5):
        tasks_page(client)


def test_a_task_page_reads_a_fixed_number_of_queries(
    crm_tasks: Crm, django_assert_max_num_queries
) -> None:
    crm = crm_tasks
    upsert(crm, [task(crm)])
    with scope(tenant=crm.tenant):
        pk = Task.objects.get().pk
    client = client_for(crm.personas.admin)
    with django_assert_max_num_queries(5):
        assert client.get(reverse("record_page_tasks", args=[pk])).status_code == 200
