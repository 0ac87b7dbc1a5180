"""HTML and script in every name a tenant can give is shown as text, never run.

Members, titles, goals, the ruleset and its rules, activity types, pipeline stages, leads,
opportunities, activity outcomes, custom field choices and tokens are all named with markup;
then every page (found from the URL resolver, as in the isolation matrix) is read by each role
of the tenant, and the notices that repeat a name after a change are read too.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope

from achievements.services import goal_recompute
from crm.ingest import records_upsert
from crm.models import ActivityType, CustomField, PipelineStage
from hierarchy.services import member_update
from rulesets.services import ruleset_save
from tests.conftest import Crm, Org, client_for

from .pages import FORMS, World, fetch, page_requests, world_build

pytestmark = pytest.mark.django_db

HOSTILE = '"><script>alert(1)</script>'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
RAW = "<script>alert("

# Pages that show names: each must show the escaped markup, or the test would prove nothing.
SHOWN_ON = {
    "assigned_to_me",
    "my_team",
    "member_goals",
    "goal_progress",
    "company_overview",
    "achievement_records",
    "goal_list",
    "goal_detail",
    "goal_edit",
    "ruleset_list",
    "ruleset_edit",
    "organization",
    "member_search",
    "member_detail",
    "audit_log",
    "api_tokens",
    "record_list",
    "account_detail",
}


@pytest.fixture
def hostile(org: Org, crm: Crm) -> World:
    tenant = org.admin.tenant
    with scope(tenant=tenant):
        ActivityType.objects.create(tenant=tenant, name=f"Call {HOSTILE}", category="call")
        PipelineStage.objects.create(tenant=tenant, name=f"Won {HOSTILE}", position=9)
        CustomField.objects.create(
            tenant=tenant, entity="lead", name="segment", type="choice", choices=[HOSTILE]
        )
        rules = [
            rule.definition() | {"name": f"{rule.name} {HOSTILE}"}
            for rule in org.ruleset.rules.all()
        ]
    rules.append(
        {
            "key": "segment_leads",
            "name": f"Leads {HOSTILE}",
            "entity": "lead",
            "conditions": [{"field": "custom.segment", "op": "eq", "value": HOSTILE}],
        }
    )
    ruleset_save(
        tenant=tenant,
        name=f"Sales {HOSTILE}",
        description=HOSTILE,
        rules=rules,
        ruleset=org.ruleset,
        actor=org.admin,
    )
    world = world_build(org, crm, label=HOSTILE)
    for member in world.objects["member"]:
        member_update(
            member=member,
            name=f"{member.name} {HOSTILE}",
            title=HOSTILE,
            role=member.role,
            actor=org.admin,
        )
    records = {
        "lead": [
            crm.lead(
                external_id="L-2",
                name=HOSTILE,
                source=HOSTILE,
                attributes={"segment": HOSTILE, "notes": HOSTILE},
            )
        ],
        "activity": [crm.activity(external_id="A-2", type=f"Call {HOSTILE}", status="completed")],
        "opportunity": [crm.opportunity(external_id="O-2", stage=f"Won {HOSTILE}")],
    }
    for entity, batch in records.items():
        records_upsert(tenant=tenant, entity=entity, records=batch)
    for goal in world.objects["goal"]:
        goal_recompute(goal.pk)
    return world


def test_every_page_shows_names_as_text(hostile: World) -> None:
    requests, problems = page_requests(hostile)
    assert problems == []
    unescaped, shown = [], set()
    for persona in ("admin", "manager", "rep"):
        client = client_for(hostile.personas[persona])
        for request in requests:
            form = {**request.query, **FORMS.get(request.name, {})}
            answer = fetch(client, "get", request.url, data=form)
            assert answer.status < 500, f"{request.url} as {persona}: {answer.body[:300]}"
            if not answer.content_type.startswith("text/html"):
                continue  # CSV exports and JSON carry names as data, for programs
            if RAW in answer.body:
                unescaped.append(f"{request.url} {request.query} as {persona}")
            if ESCAPED in answer.body:
                shown.add(request.name)
    assert unescaped == []
    assert SHOWN_ON - shown == set()


def test_notices_after_a_change_show_names_as_text(hostile: World) -> None:
    admin = client_for(hostile.org.admin)
    goal = hostile.objects["goal"][0]
    archived = admin.post(reverse("goal_archive", args=[goal.pk]), follow=True).content.decode()
    rep = hostile.org.rep
    saved = admin.post(
        reverse("member_edit", args=[rep.pk]),
        {"name": rep.name + HOSTILE, "title": "", "role": "rep"},
        follow=True,
    ).content.decode()
    for page in (archived, saved):
        assert ESCAPED in page and RAW not in page
