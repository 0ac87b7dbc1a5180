"""Numbers in a rule's unit: currency with its code, durations in hours and minutes, percents.

Used by the templates (``goal_format``'s ``amount`` filter) and by the charts drawn in Python.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def _grouped(number: Decimal, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    return f"{number.quantize(quantum, rounding=ROUND_HALF_UP):,.{places}f}"


def duration(seconds: Decimal) -> str:
    minutes = int((seconds / 60).to_integral_value(rounding=ROUND_HALF_UP))
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours:,} h {minutes} min" if minutes else f"{hours:,} h"


def duration_exact(seconds: Decimal) -> str:
    """``duration`` to the second, as a form shows a value to edit: "1 h 30 min", "45 s"."""
    whole = int(seconds.to_integral_value(rounding=ROUND_HALF_UP))
    minutes, rest = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours:,} h" if hours else "", f"{minutes} min" if minutes else ""]
    parts.append(f"{rest} s" if rest or not (hours or minutes) else "")
    return " ".join(part for part in parts if part)


_DURATION = re.compile(
    r"(?:(?P<h>\d[\d,]*(?:\.\d+)?)\s*(?:h|hrs?|hours?))?\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)(?:\s*(?:m|mins?|minutes?)\b|(?=\s*$)))?\s*"
    r"(?:(?P<s>\d+)\s*(?:s|secs?|seconds?))?",
    re.ASCII | re.IGNORECASE,
)
_CLOCK = re.compile(r"(?P<h>\d+):(?P<m>[0-5]\d)", re.ASCII)


def duration_parse(text: str) -> Decimal | None:
    """Seconds from a duration as people write one: minutes ("90", "90 min"), hours and
    minutes ("1 h 30 min", "1h30", "1.5 h", "1:30") and seconds ("1 h 2 min 5 s"); what
    ``duration`` and ``duration_exact`` write reads back. None when it is not one."""
    text = text.strip()
    found = _CLOCK.fullmatch(text) or _DURATION.fullmatch(text)
    if not text or found is None or not any(found.groupdict().values()):
        return None
    hours, minutes, seconds = (found.groupdict().get(part) for part in "hms")
    total = Decimal(hours.replace(",", "")) * 3600 if hours else Decimal(0)
    total += Decimal(minutes) * 60 if minutes else 0
    total += Decimal(seconds) if seconds else 0
    return total.to_integral_value(rounding=ROUND_HALF_UP)


def in_unit(value: Any, unit: str, currency: str = "") -> str:
    """``value`` as the unit reads: "USD 1,250.00", "3 h 20 min", "25.5%", "1,204"; "–" for
    no value (an empty ratio)."""
    if value is None or value == "":
        return "–"
    number = Decimal(str(value))
    if unit == "currency":
        return f"{currency} {_grouped(number, 2)}".strip()
    if unit == "duration":
        return duration(number)
    if unit == "percent":
        return f"{_grouped(number, 1)}%"
    places = 0 if number == number.to_integral_value() else 2
    return _grouped(number, places)
