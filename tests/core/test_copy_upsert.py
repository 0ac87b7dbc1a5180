"""The COPY rows of the PostgreSQL write: no database needed to check how values are written."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.copy_upsert import copy_formatter
from crm.models import Activity, Opportunity


def write(model: type, name: str, value: object) -> str:
    return copy_formatter(model._meta.get_field(name))(value)


@pytest.mark.parametrize(
    ("model", "name", "value", "written"),
    [
        (Activity, "outcome", "no answer", "no answer"),
        (Activity, "outcome", "", ""),
        (Activity, "outcome", "tab\there", "tab\\there"),
        (Activity, "outcome", "two\nlines\r\n", "two\\nlines\\r\\n"),
        (Activity, "outcome", "back\\slash \\N \\.", "back\\\\slash \\\\N \\\\."),
        (Activity, "outcome", "50% 'quoted' \"too\"", "50% 'quoted' \"too\""),
        (Activity, "lead_id", None, "\\N"),
        (Activity, "owner_id", 42, "42"),
        (Activity, "duration_seconds", 0, "0"),
        (Opportunity, "value", Decimal("1250.50"), "1250.50"),
        (Opportunity, "closed_at", None, "\\N"),
        (
            Activity,
            "occurred_at",
            datetime(2025, 3, 30, 10, 0, 0, 123, tzinfo=UTC),
            "2025-03-30T10:00:00.000123+00:00",
        ),
        (Activity, "attributes", {}, "{}"),
        (Activity, "attributes", {"campaign": "Spring\tfair"}, '{"campaign": "Spring\\\\tfair"}'),
        (
            Activity,
            "attributes",
            {"vip": True, "budget": "1.50"},
            '{"vip": true, "budget": "1.50"}',
        ),
    ],
)
def test_it_writes_each_kind_of_value_as_a_copy_text_field(
    model: type, name: str, value: object, written: str
) -> None:
    assert write(model, name, value) == written
