"""CSV cells a spreadsheet will not run as formulas (OWASP, "CSV Injection").

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written
with a single quote in front, which spreadsheets read as "this is text"; so is a cell that
already begins with a quote, so that reading one quote off gives back exactly what was written.
Numbers, dates and other values that are not text are written as they are.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"


def cell_neutralize(value: object) -> object:
    """The value as a CSV cell that no spreadsheet evaluates."""
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, TEXT_MARK)):
        return TEXT_MARK + value
    return value


def cell_restore(value: str) -> str:
    """A cell read back: one leading quote, the spreadsheet's mark for text, is dropped."""
    return value.removeprefix(TEXT_MARK)


class NeutralDictWriter(csv.DictWriter):
    """``csv.DictWriter`` whose text cells are neutralized (the header is ours, left as is).
    Its lines end in CRLF, so a carriage return inside a cell is quoted."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({key: cell_neutralize(value) for key, value in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for rowdict in rowdicts:
            self.writerow(rowdict)
