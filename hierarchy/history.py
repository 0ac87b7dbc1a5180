"""Reporting lines over time: who was in whose team when. Pure, no Django.

A member's lines (``hierarchy.models.ReportingLine``) say whom they reported to from when to
when. For a team (its head) and a window of time, ``team_spans`` cuts the window, for every
member who was in the team at some moment of it, into spans over which the member's whole
path up to the head stays the same: a record of that member in a span counts for every member
on the span's path, and for nobody else in the team. A member's path changes when they move,
and also when anyone above them moves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

LINES_BEGIN = datetime(1969, 12, 31, tzinfo=UTC)
"""Where a member's first line begins: before 1970-01-01 00:00 in any time zone, the first
moment a record may carry (``core.dates``)."""

Path = tuple[int, ...]
"""A member's place in a team: the head of the team first, down to the member."""


@dataclass(frozen=True)
class Line:
    member: int
    reports_to: int | None
    valid_from: datetime
    valid_to: datetime | None  # None: still open


@dataclass(frozen=True)
class Span:
    """From ``since`` until ``until``, the member's ``path`` in the team (None: not in it)."""

    since: datetime
    until: datetime
    path: Path | None


def team_spans(
    lines: Iterable[Line], head: int, start: datetime, end: datetime
) -> dict[int, list[Span]]:
    """Member id -> spans covering ``[start, end)`` in order, for every member who was in
    ``head``'s team (the head included) at some moment of it. Neighbouring spans differ in
    their path."""
    lines = [
        line
        for line in lines
        if line.valid_from < end and (line.valid_to is None or line.valid_to > start)
    ]
    opening: dict[datetime, list[Line]] = defaultdict(list)
    closing: dict[datetime, list[Line]] = defaultdict(list)
    parent: dict[int, int | None] = {}
    for line in lines:
        if line.valid_from <= start:
            parent[line.member] = line.reports_to
        else:
            opening[line.valid_from].append(line)
        if line.valid_to is not None and line.valid_to < end:
            closing[line.valid_to].append(line)
    spans: dict[int, list[Span]] = {}
    moments = sorted(opening.keys() | closing.keys())
    for since, until in pairwise([start, *moments, end]):
        for line in closing.get(since, ()):  # before the lines that open then
            parent.pop(line.member, None)
        for line in opening.get(since, ()):
            parent[line.member] = line.reports_to
        paths = _paths(parent, head)
        for member in paths.keys() | spans.keys():
            _extend(spans.setdefault(member, []), since, until, paths.get(member), start)
    return spans


def _paths(parent: dict[int, int | None], head: int) -> dict[int, Path]:
    """Each member's path from ``head`` down to them, for the members in its team."""
    paths: dict[int, Path] = {head: (head,)}
    outside: set[int] = set()
    for member in parent:
        chain = []
        node: int | None = member
        while node is not None and node not in paths and node not in outside:
            chain.append(node)
            node = parent.get(node)
        above = paths.get(node) if node is not None else None
        for below in reversed(chain):
            if above is None:
                outside.add(below)
            else:
                above = paths[below] = (*above, below)
    return paths


def _extend(
    spans: list[Span], since: datetime, until: datetime, path: Path | None, start: datetime
) -> None:
    """Add ``[since, until)`` at ``path`` to a member's spans (first met: outside until then)."""
    if not spans and since > start:
        spans.append(Span(start, since, None))
    if spans and spans[-1].path == path:
        spans[-1] = Span(spans[-1].since, until, path)
    else:
        spans.append(Span(since, until, path))
