"""The audit log in words: sentences with names, never dicts, ids or action keys."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope
from hypothesis import given
from hypothesis import strategies as st

from hierarchy.audit_text import actor_name, describe, emails_in, number_text
from hierarchy.models import AuditEntry
from tests.conftest import client_for

NAMES = {"ann@acme.example": "Ann Lee", "bo@acme.example": "Bo Ray"}


@pytest.mark.parametrize(
    ("action", "before", "after", "sentence", "changes"),
    [
        (
            "goal.edit",
            {"targets": {"leads_converted": {"amount": "20", "phasing": "even"}}},
            {"targets": {"leads_converted": {"amount": "25", "phasing": "even"}}},
            "Mia changed the target of Weekly pipeline: leads converted 20 → 25.",
            [],
        ),
        (
            "goal.create",
            None,
            {"team": "ann@acme.example", "targets": {"calls": {"amount": "20000.00"}}},
            "Mia created the goal Weekly pipeline.",
            ["team: Ann Lee", "set the target of Weekly pipeline: calls 20,000"],
        ),
        (
            "member.move",
            {"reports_to": "ann@acme.example"},
            {"reports_to": "bo@acme.example"},
            "Mia moved Weekly pipeline to another manager.",
            ["reports to: Ann Lee → Bo Ray"],
        ),
        (
            "member.deactivate",
            {"is_active": True},
            {"is_active": False},
            "Mia deactivated Weekly pipeline.",
            ["active: yes → no"],
        ),
        (
            "ruleset.edit",
            {"rules": [{"key": "calls", "name": "Calls", "entity": "activity"}]},
            {
                "rules": [
                    {"key": "calls", "name": "Calls", "entity": "lead"},
                    {"key": "demos", "name": "Demos"},
                ]
            },
            "Mia changed the ruleset Weekly pipeline.",
            ["changed the rule Calls (entity)", "added the rule Demos"],
        ),
        (
            "goal.edit",
            {"distribution": [{"rule": "calls", "parent": "ann@acme.example", "method": "equal"}]},
            {
                "distribution": [
                    {
                        "rule": "calls",
                        "parent": "ann@acme.example",
                        "method": "percentage",
                        "shares": {"5": "60", "6": "40"},
                    }
                ]
            },
            "Mia changed how calls splits across the team of Ann Lee (percentage).",
            [],
        ),
        (
            "quota.override",
            {"amount": "1200"},
            {"amount": "1500"},
            "Mia changed the quota Weekly pipeline.",
            ["amount: 1,200 → 1,500"],
        ),
        (
            "activity_type.update",
            {"category": "follow_up"},
            {"category": "meeting"},
            "Mia changed the activity type Weekly pipeline.",
            ["category: follow up → meeting"],
        ),
    ],
)
def test_it_puts_each_action_in_words(action, before, after, sentence, changes):
    described = describe(
        action=action,
        actor="Mia",
        target="Weekly pipeline",
        before=before,
        after=after,
        names=NAMES,
    )
    assert (described.sentence, described.changes) == (sentence, changes)


def test_it_strips_the_email_from_an_actor_label():
    assert actor_name("Ann Lee <ann@acme.example>") == "Ann Lee"
    assert actor_name("API token 'CRM sync'") == "API token 'CRM sync'"


def test_it_groups_thousands():
    assert [number_text(n) for n in ("20000", "1250.50", "-3", "x")] == [
        "20,000",
        "1,250.5",
        "-3",
        None,
    ]


def test_it_finds_every_email_of_a_snapshot():
    snapshot = {"team": "Ann@acme.example", "distribution": [{"parent": "bo@acme.example"}]}
    assert emails_in(snapshot) == {"ann@acme.example", "bo@acme.example"}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="abc_ 12@."),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet="abc_", min_size=1), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    action=st.text(alphabet="abcxyz._", max_size=20),
    before=st.none() | st.dictionaries(st.text(alphabet="abc_", min_size=1), JSON, max_size=4),
    after=st.none() | st.dictionaries(st.text(alphabet="abc_", min_size=1), JSON, max_size=4),
)
def test_it_never_shows_a_python_dict_or_list(action, before, after):
    described = describe(action=action, actor="Mia", target="Goal", before=before, after=after)
    for text in [described.sentence, *described.changes]:
        assert not set("{}[]'") & set(text), text
    assert described.sentence.startswith("Mia ") and described.sentence.endswith(".")


@pytest.mark.django_db
def test_the_page_shows_names_and_targets_in_words(personas):
    tenant = personas.admin.tenant
    with scope(tenant=tenant):
        AuditEntry.objects.create(
            tenant=tenant,
            actor=personas.manager,
            actor_label=f"{personas.manager.name} <{personas.manager.email}>",
            action="goal.edit",
            target_type="goal",
            target_id=7,
            target_label="Weekly pipeline",
            before={
                "team": personas.manager.email,
                "targets": {"leads_converted": {"amount": "20"}},
            },
            after={"team": personas.rep.email, "targets": {"leads_converted": {"amount": "25"}}},
        )
        AuditEntry.objects.create(
            tenant=tenant,
            actor=personas.manager,
            actor_label=personas.manager.name,
            action="goal.edit",
            target_label="Weekly pipeline",
            target_type="goal",
            before={"targets": {"calls": {"amount": "1000"}}},
            after={"targets": {"calls": {"amount": "1200"}}},
        )
    page = client_for(personas.admin).get(reverse("audit_log")).content.decode()
    assert f"{personas.manager.name} changed the goal Weekly pipeline." in page
    assert "Changed the target of Weekly pipeline: leads converted 20 → 25" in page
    assert f"{personas.manager.name} changed the target of Weekly pipeline: calls 1,000" in page
    assert f"Team: {personas.manager.name} → {personas.rep.name}" in page
    assert "goal.edit" not in page and "{" not in page.split("<main")[1]
    outsider = client_for(personas.outsider).get(reverse("audit_log")).content.decode()
    assert "Weekly pipeline" not in outsider
    assert client_for(personas.rep).get(reverse("audit_log")).status_code == 403
