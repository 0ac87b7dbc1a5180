from __future__ import annotations

import re
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_scopes import scopes_disabled

from hierarchy.models import Member, Tenant

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_tenant", *args, stdout=out)
    return out.getvalue()


def test_it_creates_the_tenant_and_its_root_admin():
    out = run(
        "Acme Corp",
        "--slug=acme",
        "--timezone=America/Chicago",
        "--admin-email=Boss@Acme.example",
        "--admin-password=a-long-secret-phrase",
    )
    tenant = Tenant.objects.get(slug="acme")
    assert tenant.time_zone == "America/Chicago"
    with scopes_disabled():
        admin = Member.objects.get(tenant=tenant)
    assert admin.role == Member.Role.ADMIN and admin.reports_to is None
    assert admin.email == "boss@acme.example"
    assert "Log in at http://127.0.0.1:8000/login/ as boss@acme.example" in out
    client = Client()
    assert client.login(username="boss@acme.example", password="a-long-secret-phrase")


def test_it_prints_a_link_to_set_the_password_when_none_is_given():
    out = run("Acme", "--slug=acme", "--admin-email=boss@acme.example")
    link = re.search(r"http://127\.0\.0\.1:8000(/password/set/\S+)", out).group(1)
    client = Client()
    page = client.get(link, follow=True)
    assert "Set your password" in page.content.decode()
    form_url = page.redirect_chain[-1][0]
    done = client.post(
        form_url, {"new_password1": "fresh-phrase-9281", "new_password2": "fresh-phrase-9281"}
    )
    assert done.status_code == 302
    assert Client().login(username="boss@acme.example", password="fresh-phrase-9281")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            ["--slug=taken", "--admin-email=a@b.example"],
            "--slug: The slug 'taken' is already taken",
        ),
        (["--slug=x", "--timezone=Mars/Olympus", "--admin-email=a@b.example"], "--timezone"),
        (
            ["--slug=x", "--admin-email=not-an-email"],
            "--admin-email: 'not-an-email' is not a valid",
        ),
        (["--slug=x", "--admin-email=a@b.example", "--admin-password=123"], "--admin-password"),
    ],
)
def test_it_refuses_bad_input_clearly(args, problem):
    Tenant.objects.create(name="Taken", slug="taken")
    with pytest.raises(CommandError, match=re.escape(problem)):
        run("New Co", *args)
    assert Tenant.objects.count() == 1


def test_it_exits_non_zero_from_the_shell(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PATH": "/usr/bin:/bin"}

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "manage.py", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)

    assert manage("migrate", "-v0").returncode == 0
    result = manage("create_tenant", "X", "--slug=x", "--admin-email=bad")
    assert result.returncode == 1
    assert "--admin-email: 'bad' is not a valid email address." in result.stderr
