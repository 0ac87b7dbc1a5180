from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.services
def test_it_round_trips_a_task_through_a_real_worker(celery_worker_process):
    out = StringIO()
    call_command("check_worker", "--timeout=60", stdout=out)
    assert "Worker answered: pong" in out.getvalue()
    assert celery_worker_process.poll() is None


def test_it_reports_a_missing_worker(settings):
    if not settings.REDIS_URL:
        pytest.skip("in embedded mode every task runs in-process: there is no worker to miss")
    from goals_project.celery import app

    previous = app.conf.task_default_queue
    app.conf.task_default_queue = "nobody-listens-here"
    try:
        with pytest.raises(CommandError, match="No worker answered within 0.5 s"):
            call_command("check_worker", "--timeout=0.5")
    finally:
        app.conf.task_default_queue = previous
