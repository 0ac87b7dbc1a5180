from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.crm.conftest import crm  # noqa: F401  (the CRM set-up of tenant A)
from tests.goals.conftest import org  # noqa: F401  (its organization and ruleset)


@pytest.fixture
def eager(settings) -> Iterator[None]:  # noqa: ANN001
    """Tasks run in-process, as in the embedded mode, even where REDIS_URL is set (CI)."""
    from goals_project.celery import app

    previous = app.conf.task_always_eager  # read first: reading configures the app
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous
