"""Bad input, named: a problem of one line or record, and the API's 422 body listing them.

The CSV imports (members, CRM records) and the API share these, so a problem reads the same in
the command's output ("line 7: ...") and in the API's answer ({"record": 6, "field": ...}).
"""

from __future__ import annotations

from dataclasses import dataclass

from ninja import Field, Schema


@dataclass(frozen=True)
class Problem:
    line: int  # the CSV line (the header is line 1), or the record's index in an API request
    message: str
    field: str | None = None
    unit: str = "line"

    def __str__(self) -> str:
        return f"{self.unit} {self.line}: {self.message}"


class RecordError(Schema):
    record: int = Field(..., description="The record's index in the request, from 0.")
    field: str | None
    message: str


class ErrorsOut(Schema):
    detail: list[RecordError]


def problems_out(problems: list[Problem]) -> list[RecordError]:
    """The API's form of import problems: every bad record and field named."""
    return [RecordError(record=p.line, field=p.field, message=p.message) for p in problems]
