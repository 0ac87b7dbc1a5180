"""The benchmark commands run at tiny sizes and print every figure (their timings are
measured by running them, never asserted)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_scopes import scope, scopes_disabled

from crm.models import Activity, Lead, Opportunity
from hierarchy.models import Member, Tenant
from tests.processes import require_services

TINY = ["--members", "30", "--activities", "2000", "--leads", "300", "--opportunities", "150"]


@pytest.mark.django_db(transaction=True)  # PostgreSQL's VACUUM runs outside a transaction
def test_bench_recompute_builds_its_tenant_and_prints_every_figure(eager) -> None:  # noqa: ANN001
    out = io.StringIO()
    call_command(
        "bench_recompute", *TINY, "--goals", "2", "--sample", "3", "--rounds", "2", stdout=out
    )
    text = out.getvalue()
    labels = [
        "Full recompute, first run (from no rows): ",
        "Full recompute, second run (nothing changed): ",
        "Full recompute, steady state (past cycles closed, the current one recomputed): ",
        "Queries a goal: ",
        "Peak memory (ru_maxrss) while recomputing: ",
        "SQL floor",
        "Naive per-member ORM: ",
    ]
    if connection.vendor == "postgresql":
        labels += [
            "Vacuumed and analyzed the tables read",
            "agree with the stored ones",
            "  round 2: first run ",
            "Ratio full recompute / SQL floor (median of 2 rounds): ",
        ]
    for label in labels:
        assert label in text, label
    second = text.split("second run (nothing changed): ")[1]
    assert " 0 rows written" in second.splitlines()[0]
    assert (
        "when nothing changed, for teams of 11 to 30 members (the same for every team size)" in text
    )
    tenant = Tenant.objects.get(slug="bench-recompute")
    with scope(tenant=tenant):
        assert Member.objects.count() == 30
        assert Member.objects.filter(level=3).exists()  # directors added a level
        assert (Activity.objects.count(), Lead.objects.count()) == (2000, 300)
        assert Opportunity.objects.count() == 150

    again = io.StringIO()
    call_command("bench_recompute", "--reuse", "--goals", "2", "--sample", "3", stdout=again)
    assert "Reusing the tenant bench-recompute." in again.getvalue()
    assert "Building" not in again.getvalue()


@pytest.mark.django_db
def test_bench_recompute_reuses_only_what_exists() -> None:
    with pytest.raises(CommandError, match="No tenant 'nowhere' to reuse"):
        call_command("bench_recompute", "--tenant", "nowhere", "--reuse")


@pytest.mark.django_db(transaction=True)
def test_bench_freshness_prints_its_percentiles(settings) -> None:  # noqa: ANN001
    require_services()
    settings.RECOMPUTE_DEBOUNCE_SECONDS = 1
    out = io.StringIO()
    call_command("bench_freshness", "--records", "3", "--reps", "2", stdout=out)
    text = out.getvalue()
    assert "3 activities posted one request at a time" in text
    assert "Commit to updated achievement: p50 " in text
    with scopes_disabled():
        assert Activity.objects.filter(external_id__startswith="fresh-").count() == 4


def test_bench_freshness_needs_a_broker(settings) -> None:  # noqa: ANN001
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="needs REDIS_URL"):
        call_command("bench_freshness")
