"""A rule that cannot be computed is reported on every path and holds nothing else back."""

from __future__ import annotations

import io
from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from achievements.models import Achievement, GoalComputation
from achievements.receivers import entities_changed
from achievements.services import goal_recompute
from goals.models import Goal
from rulesets.models import GoalRule
from tests.conftest import Org, client_for

pytestmark = pytest.mark.django_db


def _break(org: Org, key: str) -> None:
    """Make one rule of the org's ruleset impossible, as only an edit of the database can
    (saving refuses it): its date field names a custom field that is not declared."""
    with scopes_disabled():
        GoalRule.objects.filter(ruleset=org.ruleset, key=key).update(date_field="custom.gone")


def _values(goal: Goal) -> dict[str, object]:
    with scope(tenant=goal.tenant):
        rows = Achievement.objects.filter(goal=goal, member=goal.team, cycle_index=0)
        return {row.rule.key: row.team_value for row in rows.select_related("rule")}


def _computation(goal: Goal) -> GoalComputation:
    with scopes_disabled():
        return GoalComputation.objects.get(goal=goal)


def test_it_computes_every_other_rule_and_records_the_one_that_failed(org: Org) -> None:
    goal = org.goal()
    org.calls(f"{org.today}T00:30")
    _break(org, "won_value")
    result = goal_recompute(goal.pk)
    assert [(e.key, e.name) for e in result.errors] == [("won_value", "Value of deals won")]
    assert "custom.gone" in result.errors[0].message
    values = _values(goal)
    assert values["dialled_calls"] == 1 and "won_value" not in values
    assert "conversion_rate" in values  # leads, not deals: untouched by the broken rule
    computation = _computation(goal)
    assert computation.computed_at is not None and computation.failed_at is not None
    assert computation.error_lines[0].startswith("Value of deals won could not be computed: ")
    with scopes_disabled():  # repaired: the next run clears the error
        GoalRule.objects.filter(key="won_value").update(date_field="closed_at")
    assert goal_recompute(goal.pk).errors == []
    computation = _computation(goal)
    assert computation.errors == [] and computation.failed_at is None


def test_a_ratio_over_a_failing_rule_says_which_part_failed(org: Org) -> None:
    goal = org.goal()
    with scopes_disabled():
        GoalRule.objects.filter(ruleset=org.ruleset, key="conversion_rate").update(
            numerator="converted"
        )
        numerator = GoalRule.objects.get(ruleset=org.ruleset, key="converted")
        numerator.date_field = "custom.gone"
        numerator.save()
    errors = {e.key: e.message for e in goal_recompute(goal.pk).errors}
    assert set(errors) == {"converted", "conversion_rate"}
    assert errors["conversion_rate"].startswith("its rule 'converted' could not be computed")
    assert _values(goal)["dialled_calls"] == 0


def test_a_query_that_fails_in_the_database_leaves_the_goals_other_rules(org: Org) -> None:
    """The failing query runs in a savepoint: on PostgreSQL an error aborts the transaction,
    and without one the goal's other rules and its write would fail with it."""
    goal = org.goal()
    org.calls(f"{org.today}T00:30")
    from rulesets import compiler

    real = compiler.rule_parts

    def failing(rule, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if rule.key == "won_value":
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM no_such_table")
        return real(rule, **kwargs)

    with mock.patch("achievements.services.rule_parts", failing):
        result = goal_recompute(goal.pk)
    assert [e.key for e in result.errors] == ["won_value"]
    assert _values(goal)["dialled_calls"] == 1


def test_the_status_command_the_goal_pages_and_healthz_show_the_error(org: Org) -> None:
    goal = org.goal()
    _break(org, "won_value")
    goal_recompute(goal.pk)
    out = io.StringIO()
    call_command("goals_status", "--tenant", org.admin.tenant.slug, stdout=out)
    assert "Value of deals won could not be computed: date_field:" in out.getvalue()
    assert "1 live goals, 1 in error." in out.getvalue()
    health = client_for(org.admin).get(reverse("healthz")).json()
    assert health["goals_in_error"] == 1
    for viewer in (org.admin, org.east):
        for page in ("goal_detail", "goal_progress"):
            body = client_for(viewer).get(reverse(page, args=[goal.pk])).content.decode()
            assert "Value of deals won could not be computed" in body, (viewer, page)
    outsider = client_for(org.personas.outsider)
    assert outsider.get(reverse("goal_detail", args=[goal.pk])).status_code == 404


def test_the_recompute_command_goes_past_a_failing_goal_and_exits_non_zero(org: Org) -> None:
    broken = org.goal(name="Broken")
    other_ruleset = org.ruleset.pk
    fine = org.goal(name="Fine", targets=org.draft().targets)
    org.calls(f"{org.today}T00:30")
    assert other_ruleset == fine.ruleset_id
    real = goal_recompute

    def recompute(goal_id: int, **kwargs):  # noqa: ANN003, ANN202
        if goal_id == broken.pk:
            with mock.patch("achievements.services.goal_plan", side_effect=RuntimeError("boom")):
                return real(goal_id, **kwargs)
        return real(goal_id, **kwargs)

    err = io.StringIO()
    with (
        mock.patch(
            "achievements.management.commands.recompute_achievements.goal_recompute", recompute
        ),
        pytest.raises(CommandError, match="1 rules could not be computed"),
    ):
        call_command("recompute_achievements", "--tenant", org.admin.tenant.slug, stderr=err)
    assert f"goal {broken.pk} (" in err.getvalue() and "RuntimeError: boom" in err.getvalue()
    assert _values(fine)["dialled_calls"] == 1
    computation = _computation(broken)
    assert computation.error_lines == ["The goal could not be computed: RuntimeError: boom"]
    assert computation.pending or computation.computed_at is None  # the sweep tries again


@pytest.mark.usefixtures("eager")
def test_in_the_embedded_mode_a_failing_goal_does_not_freeze_the_goals_after_it(
    org: Org, django_capture_on_commit_callbacks
) -> None:
    """A write asks for its goals' recomputes in id order and runs them in-process: the first
    goal failing must not leave every later goal with its old numbers."""
    first, second = org.goal(name="First"), org.goal(name="Second")
    assert first.pk < second.pk
    real = goal_recompute

    def recompute(goal_id: int, **kwargs):  # noqa: ANN003, ANN202
        if goal_id == first.pk:
            raise RuntimeError("a failure before the service could catch it")
        return real(goal_id, **kwargs)

    with (
        mock.patch("achievements.tasks.goal_recompute", recompute),
        django_capture_on_commit_callbacks(execute=True),
    ):
        org.calls(f"{org.today}T00:30")
    assert _values(second)["dialled_calls"] == 1
    assert _computation(first).pending  # still asked for: the sweep will try it


@pytest.mark.usefixtures("eager")
def test_a_broken_rule_does_not_hold_back_a_write_in_the_embedded_mode(
    org: Org, django_capture_on_commit_callbacks
) -> None:
    first, second = org.goal(name="First"), org.goal(name="Second")
    _break(org, "won_value")
    with django_capture_on_commit_callbacks(execute=True):
        org.calls(f"{org.today}T00:30")
    for goal in (first, second):
        assert _values(goal)["dialled_calls"] == 1
        assert [e["rule"] for e in _computation(goal).errors] == ["won_value"]


def test_an_after_commit_hook_that_fails_still_asks_for_the_running_goals(org: Org) -> None:
    goal = org.goal()
    with scopes_disabled():
        GoalComputation.objects.filter(goal=goal).delete()
    with mock.patch(
        "achievements.receivers.goals_affected", side_effect=OverflowError("out of range")
    ):
        now = org.today
        entities_changed(
            None,
            tenant_id=org.admin.tenant_id,
            entity="activity",
            owner_ids=[org.rep.pk],
            start=now,
            end=now + timedelta(days=1),
        )
    assert _computation(goal).requested_at is not None
