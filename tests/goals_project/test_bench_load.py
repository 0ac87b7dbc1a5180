"""bench_load runs against a live server and prints its figures (timings are not asserted)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from crm.demo import demo_tenant_build

pytestmark = pytest.mark.django_db(transaction=True)


def test_bench_load_reads_dashboards_and_posts_records(live_server) -> None:
    demo_tenant_build(slug="demo", members=12, days=5, activities=200)
    out = io.StringIO()
    call_command("bench_load", "--url", live_server.url, "--clients", "3", "--seconds", "2",
                 "--api-share", "0.3", stdout=out)  # fmt: skip
    text = out.getvalue()
    assert "3 clients for" in text and "0 errors" in text
    assert "GET /me/" in text and "POST /api/v1/activities" in text and "p95" in text
