from __future__ import annotations

from django.apps import AppConfig


class LabConfig(AppConfig):
    """Benchmarks and the demo: commands and builders on top of every app; nothing imports it."""

    name = "lab"
    verbose_name = "Benchmarks and demo"
