"""Reading a number that a person or a system sent: ASCII digits, an optional sign, point and
exponent, as every path (forms, API, CSV, rule conditions) accepts them.

Python's ``Decimal()`` and ``int()`` also read "1_000" and digits of other scripts ("١٢٣",
"１２３"), which no one means as an amount here and which other tools read differently; they
are refused like any other text. Pure, no Django.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"[0-9]{1,18}")  # under 10**18: inside the database's integers
EXAMPLE = "use digits and a point: 1250.50"


def number_parse(value: object) -> Decimal | None:
    """The finite Decimal that a number, or a text of ASCII digits, names; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        text = str(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        text = value.strip()
    else:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def whole_number(text: str | None) -> int | None:
    """The whole number (an id, an index, a count) that ``text`` writes in ASCII digits, at
    most 18 of them; None for anything else. ``str.isdigit`` is no test: "²" passes it, and
    ``int`` then fails."""
    return int(text) if text is not None and _WHOLE.fullmatch(text) else None
