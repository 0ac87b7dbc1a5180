"""The progress line that long commands redraw: ``  Phase: [#####-----] 1,200/5,000 rows``."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.management.base import BaseCommand

INTERVAL = 0.25  # seconds between redraws; the last one is always drawn
WIDTH = 30


def progress_line(command: BaseCommand, unit: str = "rows") -> Callable[[str, int, int], None]:
    """A callback ``(phase, done, total)`` that redraws one line on the command's stdout."""
    drawn_at = 0.0

    def progress(phase: str, done: int, total: int) -> None:
        nonlocal drawn_at
        now, finished = time.monotonic(), done >= total
        if not finished and now - drawn_at < INTERVAL:
            return
        drawn_at = now
        filled = WIDTH * done // total if total else WIDTH
        bar = "#" * filled + "-" * (WIDTH - filled)
        line = f"\r  {phase}: [{bar}] {done:,}/{total:,} {unit}"
        command.stdout.write(command.style.HTTP_INFO(line), ending="\n" if finished else "")
        command.stdout.flush()

    return progress
