from __future__ import annotations

from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from goals_project.tasks import ping


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


@pytest.mark.django_db(transaction=True)
def test_it_enqueues_tasks_only_after_commit(settings):
    if settings.REDIS_URL:
        pytest.skip("checks the embedded mode, where tasks run in-process")
    ran: list[str] = []
    with mock.patch.object(ping, "run", side_effect=lambda: ran.append("ping")):
        with transaction.atomic():
            ping.delay_on_commit()
            assert ran == []
        assert ran == ["ping"]
