"""Issue 16's probe, replayed against production: gunicorn with DEBUG off behind a TLS proxy,
connected as the application role under row-level security, collected static files. The
findings that were fixed below the HTTP layer (the lockout, extreme dates, the last admin,
lengths, formula cells, another tenant's email) must hold there too: no 500 and no hang."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django_scopes import scope, scopes_disabled

from hierarchy.models import Member
from hierarchy.services import api_token_create
from tests.conftest import Crm
from tests.factories import PASSWORD
from tests.processes import gunicorn, skip_or_fail  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

APP_PASSWORD = "goals_app"  # `.ci/run`: database_roles --app-password goals_app


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # noqa: ANN001
    """Passwords the server can check: its hashers are production's, not the suite's MD5."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("static")
    environ = {"STATIC_ROOT": str(root), "DEBUG": "0", "SECRET_KEY": "probe", "ALLOWED_HOSTS": "x"}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=settings.BASE_DIR,
        env=os.environ | environ,
        check=True,
    )
    return root


def app_role_url() -> str:
    """The test database as the application role, or skip (fail in CI) without the role."""
    if connection.vendor != "postgresql":
        skip_or_fail("the application role needs PostgreSQL (DATABASE_URL)")
    db = connection.settings_dict
    role = settings.DATABASE_APP_ROLE
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    try:
        psycopg2.connect(
            host=host, port=port, dbname=db["NAME"], user=role, password=APP_PASSWORD
        ).close()
    except psycopg2.OperationalError as exc:
        skip_or_fail(f"cannot connect as {role} (manage.py database_roles): {exc}".strip())
    return f"postgres://{role}:{APP_PASSWORD}@{host}:{port}/{db['NAME']}"


class Browser:
    """A client of the production server through its TLS proxy: every request says https,
    cookies are kept (Secure ones too: the proxy's leg is plain HTTP), forms carry the CSRF
    token and origin."""

    def __init__(self, url: str, token: str = "") -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}
        self.token = token

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        conn = HTTPConnection(self.host, self.port, timeout=10)  # a hang fails the test
        sent = {
            "X-Forwarded-Proto": "https",
            "Host": f"{self.host}:{self.port}",
            "Origin": f"https://{self.host}:{self.port}",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        try:
            conn.request(method, path, body=body, headers=sent | (headers or {}))
            response = conn.getresponse()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return response.status, response.read().decode()
        finally:
            conn.close()

    def get(self, path: str) -> tuple[int, str]:
        return self.request("GET", path)

    def post_form(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        if "csrftoken" not in self.cookies:
            self.get("/login/")
        body = urlencode(form | {"csrfmiddlewaretoken": self.cookies["csrftoken"]}).encode()
        return self.request(
            "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}
        )

    def post_json(self, path: str, payload: object | str) -> tuple[int, str]:
        body = payload if isinstance(payload, str) else json.dumps(payload)
        return self.request("POST", path, body.encode(), {"Content-Type": "application/json"})

    def login(self, email: str, password: str) -> int:
        return self.post_form("/login/", {"username": email, "password": password})[0]


@pytest.fixture
def server(gunicorn, static_root: Path) -> str:  # noqa: ANN001, F811
    return gunicorn(
        DATABASE_URL=app_role_url(),
        DEBUG="0",
        SECRET_KEY="probe-replay",
        ALLOWED_HOSTS="127.0.0.1",
        BEHIND_TLS_PROXY="1",
        STATIC_ROOT=str(static_root),
    )


def test_the_probe_finds_no_500_and_no_hang_under_the_application_role(
    crm: Crm,
    server: str,
) -> None:
    tenant, personas = crm.tenant, crm.personas
    _, key = api_token_create(tenant=tenant, name="probe")
    api = Browser(server, token=key)

    # 1. The lockout holds whatever the case of the email.
    email = personas.manager.email
    attacker = Browser(server)
    for spelling in (email, email.upper(), email.capitalize()):
        statuses = [attacker.login(spelling, "wrong") for _ in range(5)]
        assert 500 not in statuses
    assert attacker.login(email.swapcase(), PASSWORD) == 429
    assert Browser(server).login(personas.rep.email, PASSWORD) == 302  # others unaffected

    # 3. Dates outside 1970-2100 are refused by field; the records page and query bounds too.
    for moment in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59"):
        status, body = api.post_json(
            "/api/v1/activities", {"records": [crm.activity(occurred_at=moment)]}
        )
        assert status == 422 and json.loads(body)["detail"][0]["field"] == "occurred_at"
    assert api.get("/api/v1/leads?until=9999-12-31")[0] == 422
    admin = Browser(server)
    assert admin.login(personas.admin.email, PASSWORD) == 302
    status, page = admin.get("/records/activities/?until=9999-12-31")
    assert status == 200 and "is outside the dates Goals accepts" in page

    # 4. The last admin cannot demote themselves.
    record = {"email": personas.admin.email.upper(), "name": "Boss", "role": "manager"}
    assert api.post_json("/api/v1/members", {"records": [record]})[0] == 422
    with scope(tenant=tenant):
        assert Member.objects.get(pk=personas.admin.pk).role == Member.Role.ADMIN

    # 5. Over-long values, a lone surrogate and NUL answer 4xx, never 500.
    long_email = "a" * 60 + "@" + "b" * 60 + "." + "c" * 60 + ".example.com"  # 194 characters
    member = {"email": long_email, "name": "Long", "reports_to": personas.manager.email}
    assert api.post_json("/api/v1/members", {"records": [member]})[0] == 200
    member = {"email": "n@example.com", "name": "N" * 1000, "reports_to": email}
    assert api.post_json("/api/v1/members", {"records": [member]})[0] == 422
    surrogate = '{"records": [{"email": "x@example.com", "name": "\\ud800"}]}'
    assert api.post_json("/api/v1/members", surrogate)[0] in (400, 422)
    assert admin.get("/organization/search/?q=" + quote("\x00"))[0] < 500

    # 6. Exported cells that a spreadsheet would run as formulas are neutralized.
    formula = {"email": "formula@example.com", "name": "=HYPERLINK(1)", "reports_to": email}
    assert api.post_json("/api/v1/members", {"records": [formula]})[0] == 200
    status, exported = admin.get("/organization/export.csv")
    assert status == 200
    names = [row["name"] for row in csv.DictReader(io.StringIO(exported))]
    assert "'=HYPERLINK(1)" in names and "=HYPERLINK(1)" not in names

    # 7. Another tenant's email is a new login here, never "already in use".
    outsider = Browser(server, token=api_token_create(tenant=personas.outsider.tenant, name="B")[1])
    taken = {"email": personas.rep.email, "name": "Ana", "reports_to": personas.outsider.email}
    status, body = outsider.post_json("/api/v1/members", {"records": [taken]})
    assert status == 200 and json.loads(body)["created"] == 1
    with scopes_disabled():
        assert Member.objects.filter(user__email=personas.rep.email).count() == 2
