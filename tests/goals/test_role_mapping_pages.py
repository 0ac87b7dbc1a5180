"""Settings, Role mapping and its API, and a member's sales role through the editor, the
members CSV and the members API: admins only, another tenant's role or KPI answers 404."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_scopes import scope

from goals.models import Goal, GoalTarget
from goals.services import TargetInput
from hierarchy.importer import MemberImportError, members_import
from hierarchy.models import AuditEntry, Member, SalesRole
from hierarchy.services import api_token_create, sales_role_save
from tests.conftest import Org, client_for

pytestmark = pytest.mark.django_db


def api(tenant) -> Client:  # noqa: ANN001
    _, key = api_token_create(tenant=tenant, name="sync")
    return Client(headers={"Authorization": f"Bearer {key}"})


def kpis(org: Org) -> Goal:
    return org.goal(actor=org.admin, team=org.admin, name="SDR monthly", sales_role=org.sdr_role,
                    targets={"dialled_calls": TargetInput(Decimal(1200))})  # fmt: skip


def kpi_of(goal: Goal) -> GoalTarget:
    with scope(tenant=goal.tenant_id):
        return goal.targets.get()


def test_the_page_is_for_admins_and_shows_roles_kpis_and_types(
    org: Org, django_assert_max_num_queries
) -> None:
    kpis(org)
    admin = client_for(org.admin)
    with django_assert_max_num_queries(14):
        page = admin.get("/settings/roles/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "SDR" in body and "Dialled calls" in body and "1,200" in body
    assert "1 member" in body
    assert client_for(org.east).get("/settings/roles/").status_code == 403
    assert client_for(org.rep).get("/settings/roles/").status_code == 403
    assert 'href="/settings/roles/"' in admin.get("/settings/").content.decode()
    # More roles and KPIs: the same queries.
    for n in range(5):
        role = sales_role_save(tenant=org.admin.tenant, name=f"Role {n}")
        org.goal(actor=org.admin, team=org.admin, name=f"Role {n} KPIs", sales_role=role)
    with django_assert_max_num_queries(14):
        assert admin.get("/settings/roles/").status_code == 200


def test_an_admin_adds_a_role_a_kpi_and_maps_it_to_types(org: Org) -> None:
    admin = client_for(org.admin)
    answer = admin.post("/settings/roles/add/", {"role-name": "Account executive",
                                                  "role-description": "Closes deals"})  # fmt: skip
    assert answer.status_code == 302
    with scope(tenant=org.admin.tenant):
        ae = SalesRole.objects.get(name="Account executive")
        calls = org.ruleset.rules.get(key="dialled_calls")
    taken = admin.post("/settings/roles/add/", {"role-name": "account EXECUTIVE"})
    assert "There is already a sales role called" in taken.content.decode()
    form = {f"kpi-{ae.pk}-rule": calls.pk, f"kpi-{ae.pk}-amount": "1,500",
            f"kpi-{ae.pk}-cycle": "monthly", f"kpi-{ae.pk}-end": "2099-12-31"}  # fmt: skip
    assert admin.post(f"/settings/roles/{ae.pk}/kpis/", form).status_code == 302
    with scope(tenant=org.admin.tenant):
        goal = Goal.objects.get(sales_role=ae)
        target = goal.targets.get()
    assert (goal.team_id, target.amount, goal.cycle) == (org.admin.pk, Decimal(1500), "monthly")
    bad = admin.post(f"/settings/roles/{ae.pk}/kpis/", form | {f"kpi-{ae.pk}-amount": "lots"})
    assert "&#x27;lots&#x27; is not a number" in bad.content.decode()
    url = f"/settings/roles/kpis/{target.pk}/activity-types/"
    answer = admin.post(url, {f"types-{target.pk}-activity_types": ["Demo", "Call"]})
    assert answer.status_code == 302
    with scope(tenant=org.admin.tenant):
        calls.refresh_from_db()
        actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"field": "type", "op": "in", "value": ["Demo", "Call"]} in calls.conditions
    assert {"sales_role.create", "goal.create", "ruleset.edit"} <= actions
    page = admin.get("/settings/roles/").content.decode()
    assert "Counts Demo, Call." in page
    # The same condition in the rule builder, which edits it too.
    builder = admin.get(f"/rulesets/{org.ruleset.pk}/edit/").content.decode()
    assert '<option value="type" selected>' in builder
    assert 'value="Demo, Call"' in builder


def test_another_tenants_role_and_kpi_are_not_found(org: Org) -> None:
    target = kpi_of(kpis(org))
    outsider = client_for(org.personas.outsider)
    with scope(tenant=org.admin.tenant):
        calls = org.ruleset.rules.get(key="dialled_calls")
    pk = org.sdr_role.pk
    form = {f"kpi-{pk}-rule": calls.pk, f"kpi-{pk}-amount": "1", f"kpi-{pk}-cycle": "monthly",
            f"kpi-{pk}-end": "2099-12-31"}  # fmt: skip
    assert outsider.post(f"/settings/roles/{org.sdr_role.pk}/kpis/", form).status_code == 404
    assert outsider.get(f"/settings/roles/{org.sdr_role.pk}/kpis/").status_code == 404
    url = f"/settings/roles/kpis/{target.pk}/activity-types/"
    assert outsider.post(url, {f"types-{target.pk}-activity_types": ["Call"]}).status_code == 404
    assert "SDR monthly" not in outsider.get("/settings/roles/").content.decode()
    other = api(org.personas.outsider.tenant)
    assert other.get("/api/v1/settings/sales-roles").json() == []
    assert other.put(f"/api/v1/settings/sales-roles/{org.sdr_role.pk}", {"name": "X"},
                     content_type="application/json").status_code == 404  # fmt: skip
    answer = other.post(f"/api/v1/settings/sales-roles/{org.sdr_role.pk}/kpis",
                        {"ruleset": org.ruleset.pk, "rule": "dialled_calls", "target": 1,
                         "cycle": "monthly", "end": "2099-12-31"},
                        content_type="application/json")  # fmt: skip
    assert answer.status_code == 404
    answer = other.put(
        f"/api/v1/settings/sales-roles/{org.sdr_role.pk}/kpis/{target.pk}/activity-types",
        {"activity_types": ["Call"]},
        content_type="application/json",
    )
    assert answer.status_code == 404


def test_the_api_lists_adds_and_maps(org: Org) -> None:
    target = kpi_of(kpis(org))
    client = api(org.admin.tenant)
    [role] = client.get("/api/v1/settings/sales-roles").json()
    assert role["name"] == "SDR" and role["members"] == 1
    assert role["kpis"] == [{"id": target.pk, "goal": target.goal_id, "goal_name": "SDR monthly",
                             "ruleset": "Sales basics", "rule": "dialled_calls",
                             "rule_name": "Dialled calls", "cycle": "monthly",
                             "target": "1200.00", "activity_types": []}]  # fmt: skip
    taken = client.post("/api/v1/settings/sales-roles", {"name": "sdr"},
                        content_type="application/json")  # fmt: skip
    assert taken.status_code == 422
    assert taken.json()["detail"] == [
        {"field": "name", "message": "There is already a sales role called 'sdr'."}
    ]
    made = client.post("/api/v1/settings/sales-roles", {"name": "Account manager"},
                       content_type="application/json")  # fmt: skip
    assert made.status_code == 201
    am = made.json()["id"]
    kpi = {"ruleset": org.ruleset.pk, "rule": "dialled_calls", "target": 800,
           "cycle": "monthly", "end": "2099-12-31"}  # fmt: skip
    added = client.post(f"/api/v1/settings/sales-roles/{am}/kpis", kpi,
                        content_type="application/json")  # fmt: skip
    assert added.status_code == 201
    [new] = added.json()["kpis"]
    unknown = client.post(f"/api/v1/settings/sales-roles/{am}/kpis", kpi | {"rule": "nope"},
                          content_type="application/json")  # fmt: skip
    assert unknown.json()["detail"][0]["message"] == (
        f"No rule 'nope' in a ruleset {org.ruleset.pk} of this organization."
    )
    url = f"/api/v1/settings/sales-roles/{am}/kpis/{new['id']}/activity-types"
    mapped = client.put(url, {"activity_types": ["Email"]}, content_type="application/json")
    assert mapped.status_code == 200
    assert mapped.json()["kpis"][0]["activity_types"] == ["Email"]
    wrong = client.put(url, {"activity_types": ["Fax"]}, content_type="application/json")
    assert wrong.status_code == 422
    assert wrong.json()["detail"] == [{"field": "activity_types", "message":
        "Fax: not an activity type of this organization (Settings lists them)."}]  # fmt: skip
    # The KPI of another role is not this role's.
    other = f"/api/v1/settings/sales-roles/{am}/kpis/{target.pk}/activity-types"
    assert (
        client.put(other, {"activity_types": []}, content_type="application/json").status_code
        == 404
    )


def test_the_editor_gives_a_role_at_once_when_asked(org: Org) -> None:
    goal = kpis(org)
    admin = client_for(org.admin)
    form = {"name": org.rep.name, "title": "", "role": "rep", "sales_role": org.sdr_role.pk,
            "sales_role_at_once": "on"}  # fmt: skip
    assert admin.post(f"/organization/members/{org.rep.pk}/edit/", form).status_code in (200, 302)
    with scope(tenant=org.admin.tenant):
        assert Member.objects.get(pk=org.rep.pk).sales_role_id == org.sdr_role.pk
        assert goal.quotas.filter(member=org.rep, own__gt=0).exists()
    edit = admin.get(f"/organization/members/{org.rep.pk}/edit/").content.decode()
    assert f'<option value="{org.sdr_role.pk}" selected>SDR</option>' in edit


def test_the_members_csv_takes_and_gives_sales_roles(org: Org) -> None:
    tenant = org.admin.tenant
    header = "email,name,role,reports_to,title,sales_role\n"
    good = header + f"{org.rep.email},{org.rep.name},rep,{org.east.email},,sdr\n"
    members_import(tenant=tenant, file=io.StringIO(good), actor=org.admin)
    with scope(tenant=tenant):
        assert Member.objects.get(pk=org.rep.pk).sales_role_id == org.sdr_role.pk
        entry = AuditEntry.objects.filter(action="members.import").latest("pk")
    assert entry.after["sales_roles"] == {org.rep.email: "SDR"}
    bad = header + (f"{org.rep.email},{org.rep.name},rep,{org.east.email},,Closer\n"
                    f"{org.rep2.email},{org.rep2.name},rep,{org.east.email},,\n")  # fmt: skip
    with pytest.raises(MemberImportError) as refused:
        members_import(tenant=tenant, file=io.StringIO(bad), actor=org.admin)
    assert [str(p) for p in refused.value.problems] == [
        "line 2: sales_role 'Closer' is not a sales role of this organization (its roles: SDR; "
        "add one under Settings, Role mapping)"
    ]
    # Without the column every role stays; an empty cell takes it away.
    plain = f"email,name,role,reports_to,title\n{org.rep.email},Renamed,rep,{org.east.email},\n"
    members_import(tenant=tenant, file=io.StringIO(plain), actor=org.admin)
    with scope(tenant=tenant):
        assert Member.objects.get(pk=org.rep.pk).sales_role_id == org.sdr_role.pk
    empty = header + f"{org.rep.email},Renamed,rep,{org.east.email},,\n"
    members_import(tenant=tenant, file=io.StringIO(empty), actor=org.admin)
    with scope(tenant=tenant):
        assert Member.objects.get(pk=org.rep.pk).sales_role_id is None
    export = client_for(org.admin).get("/organization/export.csv").content.decode().splitlines()
    assert f"{org.sdr.email},{org.sdr.name},rep,{org.west.email},SDR,SDR" in export
    upload = SimpleUploadedFile("org.csv", good.encode())
    page = client_for(org.admin).post(
        "/organization/import/", {"file": upload, "sales_role_at_once": "on"}
    )
    assert page.status_code == 302


def test_the_members_api_takes_and_shows_sales_roles(org: Org) -> None:
    goal = kpis(org)
    client = api(org.admin.tenant)
    record = {"email": org.rep.email, "name": org.rep.name, "role": "rep",
              "reports_to": org.east.email, "sales_role": "SDR"}  # fmt: skip
    answer = client.post("/api/v1/members?sales_role_at_once=true", {"records": [record]},
                         content_type="application/json")  # fmt: skip
    assert answer.status_code == 200
    with scope(tenant=org.admin.tenant):
        assert goal.quotas.filter(member=org.rep, own__gt=0).exists()  # at once
    listed = {m["email"]: m["sales_role"] for m in client.get("/api/v1/members").json()["items"]}
    assert listed[org.rep.email] == "SDR" and listed[org.east.email] is None
    wrong = client.post("/api/v1/members", {"records": [record | {"sales_role": "Closer"}]},
                        content_type="application/json")  # fmt: skip
    assert wrong.status_code == 422
    [problem] = wrong.json()["detail"]
    assert problem["field"] == "sales_role" and "record 0" not in problem["message"]
    assert "'Closer' is not a sales role of this organization" in problem["message"]
    # Another tenant's role name is unknown here.
    sales_role_save(tenant=org.personas.outsider.tenant, name="Hunter")
    hunter = client.post("/api/v1/members", {"records": [record | {"sales_role": "Hunter"}]},
                         content_type="application/json")  # fmt: skip
    assert hunter.status_code == 422
