from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_reports_healthy_services(settings):
    if settings.REDIS_URL:
        from goals_project.heartbeat import beat_mark

        beat_mark("worker")
        beat_mark("beat")
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["broker"] in ("ok", "embedded")


def test_it_answers_503_when_the_broker_is_down(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = Client().get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")


def test_it_answers_503_when_the_database_is_down():
    with mock.patch("goals_project.views.connection.cursor", side_effect=OperationalError("gone")):
        response = Client().get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["database"] == "error: OperationalError"


def test_it_reports_the_worker_and_beat_heartbeats(settings):
    from goals_project.heartbeat import KEYS, _redis
    from goals_project.tasks import heartbeat

    if not settings.REDIS_URL:
        assert Client().get(reverse("healthz")).json()["worker"] == "embedded"
        return
    _redis().delete(*KEYS.values())
    response = Client().get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert (body["worker"], body["beat"]) == ("never seen", "never seen")
    assert body["problems"] == [
        f"no worker ran a heartbeat within {settings.HEALTHZ_WORKER_WINDOW} s",
        f"no beat sent a heartbeat within {settings.HEALTHZ_BEAT_WINDOW} s",
    ]
    heartbeat()  # what a worker does when it runs the task
    heartbeat.apply_async(queue="nobody-listens-here", expires=1)  # what beat does: publish it
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["worker"].startswith("ok (last seen") and body["beat"].startswith("ok (last seen")
    assert body["status"] == "ok"


def _services_with_heartbeats(worker: float | None, beat: float | None):  # noqa: ANN202
    """Services mode with a broker that answers and heartbeats this many seconds old."""
    ages = mock.patch("goals_project.views.ages", return_value={"worker": worker, "beat": beat})
    broker = mock.patch("goals_project.views._broker_status", return_value="ok")
    return ages, broker


@pytest.mark.parametrize(
    ("worker", "beat", "problems"),
    [
        (None, 30.0, ["no worker ran a heartbeat within 180 s"]),
        (200.0, 30.0, ["no worker ran a heartbeat within 180 s"]),
        (30.0, 400.0, ["no beat sent a heartbeat within 180 s"]),
    ],
)
def test_it_answers_503_when_the_worker_or_beat_is_not_seen_within_the_window(
    settings, worker, beat, problems
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.HEALTHZ_WORKER_WINDOW = settings.HEALTHZ_BEAT_WINDOW = 180
    ages, broker = _services_with_heartbeats(worker, beat)
    with ages, broker:
        response = Client().get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["problems"] == problems


def test_it_answers_200_when_the_worker_and_beat_were_seen_within_the_window(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    ages, broker = _services_with_heartbeats(12.0, 40.0)
    with ages, broker:
        response = Client().get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["worker"] == "ok (last seen 12 s ago)"
    assert "problems" not in response.json()


def test_it_stays_200_in_the_embedded_mode_where_there_is_no_worker(settings):
    settings.REDIS_URL = ""
    response = Client().get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["worker"] == "embedded"


def test_a_worker_and_beat_are_seen_from_their_start(settings):
    if not settings.REDIS_URL:
        pytest.skip("in embedded mode there is no worker or beat to see")
    from celery.signals import beat_init, worker_ready

    from goals_project.heartbeat import KEYS, _redis, ages

    _redis().delete(*KEYS.values())
    worker_ready.send(sender=None)
    beat_init.send(sender=None)
    assert all(age is not None and age < 5 for age in ages().values())
