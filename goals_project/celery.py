"""The Celery app. Tasks take ids; they are sent with ``core.queue.enqueue`` once the data they
read is committed (after-commit hooks)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goals_project.settings")

app = Celery("goals_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
