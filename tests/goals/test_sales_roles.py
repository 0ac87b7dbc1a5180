"""Sales roles: members given a role hold its KPIs from the next cycle (or at once when an
admin says so), leaving one keeps the running cycle's targets, and every change is audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django_scopes import scope

from goals.models import Goal
from goals.quotas import shown_targets
from goals.roles import kpi_activity_types_set, role_kpi_add, role_mapping
from goals.services import TargetInput, goal_plan
from hierarchy.models import AuditEntry, SalesRole
from hierarchy.services import member_create, member_update, sales_role_save
from tests.conftest import Org
from tests.factories import TenantFactory

ZONE = ZoneInfo(TenantFactory.time_zone)
MONDAY = datetime(2027, 3, 1, 9, 0, tzinfo=ZONE)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sdr_kpis(org: Org, clock: time_machine.Coordinates) -> Goal:
    """The SDR role's weekly KPI from this Monday: 60 dialled calls each."""
    return org.goal(
        actor=org.admin,
        team=org.admin,
        name="SDR weekly",
        cycle="weekly",
        start=date(2027, 3, 1),
        end=date(2027, 3, 28),
        sales_role=org.sdr_role,
        targets={"dialled_calls": TargetInput(Decimal(60))},
    )


def own_targets(goal: Goal, index: int) -> dict[str, Decimal | None]:
    """Each member's own target of dialled calls in the cycle, as the goal's pages show it."""
    plan = goal_plan(goal)
    table, _stored = shown_targets(goal, plan, plan.cycles[index])
    names = {pk: member.name for pk, member in plan.tree.members.items()}
    return {
        names[pk]: targets["dialled_calls"].own
        for pk, targets in table.items()
        if "dialled_calls" in targets and targets["dialled_calls"].own is not None
    }


def give(org: Org, member, role: SalesRole | None, at_once: bool = False) -> None:  # noqa: ANN001
    member_update(member=member, name=member.name, title=member.title, role=member.role,
                  sales_role=role, sales_role_at_once=at_once, actor=org.admin)  # fmt: skip


def test_a_member_given_a_role_holds_its_kpis_from_the_next_cycle(org: Org, sdr_kpis: Goal) -> None:
    give(org, org.rep, org.sdr_role)
    assert own_targets(sdr_kpis, 0) == {org.sdr.name: Decimal(60)}
    assert own_targets(sdr_kpis, 1) == {org.rep.name: Decimal(60), org.sdr.name: Decimal(60)}


def test_a_running_cycle_not_stored_yet_is_kept_before_the_change(org: Org, clock) -> None:  # noqa: ANN001
    """A goal that started while nobody computed it: the change still holds from the next
    cycle, as the running cycle's quotas are stored as they stood first."""
    goal = org.goal(actor=org.admin, team=org.admin, name="SDR weekly", cycle="weekly",
                    start=date(2027, 3, 1), end=date(2027, 3, 28), sales_role=org.sdr_role,
                    targets={"dialled_calls": TargetInput(Decimal(60))})  # fmt: skip
    with scope(tenant=goal.tenant_id):
        goal.quotas.all().delete()
    give(org, org.rep, org.sdr_role)
    assert own_targets(goal, 0) == {org.sdr.name: Decimal(60)}


def test_at_once_a_role_counts_in_the_running_cycle_too(org: Org, sdr_kpis: Goal) -> None:
    give(org, org.rep, org.sdr_role, at_once=True)
    assert own_targets(sdr_kpis, 0) == {org.rep.name: Decimal(60), org.sdr.name: Decimal(60)}
    with scope(tenant=org.admin.tenant):
        edit = AuditEntry.objects.filter(action="member.edit", target_id=org.rep.pk).get()
        rederived = AuditEntry.objects.get(action="goal.role_holders", target_id=sdr_kpis.pk)
    assert (edit.before["sales_role"], edit.after["sales_role"]) == (None, "SDR")
    assert edit.after["sales_role_at_once"] is True
    assert rederived.before["quotas"][org.rep.email]["dialled_calls"][0] is None
    assert rederived.after["quotas"][org.rep.email]["dialled_calls"][0] == "60.00"


def test_leaving_a_role_keeps_the_running_cycles_targets(org: Org, sdr_kpis: Goal) -> None:
    give(org, org.sdr, None)
    assert own_targets(sdr_kpis, 0) == {org.sdr.name: Decimal(60)}
    assert own_targets(sdr_kpis, 1) == {}
    give(org, org.rep, org.sdr_role)
    give(org, org.rep, None, at_once=True)  # at once: the running cycle follows too
    assert own_targets(sdr_kpis, 0) == {}


def test_moving_between_roles_follows_both(org: Org, sdr_kpis: Goal) -> None:
    tenant = org.admin.tenant
    ae = sales_role_save(tenant=tenant, name="Account executive", actor=org.admin)
    ae_kpis = org.goal(actor=org.admin, team=org.admin, name="AE weekly", cycle="weekly",
                       start=date(2027, 3, 1), end=date(2027, 3, 28), sales_role=ae,
                       targets={"dialled_calls": TargetInput(Decimal(30))})  # fmt: skip
    give(org, org.sdr, ae)
    assert own_targets(sdr_kpis, 0) == {org.sdr.name: Decimal(60)}
    assert own_targets(ae_kpis, 0) == {}
    assert own_targets(sdr_kpis, 1) == {}
    assert own_targets(ae_kpis, 1) == {org.sdr.name: Decimal(30)}


def test_a_new_member_with_a_role_holds_from_the_next_cycle(org: Org, sdr_kpis: Goal) -> None:
    new = member_create(tenant=org.admin.tenant, email="nia@example.com", name="Nia New",
                        reports_to=org.west, sales_role=org.sdr_role, actor=org.admin)  # fmt: skip
    assert own_targets(sdr_kpis, 0) == {org.sdr.name: Decimal(60)}
    assert own_targets(sdr_kpis, 1)[new.name] == Decimal(60)
    with scope(tenant=org.admin.tenant):
        added = AuditEntry.objects.get(action="member.add", target_id=new.pk)
    assert added.after["sales_role"] == "SDR"


def test_a_role_name_is_unique_in_any_case_and_audited(org: Org) -> None:
    tenant = org.admin.tenant
    with pytest.raises(ValidationError) as refused:
        sales_role_save(tenant=tenant, name=" sdr ", actor=org.admin)
    assert refused.value.message_dict == {"name": ["There is already a sales role called 'sdr'."]}
    with pytest.raises(ValidationError) as refused:
        sales_role_save(tenant=tenant, name="  ", actor=org.admin)
    assert refused.value.message_dict == {"name": ["A sales role needs a name."]}
    role = sales_role_save(tenant=tenant, name="Account manager", description="Renewals",
                           actor=org.admin)  # fmt: skip
    sales_role_save(
        tenant=tenant, role=role, name="Account manager", description="Renewals", actor=org.admin
    )  # fmt: skip  (no change: no entry)
    sales_role_save(tenant=tenant, role=role, name="AM", description="Renewals", actor=org.admin)
    with scope(tenant=tenant):
        entries = AuditEntry.objects.filter(target_type="salesrole").order_by("pk")
        assert [(e.action, (e.before or {}).get("name"), e.after["name"]) for e in entries] == [
            ("sales_role.create", None, "Account manager"),
            ("sales_role.edit", "Account manager", "AM"),
        ]
    # Another tenant may call a role the same.
    other = org.personas.outsider.tenant
    assert sales_role_save(tenant=other, name="SDR").tenant_id == other.pk


def test_another_tenants_role_is_refused(org: Org) -> None:
    other = sales_role_save(tenant=org.personas.outsider.tenant, name="Closer")
    with pytest.raises(ValidationError) as refused:
        give(org, org.rep, other)
    assert "same organization" in refused.value.message_dict["sales_role"][0]
    with pytest.raises(ValidationError) as refused:
        org.goal(actor=org.admin, team=org.admin, sales_role=other)
    assert refused.value.message_dict["sales_role"] == ["Unknown sales role."]


def test_a_kpi_added_to_a_role_is_a_target_of_its_goal(org: Org, sdr_kpis: Goal) -> None:
    with scope(tenant=org.admin.tenant):
        won = org.ruleset.rules.get(key="won_value")
        calls = org.ruleset.rules.get(key="dialled_calls")
    goal = role_kpi_add(role=org.sdr_role, rule=won, amount=Decimal(5000), cycle="weekly",
                        end=date(2027, 3, 28), actor=org.admin)  # fmt: skip
    assert goal.pk == sdr_kpis.pk  # the role's goal of that ruleset and cycle
    with pytest.raises(ValidationError) as refused:
        role_kpi_add(role=org.sdr_role, rule=calls, amount=Decimal(1), cycle="weekly",
                     end=date(2027, 3, 28), actor=org.admin)  # fmt: skip
    assert refused.value.message_dict["rule"] == [
        "Dialled calls is already a KPI of SDR (SDR weekly)."
    ]
    monthly = role_kpi_add(role=org.sdr_role, rule=calls, amount=Decimal(250), cycle="monthly",
                           end=date(2027, 12, 31), actor=org.admin)  # fmt: skip
    assert (monthly.sales_role_id, monthly.cycle, monthly.start) == (
        org.sdr_role.pk, "monthly", date(2027, 3, 1))  # fmt: skip
    [row] = role_mapping(org.admin.tenant)
    assert row.holders == 1
    assert [(k.goal.name, k.rule.key, k.target.amount) for k in row.kpis] == [
        ("SDR KPIs: Sales basics, monthly", "dialled_calls", Decimal(250)),
        ("SDR weekly", "dialled_calls", Decimal(60)),
        ("SDR weekly", "won_value", Decimal(5000)),
    ]
    assert [k.activity_types for k in row.kpis] == [[], [], None]


def test_mapping_a_kpi_to_activity_types_is_the_rules_type_condition(
    org: Org, sdr_kpis: Goal
) -> None:
    with scope(tenant=org.admin.tenant):
        calls = org.ruleset.rules.get(key="dialled_calls")
        won = org.ruleset.rules.get(key="won_value")
    before = list(calls.conditions)
    mapped = kpi_activity_types_set(rule=calls, types=["demo", "Call", "Call"], actor=org.admin)
    assert mapped.conditions == [*before, {"field": "type", "op": "in", "value": ["Demo", "Call"]}]
    [row] = role_mapping(org.admin.tenant)
    assert row.kpis[0].activity_types == ["Demo", "Call"]
    again = kpi_activity_types_set(rule=mapped, types=["Email"], actor=org.admin)
    assert again.conditions == [*before, {"field": "type", "op": "in", "value": ["Email"]}]
    assert kpi_activity_types_set(rule=again, types=[], actor=org.admin).conditions == before
    with scope(tenant=org.admin.tenant):
        edits = AuditEntry.objects.filter(action="ruleset.edit", target_id=org.ruleset.pk)
        assert edits.count() == 3
    with pytest.raises(ValidationError) as refused:
        kpi_activity_types_set(rule=calls, types=["Carrier pigeon"], actor=org.admin)
    assert refused.value.message_dict["activity_types"] == [
        "Carrier pigeon: not an activity type of this organization (Settings lists them)."
    ]  # another tenant's type is unknown here
    with pytest.raises(ValidationError) as refused:
        kpi_activity_types_set(rule=won, types=["Call"], actor=org.admin)
    assert "only a KPI over activities" in refused.value.message_dict["activity_types"][0]
