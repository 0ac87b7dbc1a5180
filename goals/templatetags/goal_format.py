"""Template filters: a number in its rule's unit (``core.formatting``), and how long ago."""

from __future__ import annotations

from typing import Any

from django import template

from core.formatting import in_unit

register = template.Library()


@register.filter
def amount(value: Any, rule: Any) -> str:
    """``{{ value|amount:rule }}`` with a GoalRule (its unit and currency)."""
    return in_unit(value, rule.unit, rule.currency)


@register.filter
def ago(moment: Any, now: Any) -> str:
    """ "12 seconds", "5 minutes", "3 hours", "2 days": how long before ``now`` it was."""
    if moment is None:
        return "never"
    seconds = max(int((now - moment).total_seconds()), 0)
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {name}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


@register.filter
def money(value: Any, currency: str) -> str:
    """``{{ deal.value|money:deal.currency }}``: "USD 1,250.00"."""
    return in_unit(value, "currency", currency)
