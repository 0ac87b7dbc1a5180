"""Tasks are sent after the transaction that asked for them commits, and never fail it: the
recompute a write asks for (``achievements.freshness``) through ``core.queue.enqueue``."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.db import transaction
from kombu.exceptions import OperationalError

from achievements.tasks import recompute_goal
from core.queue import enqueue
from goals_project.tasks import ping
from tests.conftest import Org

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(settings) -> None:  # noqa: ANN001
    """The services mode's sending path (a debounced task), whatever the suite runs on."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.RECOMPUTE_DEBOUNCE_SECONDS = 0


def test_it_sends_only_after_commit(org: Org, broker: None):
    goal = org.goal()
    with mock.patch.object(recompute_goal, "apply_async") as send:
        with transaction.atomic():
            org.log(org.call(1))
            send.assert_not_called()
        send.assert_called_once_with(args=(goal.pk,), kwargs={}, countdown=0)


def test_it_sends_nothing_when_the_transaction_rolls_back(org: Org, broker: None):
    org.goal()
    with mock.patch.object(recompute_goal, "apply_async") as send:
        with pytest.raises(RuntimeError), transaction.atomic():
            org.log(org.call(1))
            raise RuntimeError("bad batch")
        send.assert_not_called()


def test_it_logs_an_unreachable_broker_instead_of_failing(caplog):
    broken = mock.patch.object(ping, "apply_async", side_effect=OperationalError("refused"))
    with broken, caplog.at_level(logging.WARNING):
        assert enqueue(ping) is False
    assert "Broker unreachable; goals.ping will be caught up" in caplog.text


@pytest.mark.usefixtures("eager")
def test_it_logs_a_failing_in_process_task_instead_of_failing(org: Org, caplog):
    goal = org.goal()
    broken = mock.patch("achievements.tasks.goal_recompute", side_effect=ValueError("bug"))
    with broken, caplog.at_level(logging.ERROR), transaction.atomic():
        org.log(org.call(1))
    assert f"The recompute of goal {goal.pk} failed" in caplog.text and "bug" in caplog.text
