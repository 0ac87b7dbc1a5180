"""Working time in Settings and the settings API: defaults, validation by field, audit, and
the pace it gives the dashboards."""

from __future__ import annotations

from datetime import time

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from hierarchy.models import AuditEntry, Tenant
from hierarchy.services import api_token_create
from tests.conftest import Crm, Personas, client_for

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
URL = "/api/v1/settings/working-time"


def tenant_of(crm: Crm) -> Tenant:
    with scopes_disabled():
        return Tenant.objects.get(pk=crm.tenant.pk)


def form(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "working-time-working_days": ["0", "1", "2", "3"],
        "working-time-working_hours_start": "08:30",
        "working-time-working_hours_end": "17:00",
        "working-time-holidays": "2026-12-25\n2026-12-24\n",
    }
    return data | {f"working-time-{name}": value for name, value in changes.items()}


@pytest.fixture
def api(crm: Crm) -> Client:
    _, key = api_token_create(tenant=crm.tenant, name="setup")
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_a_new_tenant_works_monday_to_friday_nine_to_six(personas: Personas):
    tenant = personas.admin.tenant
    assert tenant.working_days == [0, 1, 2, 3, 4]
    assert (tenant.working_hours_start, tenant.working_hours_end) == (time(9), time(18))
    assert tenant.holidays == []


def test_an_admin_sets_the_working_time_on_the_settings_page_and_it_is_audited(crm: Crm):
    client = client_for(crm.personas.admin)
    page = client.get(reverse("settings")).content.decode()
    assert 'id="working-time"' in page and 'value="09:00"' in page and "Europe/Berlin" in page
    response = client.post(reverse("working_time"), form())
    assert response.status_code == 302 and response.url.endswith("#working-time")
    tenant = tenant_of(crm)
    assert tenant.working_days == [0, 1, 2, 3]
    assert (tenant.working_hours_start, tenant.working_hours_end) == (time(8, 30), time(17))
    assert tenant.holidays == ["2026-12-24", "2026-12-25"]
    with scope(tenant=crm.tenant):
        entry = AuditEntry.objects.get(action="working_time.update")
        assert entry.actor == crm.personas.admin
    assert entry.before["working_hours_start"] == "09:00"
    assert entry.after == {"working_days": [0, 1, 2, 3], "working_hours_start": "08:30",
                           "working_hours_end": "17:00",
                           "holidays": ["2026-12-24", "2026-12-25"]}  # fmt: skip
    client.post(reverse("working_time"), form())  # the same again: nothing to audit
    with scope(tenant=crm.tenant):
        assert AuditEntry.objects.filter(action="working_time.update").count() == 1


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"working_hours_end": "08:00"}, "Working day ends: The working day must end after it"),
        ({"working_hours_end": "08:30"}, "Working day ends: The working day must end after it"),
        ({"working_days": []}, "Working days: Choose at least one working day."),
        ({"working_days": ["7"]}, "Working days: Select a valid choice."),
        ({"holidays": "2026-12-25\nChristmas"}, "Holidays: line 2: &#x27;Christmas&#x27; is not"),
        ({"holidays": "1900-12-25"}, "is outside the dates Goals accepts"),
    ],
)
def test_the_page_names_the_field_of_a_problem_and_changes_nothing(crm: Crm, changes, error):
    client = client_for(crm.personas.admin)
    response = client.post(reverse("working_time"), form(**changes), headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<h1>" not in body and 'id="working-time"' in body
    assert error in body
    tenant = tenant_of(crm)
    assert (tenant.working_days, tenant.working_hours_end) == ([0, 1, 2, 3, 4], time(18))


def test_only_admins_of_the_tenant_see_or_change_its_working_time(crm: Crm):
    for member in (crm.personas.manager, crm.personas.rep):
        assert client_for(member).post(reverse("working_time"), form()).status_code == 403
    outsider = client_for(crm.personas.outsider)
    assert outsider.post(reverse("working_time"), form()).status_code == 302  # their own tenant
    assert tenant_of(crm).working_days == [0, 1, 2, 3, 4]
    with scopes_disabled():
        assert Tenant.objects.get(pk=crm.personas.outsider.tenant_id).working_days == [0, 1, 2, 3]


def test_the_api_reads_and_sets_the_working_time(crm: Crm, api: Client):
    assert api.get(URL).json() == {"working_days": [0, 1, 2, 3, 4],
                                   "working_hours_start": "09:00",
                                   "working_hours_end": "18:00", "holidays": []}  # fmt: skip
    body = {"working_days": [6, 0, 1, 2, 3], "working_hours_start": "07:00",
            "working_hours_end": "15:30", "holidays": ["2027-01-01", "2026-12-25"]}  # fmt: skip
    response = api.put(URL, body, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"working_days": [0, 1, 2, 3, 6], "working_hours_start": "07:00",
                               "working_hours_end": "15:30",
                               "holidays": ["2026-12-25", "2027-01-01"]}  # fmt: skip
    assert api.get(URL).json() == response.json()
    with scope(tenant=crm.tenant):
        entry = AuditEntry.objects.get(action="working_time.update")
    assert entry.actor_label == "API token 'setup'"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"working_hours_end": "09:00"}, "working_hours_end"),
        ({"working_hours_end": "06:00"}, "working_hours_end"),
        ({"working_days": []}, "working_days"),
        ({"working_days": [1, 9]}, "working_days"),
        ({"holidays": ["2099-02-30"]}, "holidays"),
        ({"holidays": ["Christmas"]}, "holidays"),
        ({"holidays": ["2101-01-01"]}, "holidays"),
        ({"working_hours_start": "25:00"}, "working_hours_start"),
        ({"working_hours_start": "9am"}, "working_hours_start"),
    ],
)
def test_the_api_answers_422_naming_the_field(crm: Crm, api: Client, changes, field):
    body = {"working_days": [0, 1, 2, 3, 4], "working_hours_start": "09:00",
            "working_hours_end": "18:00", "holidays": []}  # fmt: skip
    response = api.put(URL, body | changes, content_type="application/json")
    assert response.status_code == 422
    problems = response.json()["detail"]
    named = {problem.get("field") or problem["loc"][2] for problem in problems}
    assert named == {field}
    assert api.get(URL).json()["working_hours_end"] == "18:00"
    assert api.get(URL).json()["working_days"] == [0, 1, 2, 3, 4]


def test_the_api_sets_only_the_tokens_tenant(crm: Crm, api: Client):
    _, key = api_token_create(tenant=crm.personas.outsider.tenant, name="other")
    other = Client(headers={"Authorization": f"Bearer {key}"})
    body = {"working_days": [5], "working_hours_start": "10:00", "working_hours_end": "12:00"}
    assert other.put(URL, body, content_type="application/json").status_code == 200
    assert api.get(URL).json()["working_days"] == [0, 1, 2, 3, 4]
