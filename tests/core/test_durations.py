"""Durations as people write them: what the pages write reads back, to the second."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.formatting import duration, duration_exact, duration_parse


@given(st.integers(min_value=0, max_value=10**8))
def test_what_a_form_shows_reads_back_to_the_second(seconds: int) -> None:
    assert duration_parse(duration_exact(Decimal(seconds))) == seconds


@given(st.integers(min_value=0, max_value=10**6))
def test_what_a_dashboard_shows_reads_back_in_whole_minutes(minutes: int) -> None:
    assert duration_parse(duration(Decimal(minutes * 60))) == minutes * 60


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 5400), ("90 min", 5400), ("90m", 5400), ("1 h 30 min", 5400), ("1h30", 5400),
        ("1.5 h", 5400), ("1:30", 5400), ("2 hours", 7200), ("1 h 2 min 5 s", 3725),
        ("45 s", 45), ("1,234 h 5 min", 4_442_700), (" 0 ", 0),
    ],
)  # fmt: skip
def test_it_reads_minutes_hours_and_seconds(text: str, seconds: int) -> None:
    assert duration_parse(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "1:75", "h", "30 min 1 h", "١٢", "-5"])
def test_it_refuses_what_is_not_a_duration(text: str) -> None:
    assert duration_parse(text) is None
