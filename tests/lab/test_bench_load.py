"""bench_load runs against a live server and prints its figures (timings are not asserted)."""

from __future__ import annotations

import io
from http.cookies import SimpleCookie

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.signals import request_started
from django_scopes import scopes_disabled

from hierarchy.models import Member
from lab.demo_tenant import demo_tenant_build
from lab.management.commands import bench_load


@pytest.fixture
def sessions_made(monkeypatch) -> dict[str, int]:
    """The sessions bench_load makes: session key -> user id."""
    made: dict[str, int] = {}
    original = bench_load.session_create

    def recording(user) -> str:
        made[key := original(user)] = user.pk
        return key

    monkeypatch.setattr(bench_load, "session_create", recording)
    return made


@pytest.fixture
def sessions_seen() -> set[str]:
    """The session cookies of the requests the live server receives."""
    seen: set[str] = set()

    def receive(sender, environ, **kwargs) -> None:
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", "")).get(settings.SESSION_COOKIE_NAME)
        if cookie is not None:
            seen.add(cookie.value)

    request_started.connect(receive, dispatch_uid="test_bench_load")
    yield seen
    request_started.disconnect(dispatch_uid="test_bench_load")


def bench_load_on_a_demo(live_server, *options: str) -> str:  # noqa: ANN001
    """bench_load's output for two seconds against a small demo tenant."""
    demo_tenant_build(slug="demo", members=12, days=5, activities=200)
    out = io.StringIO()
    call_command("bench_load", "--url", live_server.url, "--seconds", "2", *options, stdout=out)
    return out.getvalue()


def assert_one_session_each_used_and_deleted(
    made: dict[str, int], seen: set[str], *, people: int
) -> None:
    """``people`` different people, each with a session of their own that the server was
    sent, and that is gone afterwards."""
    assert len(set(made.values())) == people
    assert seen >= set(made)
    assert not Session.objects.filter(session_key__in=list(made)).exists()


@pytest.mark.django_db(transaction=True)
def test_bench_load_reads_dashboards_and_posts_records(
    live_server, sessions_made, sessions_seen
) -> None:
    text = bench_load_on_a_demo(live_server, "--clients", "3", "--api-share", "0.3")
    assert "3 clients for" in text and "0 errors" in text
    assert "GET /me/" in text and "GET /team/" in text and "GET /overview/" in text
    assert "POST /api/v1/activities" in text and "p95" in text
    assert "3 distinct people, a session each: 1 rep (/me/), 1 manager" in text
    # One of each role.
    with scopes_disabled():
        roles = Member.objects.filter(user_id__in=sessions_made.values()).values_list("role")
        assert sorted(role for (role,) in roles) == ["admin", "manager", "rep"]
    assert_one_session_each_used_and_deleted(sessions_made, sessions_seen, people=3)


@pytest.mark.django_db(transaction=True)
def test_bench_load_takes_turns_among_more_people_than_clients(
    live_server, sessions_made, sessions_seen
) -> None:
    text = bench_load_on_a_demo(live_server, "--clients", "2", "--people", "6")
    assert "2 clients for" in text and "0 errors" in text and "6 distinct people" in text
    assert_one_session_each_used_and_deleted(sessions_made, sessions_seen, people=6)


def test_role_counts_follow_a_company_and_the_members_there_are() -> None:
    company = {"rep": 1766, "manager": 233, "admin": 1}
    assert bench_load.role_counts(20, company) == {"rep": 15, "manager": 4, "admin": 1}
    assert bench_load.role_counts(100, company) == {"rep": 77, "manager": 22, "admin": 1}
    assert bench_load.role_counts(2, company) == {"rep": 2, "manager": 0, "admin": 0}
    assert bench_load.role_counts(3, {"rep": 5, "admin": 1}) == {"rep": 2, "admin": 1}


def test_role_counts_refuse_more_people_than_members() -> None:
    with pytest.raises(bench_load.CommandError, match="only 3 active members"):
        bench_load.role_counts(4, {"rep": 2, "manager": 1})
