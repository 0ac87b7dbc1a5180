from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.ingest import records_upsert
from tests.conftest import Crm, client_for

pytestmark = pytest.mark.django_db


def activities(crm: Crm, count: int, owner: str | None = None, **fields: str) -> None:
    owner = owner or crm.rep_email
    records = [
        crm.activity(external_id=f"{owner}-{i}", owner_email=owner, outcome=f"outcome {i}") | fields
        for i in range(count)
    ]
    records_upsert(tenant=crm.tenant, entity="activity", records=records)


def page(client, kind: str = "activities", **params: str) -> str:
    response = client.get(reverse("record_list", args=[kind]), params)
    assert response.status_code == 200
    return response.content.decode()


def test_managers_see_their_teams_records_and_admins_all(crm: Crm):
    activities(crm, 2)
    activities(crm, 1, owner=crm.personas.admin.email)
    assert "3 records" in page(client_for(crm.personas.admin))
    body = page(client_for(crm.personas.manager))
    assert "2 records of your team" in body
    assert crm.personas.admin.name not in body.split('id="records"')[1]


def test_it_filters_by_status_owner_text_and_local_dates(crm: Crm):
    activities(crm, 2, occurred_at="2025-03-03T23:30:00")
    activities(
        crm,
        1,
        owner=crm.personas.manager.email,
        status="planned",
        occurred_at="2025-03-04T00:30:00",
    )
    admin = client_for(crm.personas.admin)
    assert "1 record" in page(admin, status="planned")
    assert "1 record" in page(admin, owner=crm.personas.manager.email)
    assert "1 record" in page(admin, q="outcome 1")
    assert "1 record" in page(admin, since="2025-03-04", until="2025-03-04")
    assert "2 records" in page(admin, until="2025-03-03")
    assert "The end date is before the start date" in page(
        admin, since="2025-03-05", until="2025-03-01"
    )


def test_it_lists_each_kind(crm: Crm):
    records_upsert(tenant=crm.tenant, entity="lead", records=[crm.lead()])
    records_upsert(tenant=crm.tenant, entity="opportunity", records=[crm.opportunity()])
    admin = client_for(crm.personas.admin)
    assert "Ada Lovelace" in page(admin, "leads")
    assert "Big deal" in page(admin, "opportunities") and "1,000.00 USD" in page(
        admin, "opportunities"
    )
    assert admin.get(reverse("record_list", args=["secrets"])).status_code == 404


def test_it_answers_htmx_with_the_table_only(crm: Crm):
    activities(crm, 1)
    response = client_for(crm.personas.admin).get(
        reverse("record_list", args=["activities"]),
        headers={"HX-Request": "true", "HX-Target": "records"},
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="records">') and "<html" not in body


def test_reps_cannot_and_other_tenants_see_nothing(crm: Crm):
    activities(crm, 2)
    assert (
        client_for(crm.personas.rep).get(reverse("record_list", args=["activities"])).status_code
        == 403
    )
    body = page(client_for(crm.personas.outsider))
    assert "0 records" in body and "outcome 0" not in body


@pytest.mark.parametrize("count", [3, 40])
def test_it_lists_in_a_fixed_number_of_queries(crm: Crm, count: int, django_assert_max_num_queries):
    activities(crm, count)
    client = client_for(crm.personas.admin)
    with django_assert_max_num_queries(6):
        page(client)


def test_it_opens_on_what_happened_newest_first_and_planned_records_on_request(crm: Crm):
    now = timezone.now()
    days_ago, hour_ago = (
        (now - timedelta(days=2)).isoformat(),
        (now - timedelta(hours=1)).isoformat(),
    )
    activities(crm, 1, external_id="past", outcome="Older one", occurred_at=days_ago)
    activities(crm, 1, external_id="recent", outcome="Newer one", occurred_at=hour_ago)
    later = (now + timedelta(days=3)).isoformat()
    activities(crm, 1, external_id="planned", status="planned", occurred_at=later)
    admin = client_for(crm.personas.admin)
    body = page(admin)
    assert "2 records" in body and "Include planned" in body
    table = body.split('id="records"')[1]
    assert table.index("Newer one") < table.index("Older one")
    assert "3 records" in page(admin, planned="on")
    assert "2 records" in page(client_for(crm.personas.manager))  # the team's, past only
    outsider = client_for(crm.personas.outsider)
    assert "0 records" in page(outsider, planned="on")


def test_the_count_of_records_groups_thousands(crm: Crm):
    activities(crm, 1001)
    assert "1,001 records" in page(client_for(crm.personas.admin))
