from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

pytestmark = pytest.mark.django_db


def test_the_snapshot_benchmark_builds_a_history_and_times_each_rule():
    args = ["bench_snapshot", "--tenant=bench-small", "--members=6", "--days=30",
            "--opportunities=40", "--months=1", "--repeat=1"]  # fmt: skip
    if connection.vendor != "postgresql":
        with pytest.raises(CommandError, match="set DATABASE_URL"):
            call_command(*args)
        return
    out = StringIO()
    call_command(*args, stdout=out)
    shown = out.getvalue()
    assert "40 opportunities" in shown and "Built in" in shown
    for key in ("standing", "in_proposal", "deal_sizes"):
        assert f"\n{key}: " in shown
    assert shown.count("Execution Time") == 3  # a plan for each rule
