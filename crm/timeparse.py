"""Reading the timestamps and durations that CRM records carry.

Pure: no database. A value is ISO 8601. With an offset (``Z``, ``+02:00``) it means that
instant; without one it is a wall-clock time in the tenant's time zone; a date alone is the
start of that day there. The result is always an aware datetime in UTC.

Wall-clock times that a DST change makes ambiguous or skips follow PEP 495 with ``fold=0``:
an ambiguous time (clocks go back) is the first of its two instants; a skipped time (clocks
go forward) is read with the offset in force before the change, which lands it after the gap.
That also makes a date whose midnight is skipped (America/Santiago in September) start at the
first instant the day has. Neither is rejected: a CRM that wrote such a time meant a moment
near it, and refusing the record would drop real work from the numbers.

A duration is whole seconds as CRM exports write them: ``hh:mm:ss`` or ``mm:ss``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from core.dates import date_range_problem

EXAMPLES = "e.g. 2025-03-31T14:30:00+02:00, 2025-03-31 14:30 or 2025-03-31"
DURATION_FORMATS = "whole seconds (90), mm:ss (01:30) or hh:mm:ss (00:01:30)"

# The leading part may be any size (a 90-minute call exported as 90:00); the later ones are
# two digits below 60, so that no reading of a value is a guess.
_CLOCK = re.compile(r"([0-9]+):([0-5][0-9])(?::([0-5][0-9]))?")


def parse_timestamp(text: str, time_zone: str) -> datetime:
    """The UTC instant ``text`` names, a naive value read in ``time_zone`` (an IANA name).

    Raises ValueError with a message that a person who typed ``text`` understands, also for a
    value outside the accepted range (core.dates).
    """
    try:
        # A date alone parses as its midnight, which is the start of the day once localized.
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or timestamp ({EXAMPLES})") from None
    if problem := date_range_problem(moment):
        raise ValueError(problem)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(time_zone))
    return moment.astimezone(UTC)


def parse_duration(text: str) -> int:
    """The whole seconds of a clock duration: ``hh:mm:ss``, or ``mm:ss`` with two parts.

    Raises ValueError with a message that a person who typed ``text`` understands.
    """
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration: use {DURATION_FORMATS}")
    first, second, third = (int(part) for part in match.groups(default="0"))
    if match.group(3) is None:
        return first * 60 + second
    return (first * 60 + second) * 60 + third
