from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from crm import ingest, signals
from crm.ingest import RecordsInvalid, records_delete, records_upsert, records_validate
from crm.models import Activity, Lead, Opportunity, StageChange
from tests.conftest import Crm

pytestmark = pytest.mark.django_db


def upsert(crm: Crm, entity: str, records: list[dict[str, Any]], **options: Any):
    return records_upsert(tenant=crm.tenant, entity=entity, records=records, **options)


def problems_of(crm: Crm, entity: str, records: list[dict[str, Any]]) -> list[tuple]:
    with pytest.raises(RecordsInvalid) as exc:
        upsert(crm, entity, records)
    return [(p.line, p.field, p.message) for p in exc.value.problems]


def counts() -> tuple[int, int, int, int]:
    with scopes_disabled():
        return tuple(model.objects.count() for model in (Lead, Activity, Opportunity, StageChange))


NOT_A_NUMBER = "is not a number (use digits and a point: 1250.50)"


@pytest.mark.parametrize(
    ("entity", "changes", "field", "message"),
    [
        (
            "activity",
            {"owner_email": "nobody@example.com"},
            "owner_email",
            "owner_email 'nobody@example.com' is not the email of a member of this organization",
        ),
        (
            "activity",
            {"type": "Fax"},
            "type",
            "type 'Fax' is not an activity type of this organization (known: Call, Demo, Email)",
        ),
        (
            "activity",
            {"status": "done"},
            "status",
            "status 'done' is not one of planned, completed, cancelled",
        ),
        (
            "activity",
            {"duration_seconds": "1m"},
            "duration_seconds",
            f"duration_seconds '1m' {NOT_A_NUMBER}",
        ),
        (
            "activity",
            {"duration_seconds": "90.5"},
            "duration_seconds",
            "duration_seconds '90.5' is not a whole number",
        ),
        (
            "activity",
            {"duration_seconds": -5},
            "duration_seconds",
            "duration_seconds -5 is not valid: Ensure this value is greater than or equal to 0.",
        ),
        (
            "activity",
            {"occurred_at": "03/03/2025"},
            "occurred_at",
            "occurred_at '03/03/2025' is not an ISO 8601 date or timestamp "
            "(e.g. 2025-03-31T14:30:00+02:00, 2025-03-31 14:30 or 2025-03-31)",
        ),
        (
            "activity",
            {"occurred_at": 1741000000},
            "occurred_at",
            "occurred_at 1741000000 is not an ISO 8601 timestamp",
        ),
        ("activity", {"occurred_at": "  "}, "occurred_at", "occurred_at is required"),
        (
            "activity",
            {"lead_external_id": "L-404"},
            "lead_external_id",
            "lead_external_id 'L-404' is not the external_id of a lead of this organization",
        ),
        (
            "activity",
            {"opportunity_external_id": "O-404"},
            "opportunity_external_id",
            "opportunity_external_id 'O-404' is not the external_id of an opportunity of this "
            "organization",
        ),
        ("activity", {"colour": "red"}, "colour", "'colour' is not a field of activity records"),
        (
            "activity",
            {"attributes": {"campaign": {"id": 7}}},
            "attributes.campaign",
            "campaign {'id': 7} is not text",
        ),
        (
            "lead",
            {"email": "ada@"},
            "email",
            "email 'ada@' is not valid: Enter a valid email address.",
        ),
        (
            "lead",
            {"name": "x" * 201},
            "name",
            f"name '{'x' * 39}… is not valid: "
            "Ensure this value has at most 200 characters (it has 201).",
        ),
        (
            "lead",
            {"status": "won"},
            "status",
            "status 'won' is not one of new, contacted, qualified, converted, disqualified",
        ),
        (
            "lead",
            {"attributes": {"shoe_size": 42}},
            "attributes.shoe_size",
            "'shoe_size' is not a custom field of lead records "
            "(declared: budget, employees, notes, renewal, tier, vip)",
        ),
        (
            "lead",
            {"attributes": {"budget": "lots"}},
            "attributes.budget",
            f"budget 'lots' {NOT_A_NUMBER}",
        ),
        (
            "lead",
            {"attributes": {"budget": "10.005"}},
            "attributes.budget",
            "budget '10.005' is not valid: Ensure that there are no more than 2 decimal places.",
        ),
        (
            "lead",
            {"attributes": {"employees": True}},
            "attributes.employees",
            "employees True is not a number",
        ),
        (
            "lead",
            {"attributes": {"vip": "maybe"}},
            "attributes.vip",
            "vip 'maybe' is not one of true, false, yes, no, 1, 0",
        ),
        (
            "lead",
            {"attributes": {"tier": "Platinum"}},
            "attributes.tier",
            "tier 'Platinum' is not one of Gold, Silver",
        ),
        (
            "lead",
            {"attributes": {"renewal": "2025-02-30"}},
            "attributes.renewal",
            "renewal '2025-02-30' is not a date (YYYY-MM-DD)",
        ),
        (
            "lead",
            {"attributes": ["vip"]},
            "attributes",
            "attributes must be an object of custom field values",
        ),
        (
            "opportunity",
            {"stage": "Closing"},
            "stage",
            "stage 'Closing' is not a pipeline stage of this organization "
            "(known: Prospect, Proposal, Negotiation)",
        ),
        ("opportunity", {"value": "1,000"}, "value", f"value '1,000' {NOT_A_NUMBER}"),
        (
            "opportunity",
            {"value": "-5"},
            "value",
            "value '-5' is not valid: Ensure this value is greater than or equal to 0.",
        ),
        (
            "opportunity",
            {"value": "1e13"},
            "value",
            "value '1e13' is not valid: "
            "Ensure that there are no more than 12 digits before the decimal point.",
        ),
        (
            "opportunity",
            {"currency": "E1R"},
            "currency",
            "currency 'E1R' is not valid: Use a three-letter ISO 4217 code, e.g. USD.",
        ),
        (
            "opportunity",
            {"stage_changed_at": "last week"},
            "stage_changed_at",
            "stage_changed_at 'last week' is not an ISO 8601 date or timestamp "
            "(e.g. 2025-03-31T14:30:00+02:00, 2025-03-31 14:30 or 2025-03-31)",
        ),
        ("opportunity", {"name": None}, "name", "name is required"),
    ],
)
def test_it_names_the_field_and_the_problem(
    crm: Crm, entity: str, changes: dict[str, Any], field: str, message: str
) -> None:
    record = getattr(crm, entity)(**changes)
    assert problems_of(crm, entity, [record]) == [(0, field, message)]
    assert counts() == (0, 0, 0, 0)


def test_it_reports_every_problem_of_every_record_and_writes_nothing(crm: Crm) -> None:
    records = [
        crm.activity(external_id="A-1"),
        {"external_id": "A-2", "colour": "red"},
        crm.activity(external_id="A-3", type="Fax", status="done"),
        crm.activity(external_id="A-1"),
    ]
    assert problems_of(crm, "activity", records) == [
        (1, "colour", "'colour' is not a field of activity records"),
        (1, "occurred_at", "occurred_at is required"),
        (1, "owner_email", "owner_email is required"),
        (1, "type", "type is required"),
        (2, "status", "status 'done' is not one of planned, completed, cancelled"),
        (
            2,
            "type",
            "type 'Fax' is not an activity type of this organization (known: Call, Demo, Email)",
        ),
        (3, "external_id", "external_id 'A-1' is repeated (first on record 0)"),
    ]
    assert counts() == (0, 0, 0, 0)


def test_it_validates_without_writing(crm: Crm) -> None:
    problems = records_validate(
        tenant=crm.tenant,
        entity="lead",
        records=[crm.lead(), crm.lead(external_id="L-2", status="lost")],
        positions=[7, 9],
        unit="line",
    )
    assert [str(p) for p in problems] == [
        "line 9: status 'lost' is not one of new, contacted, qualified, converted, disqualified"
    ]
    assert counts() == (0, 0, 0, 0)


def test_it_refuses_an_unknown_entity(crm: Crm) -> None:
    with pytest.raises(ValueError, match="Unknown entity 'deal'"):
        upsert(crm, "deal", [])


def test_it_writes_the_valid_records_in_partial_mode(crm: Crm) -> None:
    records = [
        crm.lead(external_id="L-1"),
        crm.lead(external_id="L-2", owner_email="nobody@example.com"),
        crm.lead(external_id="L-3", email="ada@example.com"),
    ]
    result = upsert(crm, "lead", records, partial=True)
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert [(p.line, p.field) for p in result.rejected] == [(1, "owner_email")]
    with scope(tenant=crm.tenant):
        assert sorted(Lead.objects.values_list("external_id", flat=True)) == ["L-1", "L-3"]


def test_it_stores_every_field_of_a_lead(crm: Crm) -> None:
    record = crm.lead(
        email="ada@example.com",
        phone="+49 30 1234",
        source="Webinar",
        status="Qualified",
        created_at="2025-03-01",
        first_contacted_at="2025-03-02T09:15:00+01:00",
        attributes={
            "budget": "2500.5",
            "employees": "120",
            "vip": "yes",
            "renewal": "2026-01-31",
            "tier": "gold",
            "notes": "",
        },
    )
    upsert(crm, "lead", [record])
    with scope(tenant=crm.tenant):
        lead = Lead.objects.get()
    assert lead.owner_id == crm.personas.rep.pk  # outside the scope, no member is readable
    assert (lead.email, lead.phone, lead.source, lead.status) == (
        "ada@example.com",
        "+49 30 1234",
        "Webinar",
        "qualified",
    )
    assert lead.created_at == datetime(2025, 2, 28, 23, tzinfo=UTC)
    assert lead.first_contacted_at == datetime(2025, 3, 2, 8, 15, tzinfo=UTC)
    assert lead.converted_at is None
    # Money as an exact string, numbers as numbers; an empty value is no value.
    assert lead.attributes == {
        "budget": "2500.50",
        "employees": 120,
        "vip": True,
        "renewal": "2026-01-31",
        "tier": "Gold",
    }


def test_it_stores_an_activity_with_its_lead_and_opportunity(crm: Crm) -> None:
    upsert(crm, "lead", [crm.lead()])
    upsert(crm, "opportunity", [crm.opportunity(lead_external_id="L-1")])
    record = crm.activity(
        type="demo",
        lead_external_id="L-1",
        opportunity_external_id="O-1",
        status="planned",
        outcome="no answer",
        duration_seconds="90",
        attributes={"campaign": "Spring"},
    )
    upsert(crm, "activity", [record])
    with scope(tenant=crm.tenant):
        activity = Activity.objects.select_related("type", "lead", "opportunity").get()
        opportunity = Opportunity.objects.get()
    assert activity.type.name == "Demo"
    assert (activity.lead.external_id, activity.opportunity.external_id) == ("L-1", "O-1")
    assert (activity.status, activity.outcome, activity.duration_seconds) == (
        "planned",
        "no answer",
        90,
    )
    assert activity.occurred_at == datetime(2025, 3, 3, 9, tzinfo=UTC)
    assert activity.attributes == {"campaign": "Spring"}
    assert opportunity.lead_id == activity.lead_id


def test_it_defaults_an_opportunity_to_the_tenant_currency_and_reads_codes_in_any_case(
    crm: Crm,
) -> None:
    records = [crm.opportunity(), crm.opportunity(external_id="O-2", currency="eur")]
    upsert(crm, "opportunity", records)
    with scope(tenant=crm.tenant):
        assert dict(Opportunity.objects.values_list("external_id", "currency")) == {
            "O-1": "USD",
            "O-2": "EUR",
        }
        assert Opportunity.objects.get(external_id="O-1").value == Decimal("1000.00")


def test_it_reads_naive_times_and_dates_in_the_tenant_time_zone_across_dst(crm: Crm) -> None:
    records = [
        crm.activity(external_id="winter", occurred_at="2025-03-29T12:00"),
        crm.activity(external_id="dst-day", occurred_at="2025-03-30"),
        crm.activity(external_id="summer", occurred_at="2025-03-30T12:00"),
        crm.activity(external_id="offset", occurred_at="2025-03-30T12:00:00-05:00"),
    ]
    upsert(crm, "activity", records)
    with scope(tenant=crm.tenant):
        stored = dict(Activity.objects.values_list("external_id", "occurred_at"))
    assert stored == {
        "winter": datetime(2025, 3, 29, 11, tzinfo=UTC),
        "dst-day": datetime(2025, 3, 29, 23, tzinfo=UTC),
        "summer": datetime(2025, 3, 30, 10, tzinfo=UTC),
        "offset": datetime(2025, 3, 30, 17, tzinfo=UTC),
    }


def test_it_upserts_by_external_id(crm: Crm) -> None:
    first = upsert(crm, "lead", [crm.lead(), crm.lead(external_id="L-2")])
    second = upsert(crm, "lead", [crm.lead(name="Ada King"), crm.lead(external_id="L-3")])
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (1, 1, 0)
    with scope(tenant=crm.tenant):
        assert dict(Lead.objects.values_list("external_id", "name")) == {
            "L-1": "Ada King",
            "L-2": "Ada Lovelace",
            "L-3": "Ada Lovelace",
        }


def test_it_changes_nothing_when_the_same_batch_arrives_twice(
    crm: Crm, django_capture_on_commit_callbacks
) -> None:
    upsert(crm, "lead", [crm.lead()])
    batches = {
        "opportunity": [
            crm.opportunity(),
            crm.opportunity(external_id="O-2", stage="Proposal", status="won"),
        ],
        "activity": [
            crm.activity(opportunity_external_id="O-1", attributes={"campaign": "Spring"}),
            crm.activity(external_id="A-2", lead_external_id="L-1", duration_seconds=60),
        ],
    }
    for entity, records in batches.items():
        upsert(crm, entity, records)
    with scope(tenant=crm.tenant):
        before = [
            list(model.objects.order_by("pk").values())
            for model in (Activity, Opportunity, StageChange)
        ]
    with django_capture_on_commit_callbacks() as callbacks:
        results = [upsert(crm, entity, records) for entity, records in batches.items()]
    assert [(r.created, r.updated, r.unchanged) for r in results] == [(0, 0, 2), (0, 0, 2)]
    assert callbacks == []  # nothing changed, nothing to recompute
    with scope(tenant=crm.tenant):
        after = [
            list(model.objects.order_by("pk").values())
            for model in (Activity, Opportunity, StageChange)
        ]
    assert after == before


def test_it_stamps_missing_moments_once_and_keeps_them(crm: Crm) -> None:
    upsert(crm, "lead", [crm.lead(status="converted")])
    with scope(tenant=crm.tenant):
        first = Lead.objects.get()
    assert first.converted_at is not None
    assert abs(first.created_at - timezone.now()) < timedelta(minutes=1)
    result = upsert(crm, "lead", [crm.lead(status="converted")])
    with scope(tenant=crm.tenant):
        again = Lead.objects.get()
    assert result.unchanged == 1
    assert (again.created_at, again.converted_at) == (first.created_at, first.converted_at)
    # A record that says when wins; one whose status no longer marks the moment clears it.
    upsert(crm, "lead", [crm.lead(status="converted", converted_at="2025-03-05")])
    with scope(tenant=crm.tenant):
        assert Lead.objects.get().converted_at == datetime(2025, 3, 4, 23, tzinfo=UTC)
    upsert(crm, "lead", [crm.lead(status="qualified")])
    with scope(tenant=crm.tenant):
        assert Lead.objects.get().converted_at is None


def test_it_records_stage_changes_on_create_and_on_change_only(crm: Crm) -> None:
    rep = crm.personas.rep
    upsert(crm, "opportunity", [crm.opportunity(created_at="2025-03-03")])
    upsert(
        crm,
        "opportunity",
        [
            crm.opportunity(
                created_at="2025-03-03", stage="proposal", stage_changed_at="2025-03-10T15:00"
            )
        ],
    )
    # Same stage, other value: an update, no stage change.
    result = upsert(
        crm,
        "opportunity",
        [crm.opportunity(created_at="2025-03-03", stage="Proposal", value="1200")],
    )
    assert result.updated == 1
    upsert(
        crm,
        "opportunity",
        [crm.opportunity(created_at="2025-03-03", stage="Negotiation", value="1200")],
    )
    with scope(tenant=crm.tenant):
        changes = list(StageChange.objects.select_related("from_stage", "to_stage"))
        opportunity = Opportunity.objects.get()
    stages = [(c.from_stage and c.from_stage.name, c.to_stage.name) for c in changes]
    assert stages == [(None, "Prospect"), ("Prospect", "Proposal"), ("Proposal", "Negotiation")]
    assert {c.opportunity_id for c in changes} == {opportunity.pk}
    assert {c.member_id for c in changes} == {rep.pk}
    assert changes[0].changed_at == datetime(2025, 3, 2, 23, tzinfo=UTC)  # its created_at
    assert changes[1].changed_at == datetime(2025, 3, 10, 14, tzinfo=UTC)
    assert abs(changes[2].changed_at - timezone.now()) < timedelta(minutes=1)


def test_it_resolves_only_the_tenant_own_members_names_and_records(crm: Crm) -> None:
    outsider = crm.personas.outsider
    records_upsert(
        tenant=outsider.tenant,
        entity="lead",
        records=[{"external_id": "B-LEAD", "owner_email": outsider.email, "name": "Theirs"}],
    )
    records = [
        crm.activity(owner_email=outsider.email.upper()),
        crm.activity(external_id="A-2", type="Carrier pigeon"),
        crm.activity(external_id="A-3", lead_external_id="B-LEAD"),
    ]
    assert problems_of(crm, "activity", records) == [
        (
            0,
            "owner_email",
            f"owner_email {outsider.email.upper()!r} is not the email of a member of this "
            "organization",
        ),
        (
            1,
            "type",
            "type 'Carrier pigeon' is not an activity type of this organization "
            "(known: Call, Demo, Email)",
        ),
        (
            2,
            "lead_external_id",
            "lead_external_id 'B-LEAD' is not the external_id of a lead of this organization",
        ),
    ]
    assert problems_of(crm, "opportunity", [crm.opportunity(stage="Closing")])[0][1] == "stage"


def test_it_keeps_the_same_external_id_apart_in_two_tenants(crm: Crm) -> None:
    outsider = crm.personas.outsider
    theirs = {"external_id": "L-1", "owner_email": outsider.email, "name": "Theirs"}
    records_upsert(tenant=outsider.tenant, entity="lead", records=[theirs])
    upsert(crm, "lead", [crm.lead(name="Ours")])
    assert records_delete(tenant=crm.tenant, entity="lead", external_ids=["L-1", "L-404"]) == 1
    assert records_delete(tenant=crm.tenant, entity="lead", external_ids=["L-1"]) == 0
    with scopes_disabled():
        assert list(Lead.objects.values_list("tenant_id", "name")) == [
            (outsider.tenant_id, "Theirs")
        ]


def test_it_deletes_an_opportunity_with_its_stage_changes_and_keeps_its_activities(
    crm: Crm,
) -> None:
    upsert(crm, "lead", [crm.lead()])
    upsert(crm, "opportunity", [crm.opportunity(lead_external_id="L-1")])
    upsert(crm, "activity", [crm.activity(lead_external_id="L-1", opportunity_external_id="O-1")])
    assert records_delete(tenant=crm.tenant, entity="opportunity", external_ids=["O-1"]) == 1
    assert records_delete(tenant=crm.tenant, entity="lead", external_ids=["L-1"]) == 1
    assert counts() == (0, 1, 0, 0)
    with scope(tenant=crm.tenant):
        assert Activity.objects.values_list("lead_id", "opportunity_id").get() == (None, None)


def test_it_tells_the_recompute_hook_after_commit(
    crm: Crm, django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple] = []
    monkeypatch.setattr(
        ingest, "entities_changed", lambda *args, **kwargs: calls.append((*args, kwargs))
    )
    manager, rep, tenant_id = crm.personas.manager, crm.personas.rep, crm.tenant.pk
    with django_capture_on_commit_callbacks(execute=True):
        upsert(crm, "opportunity", [crm.opportunity(created_at="2025-03-03")])
    assert calls == [
        (
            tenant_id,
            "opportunity",
            {
                "owner_ids": [rep.pk],
                "start": datetime(2025, 3, 2, 23, tzinfo=UTC),
                "end": datetime(2025, 3, 2, 23, tzinfo=UTC),
            },
        ),
        (
            tenant_id,
            "stage_change",
            {
                "owner_ids": [rep.pk],
                "start": datetime(2025, 3, 2, 23, tzinfo=UTC),
                "end": datetime(2025, 3, 2, 23, tzinfo=UTC),
            },
        ),
    ]
    calls.clear()
    # A move to another owner and month concerns both owners and both months.
    with django_capture_on_commit_callbacks(execute=True):
        upsert(crm, "activity", [crm.activity(occurred_at="2025-01-10T12:00")])
        upsert(crm, "activity", [crm.activity(owner_email=manager.email)])
        records_delete(tenant=crm.tenant, entity="activity", external_ids=["A-1"])
    january, march = datetime(2025, 1, 10, 11, tzinfo=UTC), datetime(2025, 3, 3, 9, tzinfo=UTC)
    assert calls == [
        (tenant_id, "activity", {"owner_ids": [rep.pk], "start": january, "end": january}),
        (
            tenant_id,
            "activity",
            {"owner_ids": sorted([rep.pk, manager.pk]), "start": january, "end": march},
        ),
        (tenant_id, "activity", {"owner_ids": [manager.pk], "start": march, "end": march}),
    ]


def test_it_logs_changes_and_tells_the_apps_above(
    crm: Crm, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[dict[str, Any]] = []

    def listener(sender: Any, **change: Any) -> None:
        heard.append(change)

    signals.entities_changed.connect(listener)
    with caplog.at_level("DEBUG", logger="crm.ingest"):
        ingest.entities_changed(
            crm.tenant.pk,
            "lead",
            owner_ids=[1],
            start=datetime(2025, 1, 1, tzinfo=UTC),
            end=datetime(2025, 1, 2, tzinfo=UTC),
        )
    signals.entities_changed.disconnect(listener)
    assert caplog.messages == [
        f"lead rows of tenant {crm.tenant.pk} changed for members [1] between "
        "2025-01-01T00:00:00+00:00 and 2025-01-02T00:00:00+00:00"
    ]
    assert [(c["tenant_id"], c["entity"], c["owner_ids"]) for c in heard] == [
        (crm.tenant.pk, "lead", [1])
    ]


def test_it_upserts_a_batch_of_200_activities_in_a_fixed_number_of_queries(
    crm: Crm, django_assert_max_num_queries
) -> None:
    upsert(crm, "lead", [crm.lead(external_id=f"L-{n}") for n in range(20)])
    upsert(crm, "opportunity", [crm.opportunity(external_id=f"O-{n}") for n in range(20)])
    members = [crm.personas.rep.email, crm.personas.manager.email, crm.personas.admin.email]

    def batch(outcome: str) -> list[dict[str, Any]]:
        return [
            crm.activity(
                external_id=f"A-{n}",
                owner_email=members[n % 3],
                type=("Call", "Email", "Demo")[n % 3],
                occurred_at=f"2025-03-{1 + n % 28:02d}T10:00",
                lead_external_id=f"L-{n % 20}",
                opportunity_external_id=f"O-{n % 20}",
                outcome=outcome,
                attributes={"campaign": "Spring"},
            )
            for n in range(200)
        ]

    # Custom fields, members, types, leads, opportunities; then on PostgreSQL the temporary
    # table, the COPY and the upsert in a savepoint (undone if a racing batch created the
    # same records meanwhile); on SQLite the stored rows and the upsert (split in three by its
    # 999 parameters).
    with django_assert_max_num_queries(11):
        assert upsert(crm, "activity", batch("connected")).created == 200
    with django_assert_max_num_queries(11):
        assert upsert(crm, "activity", batch("no answer")).updated == 200
    with django_assert_max_num_queries(10):
        assert upsert(crm, "activity", batch("no answer")).unchanged == 200


def test_it_stores_text_with_quotes_and_percent_signs_verbatim(crm: Crm) -> None:
    tricky = "50% off 'today'; -- \\ \"quoted\" %s %(x)s"
    records_upsert(tenant=crm.tenant, entity="activity", records=[crm.activity(outcome=tricky)])
    records_upsert(
        tenant=crm.tenant, entity="activity", records=[crm.activity(outcome=tricky + "!")]
    )
    with scope(tenant=crm.tenant):
        assert Activity.objects.get().outcome == tricky + "!"


def test_it_stores_tabs_line_breaks_and_backslashes_verbatim(crm: Crm) -> None:
    # On PostgreSQL these travel through COPY, whose text format gives each a meaning.
    tricky = "tab\there, two\nlines\r\n \\N \\. \\"
    record = crm.activity(outcome=tricky, attributes={"campaign": tricky})
    assert upsert(crm, "activity", [record]).created == 1
    assert upsert(crm, "activity", [record]).unchanged == 1
    with scope(tenant=crm.tenant):
        activity = Activity.objects.get()
    assert (activity.outcome, activity.attributes) == (tricky, {"campaign": tricky})


def test_it_stamps_a_deal_closed_when_won_or_lost_and_clears_it_when_reopened(crm: Crm) -> None:
    def closed_at() -> datetime | None:
        with scope(tenant=crm.tenant):
            return Opportunity.objects.get().closed_at

    upsert(crm, "opportunity", [crm.opportunity()])
    assert closed_at() is None
    upsert(crm, "opportunity", [crm.opportunity(status="won")])
    won = closed_at()
    assert won is not None and abs(won - timezone.now()) < timedelta(minutes=1)
    # Lost after all: the deal closed when it was first marked, not now.
    assert upsert(crm, "opportunity", [crm.opportunity(status="lost")]).updated == 1
    assert closed_at() == won
    upsert(crm, "opportunity", [crm.opportunity(status="open")])
    assert closed_at() is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_it_writes_a_batch_on_postgresql_by_copy_and_one_upsert(
    crm: Crm, django_assert_max_num_queries
) -> None:
    records = [crm.activity(external_id=f"A-{n}") for n in range(50)]
    with django_assert_max_num_queries(10) as captured:
        assert upsert(crm, "activity", records).created == 50
    statements = [query["sql"].split()[0] for query in captured.captured_queries]
    assert statements.count("COPY") == 1
    assert statements.count("WITH") == 1  # the upsert, with its INSERT ... ON CONFLICT
    assert not any(query["sql"].startswith("INSERT") for query in captured.captured_queries)


def test_a_nul_character_is_refused_by_name(crm: Crm) -> None:
    found = problems_of(crm, "lead", [crm.lead(name="Ada\x00Lovelace")])
    assert found == [(0, "name", "name contains a NUL character, which cannot be stored")]
