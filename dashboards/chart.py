"""Charts as inline SVG, drawn on the server (no chart library, no CDN)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core.formatting import in_unit
from rulesets.models import GoalRule

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 8, 36, 18


def bar_chart(
    points: Sequence[tuple[str, Decimal | None, Decimal | None]], rule: GoalRule
) -> SafeString:
    """Bars of the team's value per cycle with the target as a line across each bar."""
    highest = max([*(v or 0 for _, v, _ in points), *(t or 0 for _, _, t in points), 1])
    slot = (WIDTH - LEFT * 2) / max(len(points), 1)
    usable = HEIGHT - BOTTOM - TOP
    every = -(-len(points) // 8)  # a label on at most 8 bars: "Sep 2026" needs a wide slot
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(rule.name)}: team value and target per cycle">'
    ]
    for n, (label, value, target) in enumerate(points):
        x = LEFT + n * slot
        height = float(value or 0) / float(highest) * usable
        met = value is not None and target is not None and value >= target
        if rule.direction == "lower":
            met = value is not None and target is not None and value <= target
        shown = escape(in_unit(value, rule.unit, rule.currency))
        parts.append(
            f'<rect class="bar{" met" if met else ""}" x="{x + slot * 0.15:.1f}" '
            f'y="{TOP + usable - height:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}">'
            f"<title>{escape(label)}: {shown} of "
            f"{escape(in_unit(target, rule.unit, rule.currency))}</title></rect>"
        )
        if value is not None:
            parts.append(
                f'<text class="value" x="{x + slot / 2:.1f}" y="{TOP + usable - height - 4:.1f}" '
                f'text-anchor="middle">{shown}</text>'
            )
        if target is not None:
            y = TOP + usable - float(target) / float(highest) * usable
            parts.append(
                f'<line class="target" x1="{x + slot * 0.08:.1f}" x2="{x + slot * 0.92:.1f}" '
                f'y1="{y:.1f}" y2="{y:.1f}"/>'
            )
        if n % every == 0:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{escape(_short(label))}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every text in it is escaped above)


def _short(label: str) -> str:
    """ "March 2027" -> "Mar 2027"; "Week of 2027-03-01" -> "2027-03-01"; others as they are."""
    label = label.replace("Weeks of ", "").replace("Week of ", "").split(" and ")[0]
    first, _, rest = label.partition(" ")
    return f"{first[:3]} {rest}" if rest and first.isalpha() and len(first) > 3 else label


def sparkline(percents: Sequence[int], width: int = 120, height: int = 28) -> SafeString:
    """A small line of percent-of-target per cycle (100% is the dashed line)."""
    if not percents:
        return mark_safe("")
    top = max([*percents, 100])
    step = width / max(len(percents) - 1, 1)
    points = " ".join(
        f"{n * step:.1f},{height - 2 - p / top * (height - 4):.1f}" for n, p in enumerate(percents)
    )
    goal_y = height - 2 - 100 / top * (height - 4)
    return mark_safe(  # noqa: S308  (numbers only)
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-hidden="true"><line x1="0" x2="{width}" y1="{goal_y:.1f}" y2="{goal_y:.1f}" '
        f'class="goal"/><polyline points="{points}"/></svg>'
    )


def pie(fraction: float, title: str, percent: int, size: int = 20) -> SafeString:
    """A small pie of a share of target (``fraction``, 0 to 1), with ``title`` on hover."""
    middle = radius = size / 2
    radius -= 1
    share = min(max(fraction, 0.0), 1.0)
    if share >= 1:
        filled = f'<circle class="slice" cx="{middle}" cy="{middle}" r="{radius}"/>'
    elif share <= 0:
        filled = ""
    else:
        angle = 2 * math.pi * share
        x, y = middle + radius * math.sin(angle), middle - radius * math.cos(angle)
        large = 1 if share > 0.5 else 0
        filled = (
            f'<path class="slice" d="M{middle},{middle} L{middle},{middle - radius} '
            f'A{radius},{radius} 0 {large} 1 {x:.2f},{y:.2f} Z"/>'
        )
    return mark_safe(  # noqa: S308  (the title is escaped, the rest are numbers)
        f'<svg class="pie{" met" if share >= 1 else ""}" viewBox="0 0 {size} {size}" '
        f'width="{size}" height="{size}" role="img" aria-label="{escape(title)}" '
        f'data-percent="{percent}"><title>{escape(title)}</title>'
        f'<circle class="whole" cx="{middle}" cy="{middle}" r="{radius}"/>{filled}</svg>'
    )
