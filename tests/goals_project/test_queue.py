from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.db import transaction
from kombu.exceptions import OperationalError

from goals_project.queue import enqueue_on_commit
from goals_project.tasks import ping

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_sends_only_after_commit():
    with mock.patch.object(ping, "apply_async") as send:
        with transaction.atomic():
            enqueue_on_commit(ping)
            send.assert_not_called()
        send.assert_called_once_with(args=(), kwargs={}, countdown=None)


def test_it_sends_nothing_when_the_transaction_rolls_back():
    with mock.patch.object(ping, "apply_async") as send:
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue_on_commit(ping)
            raise RuntimeError("bad batch")
        send.assert_not_called()


def test_it_logs_an_unreachable_broker_instead_of_failing(caplog):
    broken = mock.patch.object(ping, "apply_async", side_effect=OperationalError("refused"))
    with broken, caplog.at_level(logging.WARNING), transaction.atomic():
        enqueue_on_commit(ping)
    assert "Broker unreachable; goals.ping will be caught up" in caplog.text


def test_it_logs_a_failing_in_process_task_instead_of_failing(caplog):
    broken = mock.patch.object(ping, "apply_async", side_effect=ValueError("bug"))
    with broken, caplog.at_level(logging.ERROR, logger="django.db.backends"), transaction.atomic():
        enqueue_on_commit(ping)
    assert "Error calling" in caplog.text and "bug" in caplog.text
