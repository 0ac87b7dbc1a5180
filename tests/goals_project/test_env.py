from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from goals_project.env import (
    database_from_url,
    env_bool,
    env_float,
    env_list,
    env_redis_url,
    env_url_origins,
)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("TRUE", True), ("off", False)])
def test_it_reads_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG") is expected


def test_it_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("FLAG", raising=False)
    assert env_bool("FLAG", default=True) is True


def test_it_rejects_a_bad_boolean(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG")


def test_it_reads_lists_and_rejects_empty_items(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example.com, b.example.com")
    assert env_list("HOSTS") == ["a.example.com", "b.example.com"]
    monkeypatch.setenv("HOSTS", "a.example.com,,b")
    with pytest.raises(ImproperlyConfigured, match="empty item"):
        env_list("HOSTS")


def test_it_rejects_an_origin_without_a_scheme(monkeypatch):
    monkeypatch.setenv("ORIGINS", "https://goals.example.com")
    assert env_url_origins("ORIGINS") == ["https://goals.example.com"]
    monkeypatch.setenv("ORIGINS", "goals.example.com")
    with pytest.raises(ImproperlyConfigured, match="is not an origin"):
        env_url_origins("ORIGINS")


def test_it_rejects_a_redis_url_of_another_scheme(monkeypatch):
    monkeypatch.setenv("BROKER", "http://127.0.0.1:6379")
    with pytest.raises(ImproperlyConfigured, match="redis://"):
        env_redis_url("BROKER")
    monkeypatch.setenv("BROKER", "")
    assert env_redis_url("BROKER") == ""


def test_it_reads_sqlite_urls(tmp_path):
    relative = database_from_url("sqlite:///var/x.sqlite3", tmp_path)
    assert relative["ENGINE"] == "django.db.backends.sqlite3"
    assert relative["NAME"] == str(tmp_path / "var/x.sqlite3")
    assert relative["OPTIONS"]["transaction_mode"] == "IMMEDIATE"  # concurrent demo writers wait
    absolute = database_from_url("sqlite:////srv/goals.sqlite3", tmp_path)
    assert absolute["NAME"] == "/srv/goals.sqlite3"


def test_it_reads_postgres_urls():
    db = database_from_url("postgres://app:s%40cret@db.internal:6543/goals?sslmode=require", Path())
    assert db["ENGINE"] == "goals_project.postgres"  # row-level security in step with scopes
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "app",
        "s@cret",
        "db.internal",
        "6543",
        "goals",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://root@localhost/goals", "scheme must be"),
        ("postgres://localhost:99999/goals", "bad port"),
        ("postgres://localhost", "names no database"),
        ("sqlite://", "names no SQLite file"),
    ],
)
def test_it_rejects_bad_database_urls(url, problem):
    with pytest.raises(ImproperlyConfigured, match=problem):
        database_from_url(url, Path())


def _load_settings(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    unset = ("SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        list(command) or [sys.executable, "-c", "import django; django.setup()"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "goals_project.settings", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_requires_a_secret_key_in_production():
    result = _load_settings(DEBUG="0", ALLOWED_HOSTS="goals.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_requires_allowed_hosts_in_production():
    result = _load_settings(DEBUG="0", SECRET_KEY="x" * 50)
    assert "ALLOWED_HOSTS must be set" in result.stderr


def test_it_starts_with_production_settings():
    result = _load_settings(DEBUG="0", SECRET_KEY="x" * 50, ALLOWED_HOSTS="goals.example.com")
    assert result.returncode == 0, result.stderr


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "goals.example.com",
}
DEPLOY_CHECK = (sys.executable, "manage.py", "check", "--deploy", "--fail-level=WARNING")


def test_it_passes_the_deploy_checks_with_production_settings(tmp_path):
    env = PRODUCTION | {"STATIC_ROOT": str(tmp_path)}
    collected = _load_settings(sys.executable, "manage.py", "collectstatic", "--no-input", **env)
    assert collected.returncode == 0, collected.stderr
    result = _load_settings(*DEPLOY_CHECK, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_in_production_without_collected_static_files(tmp_path):
    env = PRODUCTION | {"STATIC_ROOT": str(tmp_path)}
    message = f"The static files manifest {tmp_path / 'staticfiles.json'} is missing"
    checked = _load_settings(*DEPLOY_CHECK, **env)
    assert checked.returncode != 0
    assert "goals.E001" in checked.stderr and message in checked.stderr
    assert "manage.py collectstatic --no-input" in checked.stderr
    served = _load_settings(sys.executable, "-c", "import goals_project.wsgi", **env)
    assert served.returncode != 0 and message in served.stderr
    # Commands that are not serving run without it (migrate runs every non-deploy check).
    plain = _load_settings(sys.executable, "manage.py", "check", **env)
    assert plain.returncode == 0, plain.stderr


def test_json_logging_writes_one_object_a_line():
    import json
    import logging

    from goals_project.jsonlog import JsonFormatter

    record = logging.makeLogRecord(
        {"name": "achievements", "levelname": "WARNING", "msg": "goal %s is late", "args": (7,),
         "goal": 7}
    )  # fmt: skip
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "goal 7 is late" and entry["level"] == "WARNING"
    assert entry["goal"] == 7 and entry["logger"] == "achievements"


def test_a_bad_log_format_stops_the_app_with_its_name():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=os.environ | {"LOG_FORMAT": "yaml", "DJANGO_SETTINGS_MODULE": "goals_project.settings"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "LOG_FORMAT must be text or json" in result.stderr


def test_gunicorn_reads_its_settings_from_the_environment():
    import runpy

    settings = runpy.run_path("gunicorn.conf.py", init_globals={})
    assert settings["bind"] == f"0.0.0.0:{os.environ.get('PORT', '8000')}"
    assert settings["workers"] >= 1 and settings["accesslog"] == "-"


def test_it_reads_positive_numbers(monkeypatch):
    monkeypatch.setenv("TIMEOUT", "0.25")
    assert env_float("TIMEOUT", 1.0) == 0.25
    monkeypatch.delenv("TIMEOUT")
    assert env_float("TIMEOUT", 1.0) == 1.0


@pytest.mark.parametrize("raw", ["soon", "0", "-1", "nan", "inf"])
def test_it_rejects_a_number_that_is_not_positive(monkeypatch, raw):
    monkeypatch.setenv("TIMEOUT", raw)
    with pytest.raises(ImproperlyConfigured, match="TIMEOUT="):
        env_float("TIMEOUT", 1.0)
