"""The isolation matrix: every page and API operation, with every tenant A object it can name,
requested by every persona with GET and a write.

Another tenant's admin (and another tenant's API token) always gets 404 for an id of tenant A
and never sees tenant A's names; inside tenant A each role gets what its views allow (403 for a
page above the role, 404 for an object outside the viewer's part of the tree); nobody ever
gets a 500. Routes come from the URL resolver and the OpenAPI schema, so a new one is requested
here as soon as it exists, and one the tables in ``pages.py`` cannot fill in fails the test.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.test import Client

from goals_project.heartbeat import KEYS, beat_mark
from tests.conftest import Crm, Org, client_for

from .pages import (
    ACCESS,
    FORMS,
    Answer,
    World,
    api_paths_missing_from,
    api_requests,
    expected,
    fetch,
    outcome,
    page_requests,
    world_build,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org: Org, crm: Crm) -> World:
    return world_build(org, crm)


def _schema() -> dict:
    return Client().get("/api/v1/openapi.json").json()


def _leaks(world: World, answer: Answer) -> list[str]:
    """Tenant A's names or emails in an answer to someone outside it."""
    markers = ["Acme", *(member.email for member in world.objects["member"])]
    return [marker for marker in markers if marker in answer.body]


def test_the_matrix_can_fill_in_every_route(world: World) -> None:
    requests, problems = page_requests(world)
    schema = _schema()
    problems += api_requests(world, schema)[1]
    problems += [f"{path}: not in the OpenAPI schema" for path in api_paths_missing_from(schema)]
    assert problems == []
    requested = {request.name for request in requests}
    assert set(ACCESS) - requested == set()  # no stale entries either
    assert {"member_edit", "goal_detail", "ruleset_edit", "api_token_revoke"} <= requested


class Session:
    """A persona's client; its session is put back before each request (a request to log out
    ends it, and the rollback brings back only the database's half)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)

    def fresh(self) -> Client:
        self.client.cookies.clear()
        if self.cookie is not None:
            self.client.cookies[settings.SESSION_COOKIE_NAME] = self.cookie.value
        return self.client


def test_every_page_answers_each_persona_as_its_view_decides(world: World) -> None:
    if settings.REDIS_URL:
        # /healthz answers everyone alike, 200 while the background is alive: what it answers
        # is not this test's question, and the worker's heartbeat may be minutes old by the
        # time a randomly ordered run reaches it.
        for process in KEYS:
            beat_mark(process)
    requests, _ = page_requests(world)
    sessions = {
        name: Session(Client() if member is None else client_for(member))
        for name, member in world.personas.items()
    }
    failures = []
    for request in requests:
        for persona, member in world.personas.items():
            want = expected(request, member)
            form = {**request.query, **FORMS.get(request.name, {})}
            answers = {
                "GET": fetch(sessions[persona].fresh(), "get", request.url, data=form),
                "POST": fetch(
                    sessions[persona].fresh(),
                    "post",
                    f"{request.url}?{urlencode(request.query)}" if request.query else request.url,
                    data=FORMS.get(request.name, {}),
                ),
            }
            for method, answer in answers.items():
                got = outcome(answer.status, answer.location, quote(request.url))
                where = f"{method} {request.url} {request.query or ''} as {persona}"
                if got not in want:
                    failures.append(
                        f"{where}: {answer.status}, not one of {sorted(want)}: {answer.body[:200]}"
                    )
                if persona == "outsider" and (leaked := _leaks(world, answer)):
                    failures.append(f"{where}: shows tenant A's {leaked}")
    assert failures == [], "\n".join(failures)


def test_every_api_operation_keeps_to_the_tokens_tenant(world: World, settings) -> None:  # noqa: ANN001
    requests, _ = api_requests(world, _schema())
    inside = Client(headers={"Authorization": f"Bearer {world.key_a}"})
    outside = Client(headers={"Authorization": f"Bearer {world.key_b}"})
    session = client_for(world.org.admin)  # a logged-in admin without a token
    # Each operation is one failed authentication of the session: more than the per-address
    # limit allows a minute. From an address of its own, so later tests are not held back.
    settings.API_FAILED_AUTH_LIMIT_PER_ADDRESS = 10 * len(requests)
    session.defaults["REMOTE_ADDR"] = "192.0.2.10"
    failures = []
    for request in requests:
        where = f"{request.method.upper()} {request.path}"
        kwargs = {"content_type": "application/json"}
        if request.body is not None:
            kwargs["data"] = request.body
        answers = {
            name: fetch(client, request.method, request.path, **kwargs)
            for name, client in (
                ("A's token", inside),
                ("B's token", outside),
                ("a session", session),
            )
        }
        mine, theirs, cookie = answers["A's token"], answers["B's token"], answers["a session"]
        if (
            mine.status >= 500
            or mine.status in (401, 403)
            or (request.kinds and mine.status == 404)
        ):
            failures.append(f"{where} with A's token: {mine.status} {mine.body[:200]}")
        if (theirs.status != 404) if request.kinds else theirs.status >= 500:
            failures.append(f"{where} with B's token: {theirs.status} {theirs.body[:200]}")
        if leaked := _leaks(world, theirs):
            failures.append(f"{where} with B's token shows tenant A's {leaked}")
        if cookie.status != 401:
            failures.append(f"{where} with a session and no token: {cookie.status}")
    assert failures == [], "\n".join(failures)
