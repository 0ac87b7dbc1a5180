"""What management commands share: the tenant named by ``--tenant`` and the progress line
that long commands redraw: ``  Phase: [#####-----] 1,200/5,000 rows``."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Model

INTERVAL = 0.25  # seconds between redraws; the last one is always drawn
WIDTH = 30


def tenant_by_slug(slug: str) -> Model:
    """The tenant with ``slug``, or the command's error naming it. (core sits below the apps:
    the model is looked up by name, as Django does for swappable models.)"""
    tenant_model = apps.get_model("hierarchy", "Tenant")
    try:
        return tenant_model.objects.get(slug=slug)
    except tenant_model.DoesNotExist:
        raise CommandError(f"No tenant with the slug {slug!r}.") from None


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
