"""The one range of dates and times Goals accepts, on every path: 1970-01-01 to 2100-12-31.

CRM timestamps and dates, goal dates, conditions on dates and every date in a query string are
checked here before anything reads them further: a year 1 or 9999 would overflow when moved
between time zones or split into cycles, and no sales record or goal lives outside this range.
Pure, with no Django at import, so that the pure modules (the timestamp parser, the field
catalogue) use it too.
"""

from __future__ import annotations

from datetime import date, datetime

EARLIEST = date(1970, 1, 1)
LATEST = date(2100, 12, 31)
RANGE = f"from {EARLIEST.isoformat()} to {LATEST.isoformat()}"


def date_range_problem(value: date | datetime) -> str | None:
    """Why a date or a time (its date as written, before any time zone moves it) is outside
    the accepted range, or None."""
    day = value.date() if isinstance(value, datetime) else value
    if EARLIEST <= day <= LATEST:
        return None
    return f"{value.isoformat()} is outside the dates Goals accepts ({RANGE})"


def validate_date_range(value: date | datetime | None) -> None:
    """The Django validator (form and model fields) of the range."""
    from django.core.exceptions import ValidationError  # here: the module stays pure

    if value is not None and (problem := date_range_problem(value)):
        raise ValidationError(problem + ".", code="date_range")
