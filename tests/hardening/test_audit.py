"""Every administrative change is in the audit log, whichever way it is made: the pages, the API
or a command. Each case makes one change and expects the entry naming the action, who acted
and what changed."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from hierarchy.models import ApiToken, AuditEntry
from hierarchy.services import api_token_create, member_deactivate
from tests.conftest import Org, client_for
from tests.goals.test_views import basics

pytestmark = pytest.mark.django_db


@dataclass
class Desk:
    """The admin at the pages, an API token of the same tenant, and the organization."""

    org: Org
    admin: Client
    api: Client
    files: Path

    def json(self, method: str, path: str, body: object | None = None) -> int:
        kwargs = {"content_type": "application/json"}
        if body is not None:
            kwargs["data"] = body
        return getattr(self.api, method)(path, **kwargs).status_code

    def page(self, name: str, data: dict | None = None, **kwargs: object) -> int:
        url = reverse(name, kwargs=kwargs) if kwargs else reverse(name)
        return self.admin.post(url, data or {}).status_code


@pytest.fixture
def desk(org: Org, tmp_path: Path) -> Desk:
    _, key = api_token_create(tenant=org.admin.tenant, name="CRM sync")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    return Desk(org, client_for(org.admin), api, tmp_path)


def _goal_body(org: Org) -> dict:
    draft = org.draft()
    return {
        "name": "API goal",
        "ruleset": org.ruleset.pk,
        "team": org.east.email,
        "cycle": "monthly",
        "start": str(draft.start),
        "end": str(draft.end),
        "targets": {"dialled_calls": 10},
    }


def _goal_form(org: Org) -> dict:
    return basics(org, name="Page goal") | {
        "target-dialled_calls": "12", "step": "review", "save": "1",
    }  # fmt: skip


RULESET_FORM = {
    "name": "Built",
    "rules-0-key": "calls",
    "rules-0-name": "Calls",
    "rules-0-entity": "activity",
    "rules-0-aggregation": "count",
}
API_RULESET = {"name": "Posted", "rules": [{"key": "calls", "entity": "activity"}]}


def _rules(desk: Desk) -> list[dict]:
    with scope(tenant=desk.org.admin.tenant):
        return [rule.definition() for rule in desk.org.ruleset.rules.all()]


def _token(desk: Desk) -> ApiToken:
    with scope(tenant=desk.org.admin.tenant):
        return ApiToken.objects.get(name="CRM sync")


def _members_csv(desk: Desk, email: str) -> str:
    return f"email,name,role,reports_to,title\n{email},New,rep,{desk.org.east.email},\n"


def _members_file(desk: Desk) -> str:
    path = desk.files / "members.csv"
    path.write_text(_members_csv(desk, "di@example.com"))
    return str(path)


def _deactivated(desk: Desk) -> int:
    member_deactivate(member=desk.org.sdr, actor=desk.org.admin)
    return desk.page("member_reactivate", pk=desk.org.sdr.pk)


# (what is done, how, the action it is logged as, who is named as the actor)
PAGE, TOKEN, COMMAND = "admin", "API token 'CRM sync'", "command line"
CASES: dict[str, tuple[Callable[[Desk], int | None], str, str]] = {
    "add a member": (
        lambda d: d.page(
            "member_add",
            {"name": "Ann", "email": "ann@example.com", "role": "rep"},
            pk=d.org.east.pk,
        ),
        "member.add",
        PAGE,
    ),
    "edit a member": (
        lambda d: d.page(
            "member_edit", {"name": "Rita", "title": "AE", "role": "rep"}, pk=d.org.rep2.pk
        ),
        "member.edit",
        PAGE,
    ),
    "move a member": (
        lambda d: d.page("member_move", {"reports_to": d.org.west.email}, pk=d.org.rep2.pk),
        "member.move",
        PAGE,
    ),
    "deactivate a member": (
        lambda d: d.page("member_deactivate", {"reports_to": ""}, pk=d.org.sdr.pk),
        "member.deactivate",
        PAGE,
    ),
    "reactivate a member": (_deactivated, "member.reactivate", PAGE),
    "import members on the page": (
        lambda d: d.page(
            "members_import",
            {"file": SimpleUploadedFile("m.csv", _members_csv(d, "bo@example.com").encode())},
        ),
        "members.import",
        PAGE,
    ),
    "upsert members through the API": (
        lambda d: d.json(
            "post",
            "/api/v1/members",
            {
                "records": [
                    {"email": "cy@example.com", "name": "Cy", "reports_to": d.org.east.email}
                ]
            },
        ),
        "members.import",
        TOKEN,
    ),
    "import members from the command line": (
        lambda d: call_command(
            "import_members",
            "--tenant",
            d.org.admin.tenant.slug,
            _members_file(d),
            stdout=io.StringIO(),
        ),
        "members.import",
        COMMAND,
    ),
    "create a token on the page": (
        lambda d: d.page("api_tokens", {"name": "Warehouse"}),
        "api_token.create",
        PAGE,
    ),
    "revoke a token on the page": (
        lambda d: d.page("api_token_revoke", pk=_token(d).pk),
        "api_token.revoke",
        PAGE,
    ),
    "create a token from the command line": (
        lambda d: call_command(
            "create_api_token",
            "--tenant",
            d.org.admin.tenant.slug,
            "--name",
            "ETL",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        ),
        "api_token.create",
        COMMAND,
    ),
    "build a ruleset": (lambda d: d.page("ruleset_new", RULESET_FORM), "ruleset.create", PAGE),
    "edit a ruleset": (
        lambda d: d.page("ruleset_edit", RULESET_FORM | {"name": "Renamed"}, pk=d.org.ruleset.pk),
        "ruleset.edit",
        PAGE,
    ),
    "archive a ruleset": (
        lambda d: d.page("ruleset_archive", {"archived": "1"}, pk=d.org.ruleset.pk),
        "ruleset.archive",
        PAGE,
    ),
    "post a ruleset": (
        lambda d: d.json("post", "/api/v1/rulesets", API_RULESET),
        "ruleset.create",
        TOKEN,
    ),
    "replace a ruleset": (
        lambda d: d.json(
            "put",
            f"/api/v1/rulesets/{d.org.ruleset.pk}",
            {"name": "Put", "rules": _rules(d)},
        ),
        "ruleset.edit",
        TOKEN,
    ),
    "restore a ruleset": (
        lambda d: d.json("post", f"/api/v1/rulesets/{d.org.ruleset.pk}/archive?archived=false"),
        "ruleset.restore",
        TOKEN,
    ),
    "delete a ruleset": (
        lambda d: d.json("delete", f"/api/v1/rulesets/{d.org.ruleset.pk}"),
        "ruleset.delete",
        TOKEN,
    ),
    "create a goal in the wizard": (
        lambda d: d.page("goal_new", _goal_form(d.org)),
        "goal.create",
        PAGE,
    ),
    "edit a goal in the wizard": (
        lambda d: d.page("goal_edit", _goal_form(d.org), pk=d.org.goal().pk),
        "goal.edit",
        PAGE,
    ),
    "archive a goal on its page": (
        lambda d: d.page("goal_archive", pk=d.org.goal().pk),
        "goal.archive",
        PAGE,
    ),
    "post a goal": (
        lambda d: d.json("post", "/api/v1/goals", _goal_body(d.org)),
        "goal.create",
        TOKEN,
    ),
    "replace a goal": (
        lambda d: d.json("put", f"/api/v1/goals/{d.org.goal().pk}", _goal_body(d.org)),
        "goal.edit",
        TOKEN,
    ),
    "delete a goal": (
        lambda d: d.json("delete", f"/api/v1/goals/{d.org.goal().pk}"),
        "goal.archive",
        TOKEN,
    ),
    "add an activity type": (
        lambda d: d.json(
            "post", "/api/v1/settings/activity-types", {"name": "Visit", "category": "meeting"}
        ),
        "activity_type.create",
        TOKEN,
    ),
    "set the pipeline": (
        lambda d: d.json(
            "put",
            "/api/v1/settings/stages",
            {"stages": ["Prospect", "Proposal", "Negotiation", "Signed"]},
        ),
        "stages.set",
        TOKEN,
    ),
    "declare a custom field": (
        lambda d: d.json(
            "post", "/api/v1/settings/custom-fields", {"entity": "opportunity", "name": "region"}
        ),
        "custom_field.create",
        TOKEN,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_change_is_in_the_audit_log(desk: Desk, case: str) -> None:
    act, action, actor = CASES[case]
    with scopes_disabled():
        before = set(AuditEntry.objects.values_list("pk", flat=True))
    status = act(desk)  # a status code, or None for a command
    assert status is None or status < 400
    with scopes_disabled():
        entries = AuditEntry.objects.exclude(pk__in=before).filter(action=action)
        (entry,) = entries
    admin = desk.org.admin
    expected = f"{admin.name} <{admin.email}>" if actor == PAGE else actor
    assert entry.actor_label == expected
    assert entry.tenant_id == admin.tenant_id
    assert entry.before or entry.after
