"""Saving goals: the rules of change, permissions, distribution checks, audit, KPI templates."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope, scopes_disabled

from goals.models import Goal
from goals.services import SplitInput, TargetInput, goal_archive, goal_plan, goal_save
from hierarchy.models import AuditEntry
from hierarchy.services import member_update
from rulesets.presets import preset_rules
from rulesets.services import ruleset_delete, ruleset_save
from tests.conftest import Org
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def errors_of(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {name: " ".join(messages) for name, messages in excinfo.value.message_dict.items()}


def targets_in_first_cycle(goal: Goal, key: str = "dialled_calls") -> dict[str, tuple]:
    plan = goal_plan(goal)
    rule = next(rule for rule in plan.rules if rule.key == key)
    shares = plan.cycle_targets(rule, plan.cycles[1 if len(plan.cycles) > 1 else 0])
    return {plan.tree.members[pk].name: (t.own, t.team) for pk, t in shares.items()}


def test_a_manager_creates_a_goal_for_their_team_and_it_is_audited(org: Org) -> None:
    goal = org.goal(
        splits=[
            SplitInput(org.east, "percentage", {org.rep.pk: Decimal(60), org.rep2.pk: Decimal(40)})
        ]
    )
    assert goal.created_by == org.east and not goal.backfilled
    assert goal.status == Goal.Status.IN_PROGRESS
    shares = targets_in_first_cycle(goal)  # the second month is a full cycle
    assert shares[org.east.name] == (None, Decimal(100))
    assert shares[org.rep.name] == (Decimal(60), Decimal(60))
    assert shares[org.rep2.name] == (Decimal(40), Decimal(40))
    with scope(tenant=org.admin.tenant):
        entry = AuditEntry.objects.select_related("actor").get(action="goal.create")
    assert entry.actor == org.east and entry.before is None
    assert entry.after["targets"] == {"dialled_calls": {"amount": "100.00", "phasing": []}}
    assert entry.after["distribution"][0]["shares"] == {
        str(org.rep.pk): "60",
        str(org.rep2.pk): "40",
    }


def test_percentages_that_miss_100_are_refused_with_the_gap(org: Org) -> None:
    split = SplitInput(org.east, "percentage", {org.rep.pk: Decimal(60), org.rep2.pk: Decimal(30)})
    with pytest.raises(ValidationError) as excinfo:
        org.goal(splits=[split])
    message = errors_of(excinfo)["distribution.0"]
    assert "Percentages add up to 90%: 10 short of 100%." in message
    with scope(tenant=org.admin.tenant):
        assert not Goal.objects.exists()


def test_custom_amounts_that_do_not_add_up_name_the_difference(org: Org) -> None:
    split = SplitInput(
        org.east, "custom", {org.rep.pk: Decimal(70), org.rep2.pk: Decimal(20)}, "dialled_calls"
    )
    with pytest.raises(ValidationError) as excinfo:
        org.goal(splits=[split])
    assert "10 short of the team target of 100" in errors_of(excinfo)["distribution.0"]


def test_custom_amounts_need_a_rule(org: Org) -> None:
    split = SplitInput(org.east, "custom", {org.rep.pk: Decimal(50), org.rep2.pk: Decimal(50)})
    with pytest.raises(ValidationError) as excinfo:
        org.goal(splits=[split])
    assert "per rule" in errors_of(excinfo)["distribution.0"]


def test_back_dating_is_refused_to_managers_and_to_admins_without_backfill(org: Org) -> None:
    past = org.today - timedelta(days=40)
    with pytest.raises(ValidationError) as excinfo:
        org.goal(start=past)
    assert "is in the past" in errors_of(excinfo)["start"]
    with pytest.raises(ValidationError) as excinfo:
        org.goal(start=past, backfill=True)
    assert "Only an admin" in errors_of(excinfo)["backfill"]
    with pytest.raises(ValidationError) as excinfo:
        org.goal(actor=org.admin, start=past)
    assert "backfill" in errors_of(excinfo)["start"]
    goal = org.goal(actor=org.admin, start=past, backfill=True)
    assert goal.backfilled


def test_an_ended_goal_is_read_only(org: Org) -> None:
    start = org.today - timedelta(days=60)
    goal = org.goal(actor=org.admin, start=start, end=start + timedelta(days=10), backfill=True)
    assert goal.status == Goal.Status.ENDED
    with pytest.raises(ValidationError) as excinfo:
        goal_save(draft=org.draft(name="Renamed", start=goal.start, end=goal.end), goal=goal,
                  actor=org.admin)  # fmt: skip
    assert "read-only" in errors_of(excinfo)["goal"]
    with pytest.raises(ValidationError):
        goal_archive(goal=goal, actor=org.admin)


def test_editing_a_goal_in_progress_keeps_its_frame_and_audits_before_and_after(org: Org) -> None:
    goal = org.goal()
    draft = org.draft(
        name="East calls (raised)", targets={"dialled_calls": TargetInput(Decimal(120))}
    )
    goal = goal_save(draft=draft, goal=goal, actor=org.east)
    assert targets_in_first_cycle(goal)[org.rep.name] == (Decimal(60), Decimal(60))
    with scope(tenant=org.admin.tenant):
        entry = AuditEntry.objects.get(action="goal.edit")
    assert entry.before["name"] == "East calls" and entry.after["name"] == "East calls (raised)"
    assert entry.before["targets"]["dialled_calls"]["amount"] == "100.00"
    assert entry.after["targets"]["dialled_calls"]["amount"] == "120.00"
    with pytest.raises(ValidationError) as excinfo:
        goal_save(draft=org.draft(team=org.personas.admin), goal=goal, actor=org.admin)
    assert "cannot change" in errors_of(excinfo)["team"]


def test_archiving_keeps_the_goal(org: Org) -> None:
    goal = goal_archive(goal=org.goal(), actor=org.east)
    assert goal.status == Goal.Status.ARCHIVED
    with scope(tenant=org.admin.tenant):
        assert Goal.objects.filter(pk=goal.pk).exists()
        assert AuditEntry.objects.filter(action="goal.archive", target_id=goal.pk).exists()


def test_managers_set_goals_only_for_their_own_subtree_and_reps_for_nobody(org: Org) -> None:
    with pytest.raises(ValidationError) as excinfo:
        org.goal(team=org.west)
    assert "your own team" in errors_of(excinfo)["team"]
    with pytest.raises(ValidationError):
        org.goal(actor=org.rep, team=org.rep)
    assert org.goal(actor=org.admin, team=org.west).team == org.west


def test_unknown_rules_and_bad_amounts_are_all_reported_at_once(org: Org) -> None:
    targets = {
        "dialled_calls": TargetInput(Decimal("10.5")),
        "nope": TargetInput(Decimal(1)),
    }
    with pytest.raises(ValidationError) as excinfo:
        org.goal(targets=targets, name=" ")
    errors = errors_of(excinfo)
    assert set(errors) >= {"name", "targets.nope"}


def test_numbers_too_large_to_store_are_refused_by_field(org: Org) -> None:
    """Every caller (pages, API, code) meets the same limit before any arithmetic."""
    targets = {
        "dialled_calls": TargetInput(Decimal("1e30")),
        "won_value": TargetInput(Decimal(100), phasing=(Decimal("Infinity"),)),
    }
    huge = SplitInput(org.east, "custom", {org.rep.pk: Decimal("1e15")}, rule="dialled_calls")
    with pytest.raises(ValidationError) as excinfo:
        org.goal(targets=targets, splits=[huge])
    errors = errors_of(excinfo)
    assert errors["targets.dialled_calls"] == "A target is a number below 1,000,000,000,000,000."
    assert errors["targets.won_value"] == errors["targets.dialled_calls"]
    assert errors["distribution.0"] == "Shares are numbers below 1,000,000,000,000,000."


def test_a_ratio_target_is_held_by_everyone(org: Org) -> None:
    goal = org.goal(targets={"conversion_rate": TargetInput(Decimal("25.5"))})
    shares = targets_in_first_cycle(goal, "conversion_rate")
    assert shares[org.rep.name] == (Decimal("25.5"), Decimal("25.5"))
    assert shares[org.east.name] == (None, Decimal("25.5"))


def test_a_ruleset_used_by_a_goal_cannot_be_deleted_nor_its_rule_removed(org: Org) -> None:
    org.goal()
    with pytest.raises(ValidationError) as excinfo:
        ruleset_delete(ruleset=org.ruleset)
    assert "used by goals ('East calls')" in errors_of(excinfo)["ruleset"]
    with pytest.raises(ValidationError) as excinfo:
        ruleset_save(tenant=org.admin.tenant, name="Sales basics", ruleset=org.ruleset,
                     rules=preset_rules("won_value", currency="USD"))  # fmt: skip
    assert "used by goals" in errors_of(excinfo)["rules"]


def test_a_sales_roles_kpis_follow_who_holds_the_role(org: Org) -> None:
    goal = org.goal(
        actor=org.admin,
        team=org.admin,
        name="SDR weekly",
        cycle="weekly",
        sales_role=org.sdr_role,
        targets={"dialled_calls": TargetInput(Decimal(60))},
    )
    assert targets_in_first_cycle(goal)[org.sdr.name] == (Decimal(60), Decimal(60))
    newcomer = MemberFactory(reports_to=org.west, sales_role=org.sdr_role, name="New SDR")
    shares = targets_in_first_cycle(goal)
    assert shares[newcomer.name] == (Decimal(60), Decimal(60))
    assert shares[org.west.name] == (None, Decimal(120))
    assert shares[org.rep.name] == (None, Decimal(0))
    member_update(member=org.sdr, name=org.sdr.name, title="AE", role=org.sdr.role, sales_role=None)
    assert targets_in_first_cycle(goal)[org.sdr.name] == (None, Decimal(0))


def test_a_goals_plan_reads_its_team_without_its_people(
    org: Org, django_assert_num_queries
) -> None:
    """What a recompute reads: rules, targets, splits and the tree's ids and roles; the
    members as models only when a page asks for them."""
    goal = org.goal(actor=org.admin, team=org.admin, sales_role=org.sdr_role,
                    targets={"dialled_calls": TargetInput(Decimal(60))})  # fmt: skip
    with django_assert_num_queries(4):
        plan = goal_plan(goal)
    assert plan.holders == {org.sdr.pk}
    email = org.sdr.email
    with django_assert_num_queries(1):
        assert plan.tree.members[org.sdr.pk].user.email == email


def test_only_admins_set_a_sales_roles_kpis(org: Org) -> None:
    with pytest.raises(ValidationError) as excinfo:
        org.goal(sales_role=org.sdr_role)
    assert "Only an admin" in errors_of(excinfo)["sales_role"]


def test_a_ruleset_in_use_is_archived_instead(org: Org) -> None:
    from django.test import Client

    from hierarchy.services import api_token_create
    from tests.conftest import client_for

    org.goal()
    admin = client_for(org.admin)
    assert admin.post(f"/rulesets/{org.ruleset.pk}/archive/").status_code == 302
    with scopes_disabled():
        org.ruleset.refresh_from_db()
    assert org.ruleset.is_archived
    form = client_for(org.east).get("/goals/new/").context["form"]
    assert org.ruleset not in form.fields["ruleset"].queryset  # no new goals on it
    _, key = api_token_create(tenant=org.admin.tenant, name="sync")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    restored = api.post(f"/api/v1/rulesets/{org.ruleset.pk}/archive?archived=false")
    assert restored.status_code == 200 and restored.json()["is_archived"] is False
    refused = api.delete(f"/api/v1/rulesets/{org.ruleset.pk}")
    assert refused.status_code == 409
    assert "archive the ruleset instead" in refused.json()["detail"][0]["message"]
    assert client_for(org.east).post(f"/rulesets/{org.ruleset.pk}/archive/").status_code == 403
