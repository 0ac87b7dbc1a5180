"""Freshness with real processes: PostgreSQL, Redis and a Celery worker (``tests.processes``).

The faults (a worker killed mid-write, Redis down during ingestion, PostgreSQL restarted) are in
tests/hardening/test_faults.py.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from achievements.models import Achievement
from achievements.services import goal_recompute
from hierarchy.services import api_token_create
from tests.conftest import Org
from tests.processes import at_once, require_services, team_value, wait_for, worker  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_record_posted_through_the_api_reaches_the_numbers_in_seconds(
    org: Org,
    worker,  # noqa: F811
) -> None:
    worker()
    goal = org.goal()  # its first recompute goes through the worker too
    wait_for(lambda: team_value(goal, org.east.pk) == 0)
    _, key = api_token_create(tenant=org.admin.tenant, name="CRM")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    response = api.post(
        "/api/v1/activities",
        {"records": [org.call(1, at=timezone.now()), org.call(2, at=timezone.now())]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    took = wait_for(lambda: team_value(goal, org.east.pk) == 2, seconds=15)
    assert took < 15  # the debounce is 1 s here; CI's machine adds the worker's pick-up time


def test_concurrent_recomputes_of_one_goal_do_not_interleave(org: Org) -> None:
    require_services()
    goal = org.goal()
    org.log(org.call(1, at=timezone.now()))
    outcomes = at_once(lambda: goal_recompute(goal.pk), times=4)
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    with scope(tenant=goal.tenant_id):
        # east's team of three, three rules (two tracked without a target; the conversion
        # rate's parts are on its rows)
        assert Achievement.objects.filter(goal=goal).count() == 3 * 3
    assert team_value(goal, org.east.pk) == 1
