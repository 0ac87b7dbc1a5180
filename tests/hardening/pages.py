"""Every page and API operation, found from the URL resolver and the OpenAPI schema, filled in
with tenant A's objects: what the isolation matrix and the escaping test request.

A page that takes an id must be listed in ``ACCESS`` with the kind of object the id names and
who may open it; a new route or a new kind of parameter that the tables here do not know makes
``page_requests`` report it, so the tests fail instead of skipping the route.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_scopes import scope

from crm.ingest import records_upsert
from crm.listings import LISTINGS
from crm.models import (
    Account,
    Activity,
    ActivityType,
    CustomField,
    Lead,
    Opportunity,
    PipelineStage,
    Spend,
    Task,
)
from dashboards.services import dashboard_metric_save, dashboard_save
from goals.models import Goal
from hierarchy.models import Member
from hierarchy.services import api_token_create
from rulesets.presets import PRESETS
from tests.conftest import Crm, Org

ADMIN, MANAGER, REP = Member.Role.ADMIN, Member.Role.MANAGER, Member.Role.REP
ANYONE = frozenset(Member.Role.values)
MANAGERS = frozenset({ADMIN, MANAGER})
ADMINS = frozenset({ADMIN})

Filled = Mapping[str, Model]  # the objects a request names, by kind
Sees = Callable[[Member, Filled], bool]


@dataclass(frozen=True)
class Access:
    """Who may open a page, in the order its view decides: the role (403 for others), then
    the objects it names (404 for what the viewer may not see), then, for the tree editor,
    admins only (403). ``roles=None``: a public page that needs no member."""

    roles: frozenset[str] | None
    pk: str | None = None  # the kind of object the path's pk names
    query: tuple[tuple[str, str], ...] = ()  # ids in the query string: (parameter, kind)
    admins_edit: bool = False
    sees: Sees | None = None  # replaces the default visibility of each named object
    answers: str | None = None  # what the page answers everyone, whoever asks


def _visible(viewer: Member, kind: str, obj: Model) -> bool:
    """Can the viewer see this object, by the rules the views use?"""
    if kind == "member":
        return Member.objects.visible_to(viewer).filter(pk=obj.pk).exists()
    if kind == "goal":
        return Goal.objects.visible_to(viewer).filter(pk=obj.pk).exists()
    return obj.tenant_id == viewer.tenant_id


def _in_goal_team(viewer: Member, goal: Goal, member: Member) -> bool:
    """A member the viewer may see, inside the goal's team."""
    return (
        _visible(viewer, "member", member)
        and Member.objects.subtree(goal.team).filter(pk=member.pk).exists()
    )


def _team_page_sees(viewer: Member, filled: Filled) -> bool:
    """My team offers goals of the viewer's subtree and goals set above them."""
    goals = Goal.objects.visible_to(viewer) | Goal.objects.covering(viewer)
    goal = filled["goal"]
    return goals.live().filter(sales_role=None, pk=goal.pk).exists() and _in_goal_team(
        viewer, goal, filled["member"]
    )


def _progress_sees(viewer: Member, filled: Filled) -> bool:
    """A goal's progress: goals of the viewer's subtree and goals set above them (their part)."""
    goals = Goal.objects.visible_to(viewer) | Goal.objects.covering(viewer)
    return goals.filter(pk=filled["goal"].pk).exists()


def _records_page_sees(viewer: Member, filled: Filled) -> bool:
    """The records behind a number: any goal of the tenant, for a member the viewer sees."""
    goal = filled["goal"]
    return goal.tenant_id == viewer.tenant_id and _in_goal_team(viewer, goal, filled["member"])


def _dashboard_sees(viewer: Member, filled: Filled) -> bool:
    """A dashboard by audience: the tenant's, of the viewer's audience (admins: every one)."""
    dashboard = filled["dashboard"]
    return dashboard.tenant_id == viewer.tenant_id and dashboard.shown_to(viewer)


def _record_sees(viewer: Member, filled: Filled) -> bool:
    """A CRM record's page: records of members the viewer may see."""
    (record,) = filled.values()
    return Member.objects.visible_to(viewer).filter(pk=record.owner_id).exists()


ACCESS: dict[str, Access] = {
    # Public: the set-password link is a one-time secret, not a tenant's object.
    "healthz": Access(None),
    "favicon": Access(None),
    "login": Access(None),
    "logout": Access(None),
    "password_reset_confirm": Access(None),
    "password_reset_complete": Access(None),
    "api:openapi-json": Access(None),
    "api:openapi-view": Access(None),
    # django-ninja's root only names the API's prefix (for reverse()): 404 for everyone.
    "api:api-root": Access(None, answers="404"),
    # Dashboards
    "home": Access(ANYONE),  # a redirect to the landing page of the member's role
    "assigned_to_me": Access(ANYONE),
    "my_team": Access(
        MANAGERS, query=(("goal", "goal"), ("member", "member")), sees=_team_page_sees
    ),
    "member_goals": Access(MANAGERS, pk="member"),
    "goal_progress": Access(MANAGERS, pk="goal", sees=_progress_sees),
    "goal_export": Access(MANAGERS, pk="goal", sees=_progress_sees),
    "company_overview": Access(ADMINS),
    "customers": Access(ADMINS),
    "dashboard_first": Access(ANYONE),
    "audience_dashboard": Access(ANYONE, pk="dashboard", sees=_dashboard_sees),
    "dashboard_manage": Access(ADMINS),
    "dashboard_edit": Access(ADMINS, pk="dashboard"),
    "dashboard_remove": Access(ADMINS, pk="dashboard"),
    "dashboard_split_fields": Access(ADMINS),  # ?rule=<ruleset>:<key>, read in the tenant's scope
    "achievement_records": Access(
        ANYONE,
        query=(("goal", "goal"), ("member", "member"), ("rule", "rule"), ("cycle", "position")),
        sees=_records_page_sees,
    ),
    "rule_breakdown": Access(
        ANYONE,
        query=(("goal", "goal"), ("member", "member"), ("rule", "rule"), ("cycle", "position")),
        sees=_records_page_sees,
    ),
    "rule_trend": Access(
        ANYONE,
        query=(("goal", "goal"), ("member", "member"), ("rule", "rule")),
        sees=_records_page_sees,
    ),  # fmt: skip
    # Goals
    "goal_list": Access(MANAGERS),
    "goal_new": Access(MANAGERS),
    "goal_detail": Access(MANAGERS, pk="goal"),
    "goal_edit": Access(MANAGERS, pk="goal"),
    "goal_archive": Access(MANAGERS, pk="goal"),
    "goal_redistribute": Access(MANAGERS, pk="goal"),
    # Rulesets and the rule builder's partials (below the new page, or an edited ruleset's)
    "ruleset_list": Access(ADMINS),
    "ruleset_new": Access(ADMINS),
    "ruleset_edit": Access(ADMINS, pk="ruleset"),
    "ruleset_archive": Access(ADMINS, pk="ruleset"),
    **{
        f"{partial}_{page}": Access(ADMINS, pk="ruleset" if page == "edit" else None)
        for partial in ("rule_new", "rule_card", "condition_new", "condition_row", "rule_preview")
        + ("preset_cards",)
        for page in ("new", "edit")
    },
    # Organization
    "organization": Access(MANAGERS),
    "member_search": Access(MANAGERS),
    "member_options": Access(MANAGERS),
    "members_import": Access(ADMINS),
    "members_export": Access(ADMINS),
    "audit_log": Access(ADMINS),
    "api_tokens": Access(ADMINS),
    "api_token_revoke": Access(ADMINS, pk="token"),
    "member_detail": Access(ANYONE, pk="member"),
    "member_children": Access(MANAGERS, pk="member"),
    **{
        f"member_{action}": Access(MANAGERS, pk="member", admins_edit=True)
        for action in ("add", "edit", "move", "deactivate", "reactivate")
    },
    # CRM records
    "record_list": Access(MANAGERS),
    "pipeline": Access(ANYONE, query=(("member", "member"), ("stage", "stage"))),
    "account_detail": Access(MANAGERS, pk="account"),
    **{
        f"record_page_{kind}": Access(ANYONE, pk=listing.model._meta.model_name, sees=_record_sees)
        for kind, listing in LISTINGS.items()
        if listing.kind
    },
    # Settings: what records name
    "settings": Access(ADMINS),
    "stage_move": Access(ADMINS, pk="stage"),
    "working_time": Access(ADMINS),
    "company_settings": Access(ADMINS),
    "role_mapping": Access(ADMINS),
    "sales_role_add": Access(ADMINS),
    "role_kpi_add": Access(ADMINS, pk="sales_role"),
    "kpi_activity_types": Access(ADMINS, pk="kpi"),
    **{
        f"{kind}_{page}": Access(ADMINS, pk=None if page == "add" else kind)
        for kind in ("stage", "activity_type", "custom_field")
        for page in ("add", "edit", "delete")
    },
}

# A rule card with a condition row, as the builder posts it, and a preset to add.
BUILDER_FORM = {
    "name": "Calls",
    "rules-0-key": "calls",
    "rules-0-name": "Calls",
    "rules-0-entity": "activity",
    "rules-0-aggregation": "count",
    "rules-0-cond-0-field": "status",
    "rules-0-cond-0-op": "eq",
    "rules-0-cond-0-value": "completed",
    "preset": next(iter(PRESETS)),
}
FORMS = {
    "member_search": {"q": "example"},
    "dashboard_split_fields": {"rule": "1:dialled_calls"},
    "member_options": {"reports_to": "example"},
    **{name: BUILDER_FORM for name in ACCESS if name.endswith(("_new", "_edit"))},
}


@dataclass
class World:
    """Tenant A's objects of every kind a route names, and an API key of each tenant."""

    org: Org
    objects: dict[str, list[Model]]
    key_a: str
    key_b: str

    @property
    def personas(self) -> dict[str, Member | None]:
        p = self.org.personas
        return {
            "anonymous": None,
            "admin": p.admin,
            "manager": p.manager,
            "rep": p.rep,
            "outsider": p.outsider,
        }


def world_build(org: Org, crm: Crm, label: str = "Acme") -> World:
    """Three goals (the manager's team, the company, another manager's team), the ruleset, a
    token and a record of each entity, named with ``label``."""
    admin = org.admin
    goals = [
        org.goal(name=f"{label} east goal"),
        org.goal(actor=admin, team=admin, name=f"{label} company goal"),
        org.goal(actor=admin, team=org.west, name=f"{label} west goal"),
    ]
    kpis = org.goal(actor=admin, team=admin, name=f"{label} SDR KPIs", sales_role=org.sdr_role)
    tenant = admin.tenant
    with scope(tenant=tenant):
        ActivityType.objects.create(tenant=tenant, name="To-do", category="task")
    records = {
        "account": {"external_id": "ACC-acme", "name": f"{label} account", "segment": label},
        "spend": {"external_id": "S-acme", "date": "2025-03-01", "channel": label, "amount": "9"},
        "lead": crm.lead(external_id="L-acme", name=f"{label} lead"),
        "activity": crm.activity(external_id="A-acme", outcome=f"{label} outcome"),
        "opportunity": crm.opportunity(external_id="O-acme", name=f"{label} deal"),
        "task": crm.task(external_id="T-acme", subject=f"{label} task"),
    }
    for entity, record in records.items():
        records_upsert(tenant=tenant, entity=entity, records=[record])
    token, key_a = api_token_create(tenant=tenant, name=f"{label} token", actor=admin)
    _, key_b = api_token_create(tenant=org.personas.outsider.tenant, name="Globex token")
    with scope(tenant=tenant):
        rule = org.ruleset.rules.get(key="dialled_calls")
        kpi = kpis.targets.get()
        dashboard = dashboard_save(tenant=tenant, title=f"{label} managers", audience="managers")
        dashboard_metric_save(dashboard=dashboard, ruleset=org.ruleset, rule_key="dialled_calls",
                              breakdown="type", trend=2)  # fmt: skip
        settings = {
            "stage": [PipelineStage.objects.first()],
            "activity_type": [ActivityType.objects.first()],
            "custom_field": [CustomField.objects.first()],
        }
        by_entity = {
            kind: [model.objects.get(external_id=records[kind]["external_id"])]
            for kind, model in (
                ("lead", Lead),
                ("activity", Activity),
                ("opportunity", Opportunity),
                ("account", Account),
                ("spend", Spend),
                ("task", Task),
            )
        }
    objects: dict[str, list[Model]] = {
        "member": [admin, org.east, org.rep, org.rep2, org.west, org.sdr],
        "goal": goals,
        "ruleset": [org.ruleset],
        "rule": [rule],
        "token": [token],
        "sales_role": [org.sdr_role],
        "dashboard": [dashboard],
        "kpi": [kpi],
        **by_entity,
        **settings,
    }
    return World(org=org, objects=objects, key_a=key_a, key_b=key_b)


@dataclass(frozen=True)
class PageRequest:
    name: str
    url: str
    query: dict[str, str]
    filled: dict[str, Model] = field(hash=False)
    access: Access = field(hash=False)

    @property
    def takes_ids(self) -> bool:
        return bool(self.filled)


def _patterns() -> Iterator[tuple[str | None, URLPattern]]:
    """Every URL pattern with its namespace, except the Django admin's (platform staff only)."""

    def walk(patterns: list, namespace: str | None) -> Iterator[tuple[str | None, URLPattern]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace != "admin":
                    yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern):
                yield namespace, pattern

    yield from walk(get_resolver().url_patterns, None)


def _api_operations() -> Iterator[URLPattern]:
    """The API's operations (its schema and docs pages are pages like the others)."""
    for namespace, pattern in _patterns():
        if namespace == "api" and f"api:{pattern.name}" not in ACCESS:
            yield pattern


def page_requests(world: World) -> tuple[list[PageRequest], list[str]]:
    """A request for every page and every combination of tenant A's objects it can name, and
    the problems: pages or parameters the tables above do not know."""
    requests, problems = [], []
    rep = world.org.rep
    values: dict[str, list[Any]] = {
        "index": [0],
        "row": [0],
        "kind": list(LISTINGS),
        "uidb64": [urlsafe_base64_encode(force_bytes(rep.user_id))],
        "token": ["not-a-valid-token"],
        "position": [0],
    }
    operations = set(_api_operations())
    for namespace, pattern in _patterns():
        if pattern in operations:
            continue  # the API's operations come from its schema (api_requests)
        name = f"{namespace}:{pattern.name}" if namespace else pattern.name or ""
        access = ACCESS.get(name)
        if access is None:
            problems.append(f"{pattern.pattern} ({name}): not in ACCESS, who may open it?")
            continue
        path: dict[str, list[tuple[Any, Model | None]]] = {}
        for parameter in pattern.pattern.converters:
            if parameter == "pk" and access.pk:
                path[parameter] = [(obj.pk, obj) for obj in world.objects[access.pk]]
            elif parameter in values and parameter != "pk":
                path[parameter] = [(value, None) for value in values[parameter]]
            else:
                problems.append(f"{name}: cannot fill in <{parameter}>")
        query = {
            parameter: [(obj.pk, obj) for obj in world.objects[kind]]
            if kind in world.objects
            else [(value, None) for value in values[kind]]
            for parameter, kind in access.query
        }
        names = [*path, *query]
        for combination in itertools.product(*path.values(), *query.values()):
            chosen = dict(zip(names, combination, strict=True))
            filled = {
                (access.pk if name == "pk" else dict(access.query).get(name, name)): obj
                for name, (_, obj) in chosen.items()
                if obj is not None
            }
            url = reverse(name, kwargs={n: chosen[n][0] for n in path})
            query_values = {n: str(chosen[n][0]) for n in query}
            requests.append(PageRequest(name, url, query_values, filled, access))
    return requests, problems


def expected(request: PageRequest, viewer: Member | None) -> set[str]:
    """What the view may answer: "ok" (2xx, 3xx, 405 for a wrong method, 409 for a read-only
    goal), "login" (a redirect to it), "403" or "404"."""
    access = request.access
    if access.answers is not None:
        return {access.answers}
    if access.roles is None:
        return {"ok"}
    if viewer is None:
        return {"login"}
    if any(obj.tenant_id != viewer.tenant_id for obj in request.filled.values()):
        return {"404"}
    if viewer.role not in access.roles:
        return {"403"}
    with scope(tenant=viewer.tenant_id):
        if access.sees is not None:
            seen = access.sees(viewer, request.filled)
        else:
            seen = all(_visible(viewer, kind, obj) for kind, obj in request.filled.items())
    if not seen:
        return {"404"}
    if access.admins_edit and viewer.role != ADMIN:
        return {"403"}
    return {"ok"}


def outcome(status: int, location: str = "", url: str = "") -> str:
    """The class of an answer to ``url``, as ``expected`` names them ("login": to the login
    page, back to the page afterwards)."""
    if status in (403, 404):
        return str(status)
    login = reverse("login")
    if status == 302 and location.startswith(f"{login}?next={url}"):
        return "login"
    if 200 <= status < 400 or status in (405, 409):
        return "ok"
    return str(status)


@dataclass
class Answer:
    status: int
    body: str
    location: str = ""
    content_type: str = ""


def fetch(client: Client, method: str, url: str, **kwargs: Any) -> Answer:
    """One request whose writes are rolled back, so every request sees the same world; an
    exception in the view is a 500 with its message."""
    with transaction.atomic():
        try:
            response = getattr(client, method)(url, **kwargs)
        except Exception as exc:  # noqa: BLE001  (reported as the 500 it would be)
            answer = Answer(500, f"{type(exc).__name__}: {exc}")
        else:
            body = b"".join(response) if response.streaming else response.content
            answer = Answer(response.status_code, body.decode(errors="replace"))
            answer.location = response.get("Location", "")
            answer.content_type = response.get("Content-Type", "")
        transaction.set_rollback(True)
    return answer


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    kinds: tuple[str, ...]  # the kinds of object the path names
    body: Any = None


# The path parameters of the API: which kind of tenant A's object fills each, and with what.
API_PARAMETERS: dict[str, Callable[[str], tuple[str, str]]] = {
    "goal_id": lambda path: ("goal", "pk"),
    "ruleset_id": lambda path: ("ruleset", "pk"),
    "role_id": lambda path: ("sales_role", "pk"),
    "kpi_id": lambda path: ("kpi", "pk"),
    "dashboard_id": lambda path: ("dashboard", "pk"),
    "external_id": lambda path: (
        {kind: listing.model._meta.model_name for kind, listing in LISTINGS.items()}[
            path.split("/")[3]
        ],
        "external_id",
    ),
}


def example(schema: Mapping[str, Any], components: Mapping[str, Any]) -> Any:
    """The smallest instance of a JSON schema: required properties only, the first choice of
    an anyOf, as few items as allowed."""
    if "$ref" in schema:
        return example(components[schema["$ref"].rsplit("/", 1)[1]], components)
    for combined in ("anyOf", "allOf", "oneOf"):
        if combined in schema:
            return example(schema[combined][0], components)
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: example(properties[name], components) for name in schema.get("required", [])}
    if kind == "array":
        return [example(schema.get("items", {}), components)] * schema.get("minItems", 0)
    if kind == "string":
        formats = {"date": "2030-01-01", "date-time": "2030-01-01T00:00:00+00:00"}
        return formats.get(schema.get("format", ""), "x" * max(schema.get("minLength", 1), 1))
    if kind in ("integer", "number"):
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return False
    return None


def api_requests(world: World, schema: Mapping[str, Any]) -> tuple[list[ApiRequest], list[str]]:
    """Every operation of the schema with every tenant A object its path can name (and the
    smallest valid body), and the problems: path parameters the table does not know."""
    components = schema.get("components", {}).get("schemas", {})
    requests, problems = [], []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = None
            if "requestBody" in operation:
                body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
                body = example(body_schema, components)
            choices: list[list[tuple[str, str, str]]] = []
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "path":
                    continue
                name = parameter["name"]
                if name not in API_PARAMETERS:
                    problems.append(f"{method.upper()} {path}: cannot fill in {{{name}}}")
                    break
                kind, attribute = API_PARAMETERS[name](path)
                choices.append(
                    [(name, kind, str(getattr(obj, attribute))) for obj in world.objects[kind]]
                )
            else:
                for combination in itertools.product(*choices):
                    filled = path
                    for name, _, value in combination:
                        filled = filled.replace(f"{{{name}}}", value)
                    kinds = tuple(kind for _, kind, _ in combination)
                    requests.append(ApiRequest(method, filled, kinds, body))
    return requests, problems


def api_paths_missing_from(schema: Mapping[str, Any]) -> list[str]:
    """API routes the schema does not describe (they would escape the matrix)."""
    described = {path.removeprefix("/api/v1/") for path in schema["paths"]}
    routes = {
        str(pattern.pattern).replace("<", "{").replace(">", "}") for pattern in _api_operations()
    }
    return sorted(routes - described)


@dataclass
class Form:
    """A form of a page as a browser would send it: where, how, and its fields' values."""

    method: str
    action: str
    fields: dict[str, str]


class _FormParser(HTMLParser):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url, self.forms, self._open = url, [], None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            action = found.get("hx-post") or found.get("action") or self.url
            method = "post" if "hx-post" in found else found.get("method", "get").lower()
            self._open = Form(method, action, {})
            self.forms.append(self._open)
        elif self._open is not None and tag in ("input", "select", "textarea"):
            name = found.get("name")
            kind = found.get("type", "text")
            if name and kind not in ("submit", "button", "file", "checkbox", "radio"):
                self._open.fields.setdefault(name, found.get("value", ""))
                self._select = name if tag == "select" else None
        elif tag == "option" and self._open is not None and self._select:
            self._open.fields[self._select] = self._open.fields[self._select] or found.get(
                "value", ""
            )

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def page_forms(client: Client, url: str) -> list[Form]:
    """The forms a page shows (GET), with the values they are filled in with."""
    response = client.get(url)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return []
    parser = _FormParser(url)
    parser.feed(response.content.decode())
    return [form for form in parser.forms if form.fields]


def field_paths(
    schema: Mapping[str, Any], components: Mapping[str, Any], path: tuple = ()
) -> Iterator[tuple]:
    """The path of every field a JSON schema describes (an array's through its first item),
    optional fields included."""
    if "$ref" in schema:
        yield from field_paths(components[schema["$ref"].rsplit("/", 1)[1]], components, path)
        return
    for combined in ("anyOf", "allOf", "oneOf"):
        for part in schema.get(combined, []):
            yield from field_paths(part, components, path)
    kind = schema.get("type")
    if kind == "object" and schema.get("properties"):
        for name, inner in schema["properties"].items():
            yield from field_paths(inner, components, (*path, name))
    elif kind == "array":
        yield from field_paths(schema.get("items", {}), components, (*path, 0))
    elif path:
        yield path


def with_value(body: Any, path: tuple, value: Any) -> Any:
    """A copy of ``body`` with ``value`` at ``path``, containers made as needed."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(body) if isinstance(body, list) and body else [{}]
        items[0] = with_value(items[0], rest, value)
        return items
    mapping = dict(body) if isinstance(body, dict) else {}
    mapping[head] = with_value(mapping.get(head), rest, value)
    return mapping
