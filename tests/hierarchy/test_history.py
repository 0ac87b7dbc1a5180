"""Spans of a team over time, on plain lines: a path changes when the member moves and when
anyone above them moves; a member who leaves and comes back has a span outside between."""

from __future__ import annotations

from datetime import UTC, datetime

from hierarchy.history import LINES_BEGIN, Line, Span, team_spans

T0, T1, T2, T3 = (datetime(2026, 3, day, tzinfo=UTC) for day in (1, 10, 20, 31))

# 1 heads the company; 2 and 3 report to 1; 4 reports to 2 until T1, then to 3; 3 moves under
# 4's old manager 2 at T2; 5 reports to 3 throughout.
LINES = [
    Line(1, None, LINES_BEGIN, None),
    Line(2, 1, LINES_BEGIN, None),
    Line(3, 1, LINES_BEGIN, T2),
    Line(3, 2, T2, None),
    Line(4, 2, LINES_BEGIN, T1),
    Line(4, 3, T1, None),
    Line(5, 3, LINES_BEGIN, None),
]


def test_a_path_changes_when_the_member_or_anyone_above_them_moves() -> None:
    spans = team_spans(LINES, 1, T0, T3)
    assert spans[4] == [
        Span(T0, T1, (1, 2, 4)),
        Span(T1, T2, (1, 3, 4)),
        Span(T2, T3, (1, 2, 3, 4)),
    ]
    assert spans[5] == [Span(T0, T2, (1, 3, 5)), Span(T2, T3, (1, 2, 3, 5))]
    assert spans[2] == [Span(T0, T3, (1, 2))]


def test_a_sub_team_lists_who_came_and_went_with_their_time_outside() -> None:
    spans = team_spans(LINES, 2, T0, T3)
    assert spans[4] == [Span(T0, T1, (2, 4)), Span(T1, T2, None), Span(T2, T3, (2, 3, 4))]
    assert spans[3] == [Span(T0, T2, None), Span(T2, T3, (2, 3))]
    assert set(spans) == {2, 3, 4, 5}  # 1 never was in 2's team


def test_lines_outside_the_window_do_not_split_it() -> None:
    assert team_spans(LINES, 1, T2, T3)[4] == [Span(T2, T3, (1, 2, 3, 4))]
