"""Pace, pure: ahead, on track, behind, achieved, missed; lower-is-better inverts; no target
and no data are said, never guessed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from achievements.pace import Pace, pace

D = Decimal


@pytest.mark.parametrize(
    ("value", "target", "elapsed", "additive", "lower", "final", "expected"),
    [
        (D(50), D(100), 0.5, True, False, False, Pace.ON_TRACK),
        (D(56), D(100), 0.5, True, False, False, Pace.AHEAD),
        (D(44), D(100), 0.5, True, False, False, Pace.BEHIND),
        (D(100), D(100), 0.5, True, False, False, Pace.ACHIEVED),
        (D(99), D(100), 1.0, True, False, False, Pace.MISSED),
        (D(5), None, 0.5, True, False, False, Pace.NO_TARGET),
        # A zero target (a split that gave someone nothing) is no target, never achieved.
        (D(0), D(0), 0.5, True, False, False, Pace.NO_TARGET),
        (D(0), D(0), 1.0, True, False, True, Pace.NO_TARGET),
        (D(3), D(0), 1.0, False, False, True, Pace.NO_TARGET),
        (D(0), D(0), 1.0, True, True, True, Pace.NO_TARGET),
        # A ratio with no denominator (no calls dialled) has no value: no data, not behind.
        (None, D(25), 0.2, False, False, False, Pace.NO_DATA),
        (None, D(25), 1.0, False, False, True, Pace.NO_DATA),
        (None, D(10), 0.5, False, True, False, Pace.NO_DATA),
        # A rate is compared as it stands, and achieved only when the cycle is over.
        (D(30), D(25), 0.1, False, False, False, Pace.AHEAD),
        (D(30), D(25), 0.1, False, False, True, Pace.ACHIEVED),
        (D(20), D(25), 0.9, False, False, False, Pace.BEHIND),
        # Lower is better: at most 10 leads left uncontacted.
        (D(3), D(10), 0.5, True, True, False, Pace.AHEAD),
        (D(7), D(10), 0.5, True, True, False, Pace.BEHIND),
        (D(11), D(10), 0.5, True, True, False, Pace.MISSED),
        (D(10), D(10), 1.0, True, True, True, Pace.ACHIEVED),
    ],
)
def test_pace(value, target, elapsed, additive, lower, final, expected) -> None:  # noqa: ANN001
    assert (
        pace(value, target, elapsed, additive=additive, lower_is_better=lower, final=final)
        is expected
    )


@given(
    value=st.integers(0, 1000),
    target=st.integers(1, 1000),
    elapsed=st.floats(0, 1),
)
def test_a_final_cycle_is_achieved_or_missed_and_more_is_never_worse(
    value: int, target: int, elapsed: float
) -> None:
    order = [Pace.MISSED, Pace.BEHIND, Pace.ON_TRACK, Pace.AHEAD, Pace.ACHIEVED]
    final = pace(D(value), D(target), elapsed, additive=True, final=True)
    assert final in (Pace.ACHIEVED, Pace.MISSED)
    assert pace(D(value), D(0), elapsed, additive=True, final=True) is Pace.NO_TARGET
    now = pace(D(value), D(target), elapsed, additive=True)
    more = pace(D(value + 1), D(target), elapsed, additive=True)
    assert order.index(more) >= order.index(now)
