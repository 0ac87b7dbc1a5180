"""Pace: where a member should be by now, and whether they are ahead, on track or behind.

Pure, no Django. For a target that accumulates over the cycle (counts, sums) the expected value
by now is the target times the elapsed share of the cycle; a ratio or an average has no such
build-up, so it is compared with its target as it stands. Within 10% of the expected value is
"on track". For lower-is-better rules (leads left uncontacted) the comparison inverts, and
passing the target is a miss that the rest of the cycle cannot undo.

The elapsed share is of the cycle's working time (``goals.calendar.elapsed_fraction``).
Statuses are honest about what they do not know: a target of 0 (or none) is "no target", never
achieved at 0 / 0; a value that cannot be computed (a ratio with no denominator, an average of
nothing) is "no data", never behind.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from goals.targets import is_additive
from rulesets.spec import Mode

BAND = Decimal("0.10")


class Pace(StrEnum):
    ACHIEVED = "achieved"
    AHEAD = "ahead"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    MISSED = "missed"
    NO_TARGET = "no_target"
    NO_DATA = "no_data"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def expected_by_now(target: Decimal, elapsed: float, *, additive: bool) -> Decimal:
    return target * Decimal(str(elapsed)) if additive else target


def pace(
    value: Decimal | None,
    target: Decimal | None,
    elapsed: float,
    *,
    additive: bool,
    lower_is_better: bool = False,
    final: bool = False,
) -> Pace:
    """The status of ``value`` against ``target`` when ``elapsed`` (0..1) of the cycle's working
    time is gone."""
    if target is None or target <= 0:
        return Pace.NO_TARGET
    if value is None:
        return Pace.NO_DATA
    if lower_is_better:
        if value > target:
            return Pace.MISSED
        if final or elapsed >= 1:
            return Pace.ACHIEVED
    else:
        if value >= target and (additive or final or elapsed >= 1):
            return Pace.ACHIEVED
        if final or elapsed >= 1:
            return Pace.MISSED
    expected = expected_by_now(target, elapsed, additive=additive)
    if lower_is_better:
        value, expected = -value, -expected
    if value > expected + abs(expected) * BAND:
        return Pace.AHEAD
    if value < expected - abs(expected) * BAND:
        return Pace.BEHIND
    return Pace.ON_TRACK


class Measured(Protocol):
    """What a rule's status reads of it: a GoalRule, a parsed RuleSpec or a dashboard Rule."""

    aggregation: str
    direction: str
    mode: str


def accumulates(rule: Measured) -> bool:
    """Whether a rule's value builds up over a cycle, so that pace expects the elapsed share of
    the target by now and reaching it early is achieved: a count or sum of what happened in the
    cycle, not one counted as things stood at its end (a snapshot can fall again)."""
    return is_additive(rule.aggregation) and rule.mode != Mode.CYCLE_END


def rule_pace(
    rule: Measured, value: Decimal | None, target: Decimal | None, elapsed: float, *, final: bool
) -> Pace:
    """The status of one rule's value against its target: the one place a row's status is
    assembled (pages, exports and the closing of a cycle)."""
    return pace(
        value,
        target,
        elapsed,
        additive=accumulates(rule),
        lower_is_better=rule.direction == "lower",
        final=final,
    )
