"""The memo that keeps panels and fragments in a web process: bounded, and aged where asked."""

from __future__ import annotations

from unittest import mock

from dashboards.panels import Memo


def test_it_forgets_the_least_recently_used_entry_past_its_size() -> None:
    memo = Memo(size=2, seconds=None)
    memo.set("a", 1)
    memo.set("b", 2)
    assert memo.get("a") == 1  # now "b" is the least recently used
    memo.set("c", 3)
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (1, None, 3)


def test_it_forgets_an_entry_older_than_its_age_limit() -> None:
    memo = Memo(size=10, seconds=60)
    with mock.patch("dashboards.panels.time.monotonic", return_value=1000.0):
        memo.set("a", 1)
    with mock.patch("dashboards.panels.time.monotonic", return_value=1059.0):
        assert memo.get("a") == 1
    with mock.patch("dashboards.panels.time.monotonic", return_value=1061.0):
        assert memo.get("a") is None
