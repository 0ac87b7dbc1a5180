"""The company part of Settings: time zone, week start, fiscal-year start and currency, audited;
the calendar is refused while goals follow it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from hierarchy.models import AuditEntry, Tenant
from tests.conftest import Org, client_for

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def form(**changes: object) -> dict[str, object]:
    data = {
        "company-time_zone": "Asia/Tokyo",
        "company-week_start": "6",
        "company-fiscal_year_start_month": "4",
        "company-default_currency": " eur ",
    }
    return data | {f"company-{field}": value for field, value in changes.items()}


def company(tenant: Tenant) -> tuple:
    with scopes_disabled():
        tenant.refresh_from_db()
    return (
        tenant.time_zone,
        tenant.week_start,
        tenant.fiscal_year_start_month,
        tenant.default_currency,
    )


def test_an_admin_sets_the_calendar_and_currency_and_it_is_audited(crm) -> None:
    tenant = crm.tenant
    admin = client_for(crm.personas.admin)
    page = admin.get(reverse("settings")).content.decode()
    assert 'id="company"' in page and "Fiscal year starts in" in page
    response = admin.post(reverse("company_settings"), form(), headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="company"') and "Saved the company" in body
    assert company(tenant) == ("Asia/Tokyo", 6, 4, "EUR")
    with scope(tenant=tenant):
        entry = AuditEntry.objects.get(action="tenant.update")
        assert (
            entry.after["default_currency"] == "EUR"
            and entry.before["time_zone"] == "Europe/Berlin"
        )
    admin.post(reverse("company_settings"), form())  # the same again: nothing to audit
    with scope(tenant=tenant):
        assert AuditEntry.objects.filter(action="tenant.update").count() == 1
    log = admin.get(reverse("audit_log")).content.decode()
    assert "tenant.update" not in log


def test_each_refusal_names_its_field_and_keeps_the_settings(crm) -> None:
    admin = client_for(crm.personas.admin)
    before = company(crm.tenant)
    for field, value, message in (
        ("default_currency", "dollars", "Default currency:"),
        ("time_zone", "Mars/Olympus", "Time zone:"),
        ("fiscal_year_start_month", "13", "Fiscal year starts in:"),
    ):
        body = admin.post(reverse("company_settings"), form(**{field: value}), headers=HTMX)
        assert message in body.content.decode(), field
    assert company(crm.tenant) == before


def test_the_calendar_is_refused_while_goals_follow_it_but_the_currency_is_not(org: Org) -> None:
    org.goal()
    tenant = org.admin.tenant
    zone, week, fiscal, currency = before = company(tenant)
    admin = client_for(org.admin)
    body = admin.post(reverse("company_settings"), form(), headers=HTMX).content.decode()
    assert "The company has 1 goal, whose cycles" in body
    assert company(tenant) == before
    same_calendar = form(time_zone=zone, week_start=str(week), fiscal_year_start_month=str(fiscal))
    admin.post(reverse("company_settings"), same_calendar)
    assert company(tenant) == (zone, week, fiscal, "EUR")


def test_only_an_admin_of_the_tenant_changes_it(crm) -> None:
    before = company(crm.tenant)
    assert client_for(crm.personas.rep).post(reverse("company_settings"), form()).status_code == 403
    client_for(crm.personas.outsider).post(reverse("company_settings"), form())
    assert company(crm.tenant) == before  # the outsider changed their own
    assert company(crm.personas.outsider.tenant)[3] == "EUR"
