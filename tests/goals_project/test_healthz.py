from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_reports_healthy_services():
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
    body = Client().get(reverse("healthz")).json()
    assert (body["worker"], body["beat"]) == ("never seen", "never seen")
    heartbeat()  # what a worker does when it runs the task
    heartbeat.apply_async(queue="nobody-listens-here", expires=1)  # what beat does: publish it
    body = Client().get(reverse("healthz")).json()
    assert body["worker"].startswith("ok (last seen") and body["beat"].startswith("ok (last seen")
    assert body["status"] == "ok"
