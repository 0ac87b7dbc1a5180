from __future__ import annotations

from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """What people read: Assigned to me, My team, goal progress, the overview, the records
    behind a number; panels and fragments kept per version of the numbers."""

    name = "dashboards"
    verbose_name = "Dashboards"
