"""The benchmark commands run at tiny sizes and print every figure (their timings are
measured by running them, never asserted)."""

from __future__ import annotations

import io
import os

import pytest
from django.core.management import CommandError, call_command

from tests.achievements.test_worker import _database_url, _require_services


@pytest.mark.django_db
def test_bench_recompute_prints_its_figures() -> None:
    out = io.StringIO()
    call_command("bench_recompute", "--members", "30", "--activities", "1500", "--goals", "2",
                 "--sample", "3", stdout=out)  # fmt: skip
    text = out.getvalue()
    for label in ("Full recompute, first run", "second run (nothing changed): ",
                  "queries (", "Naive per-member ORM", "Peak memory", "SQL floor"):  # fmt: skip
        assert label in text, label
    assert "0 rows written" in text.split("second run")[1]  # nothing changed: nothing written


@pytest.mark.django_db(transaction=True)
def test_bench_freshness_prints_its_percentiles(monkeypatch) -> None:  # noqa: ANN001
    _require_services()
    monkeypatch.setitem(os.environ, "DATABASE_URL", _database_url())  # the worker's database
    monkeypatch.setitem(os.environ, "RECOMPUTE_DEBOUNCE_SECONDS", "1")
    out = io.StringIO()
    call_command("bench_freshness", "--records", "3", "--reps", "3", stdout=out)
    assert "Commit to updated achievement: p50 " in out.getvalue()


def test_bench_freshness_needs_a_broker(settings) -> None:  # noqa: ANN001
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="needs REDIS_URL"):
        call_command("bench_freshness")
