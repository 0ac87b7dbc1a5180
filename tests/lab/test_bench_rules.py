from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from crm.ingest import records_upsert
from tests.conftest import Crm

pytestmark = pytest.mark.django_db


def test_the_rule_benchmark_compares_with_hand_written_sql(crm: Crm):
    records_upsert(
        tenant=crm.tenant,
        entity="activity",
        records=[crm.activity(occurred_at="2025-03-03T10:00:00", duration_seconds="120")],
    )
    args = ["bench_rules", f"--tenant={crm.tenant.slug}", "--month=2025-03", "--repeat=1"]
    if connection.vendor != "postgresql":
        with pytest.raises(CommandError, match="set DATABASE_URL"):
            call_command(*args)
        return
    out = StringIO()
    call_command(*args, stdout=out)
    assert "1 groups" in out.getvalue() and "ratio compiled / hand-written" in out.getvalue()
