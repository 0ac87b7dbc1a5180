from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.timeparse import parse_timestamp


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "time_zone", "expected"),
    [
        # Naive values are wall-clock times in the tenant's zone, winter and summer.
        ("2025-03-03T10:00:00", "Europe/Berlin", utc(2025, 3, 3, 9)),
        ("2025-07-01 10:00", "Europe/Berlin", utc(2025, 7, 1, 8)),
        ("2025-03-03T10:00:00.250", "UTC", datetime(2025, 3, 3, 10, 0, 0, 250000, tzinfo=UTC)),
        # An offset wins over the tenant's zone.
        ("2025-03-03T10:00:00Z", "Europe/Berlin", utc(2025, 3, 3, 10)),
        ("2025-03-03T10:00:00+05:30", "Europe/Berlin", utc(2025, 3, 3, 4, 30)),
        # A date alone is the start of that day in the tenant's zone.
        ("2025-03-03", "Europe/Berlin", utc(2025, 3, 2, 23)),
        ("2025-03-03", "America/New_York", utc(2025, 3, 3, 5)),
        # DST starts in Berlin on 2025-03-30 at 02:00: that day starts in winter time...
        ("2025-03-30", "Europe/Berlin", utc(2025, 3, 29, 23)),
        # ...the next in summer time...
        ("2025-03-31", "Europe/Berlin", utc(2025, 3, 30, 22)),
        # ...a skipped wall-clock time lands after the gap (02:30 CET is 03:30 CEST)...
        ("2025-03-30T02:30", "Europe/Berlin", utc(2025, 3, 30, 1, 30)),
        # ...and an ambiguous one (clocks go back on 2025-10-26) is the first of the two.
        ("2025-10-26T02:30", "Europe/Berlin", utc(2025, 10, 26, 0, 30)),
        # Santiago skips midnight on 2024-09-08: the day starts at 01:00 -03, its first instant.
        ("2024-09-08", "America/Santiago", utc(2024, 9, 8, 4)),
    ],
)
def test_it_reads_timestamps_in_the_tenant_time_zone(
    text: str, time_zone: str, expected: datetime
) -> None:
    parsed = parse_timestamp(text, time_zone)
    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_it_gives_the_day_clocks_go_forward_23_hours() -> None:
    start = parse_timestamp("2025-03-30", "Europe/Berlin")
    end = parse_timestamp("2025-03-31", "Europe/Berlin")
    assert end - start == timedelta(hours=23)


@pytest.mark.parametrize("text", ["31/03/2025", "", "2025-13-01", "tomorrow", "2025-03-03T25:00"])
def test_it_explains_what_a_timestamp_looks_like(text: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_timestamp(text, "Europe/Berlin")
    assert str(exc.value) == (
        f"{text!r} is not an ISO 8601 date or timestamp "
        "(e.g. 2025-03-31T14:30:00+02:00, 2025-03-31 14:30 or 2025-03-31)"
    )
