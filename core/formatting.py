"""Numbers in a rule's unit: currency with its code, durations in hours and minutes, percents.

Used by the templates (``goal_format``'s ``amount`` filter) and by the charts drawn in Python.
"""

from __future__ import annotations

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
