"""Schemathesis against /api/v1/openapi.json: no 500, no response outside the schema.

Every operation of the schema (so new routes are covered without touching this file) gets
generated requests, with a valid token of tenant A.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from hierarchy.services import api_token_create
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

# No 500, and every status, content type and body as the schema says. (Not "every schema-valid
# request is accepted": the schema cannot say that an email must belong to the tenant.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def connection_kept() -> Iterator[None]:
    """Requests here go straight to the WSGI app, whose request_finished would close the test's
    database connection (Django's test client unhooks it the same way)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.usefixtures("connection_kept")
def test_the_api_keeps_to_its_schema(personas: Personas) -> None:
    from goals_project.wsgi import application

    key = api_token_create(tenant=personas.admin.tenant, name="fuzz")[1]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    failures = []
    for found in schema.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:  # noqa: ANN001
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

        try:
            run()
        except BaseException as exc:  # noqa: BLE001  (collected: every operation is reported)
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
