"""The image holds the whole project: a new app cannot be left out of it."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

from django.apps import apps
from django.conf import settings


def test_the_image_copies_the_whole_project_and_every_app_reaches_it():
    dockerfile = (settings.BASE_DIR / "Dockerfile").read_text()
    copies = [line.split()[1:] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    assert [".", "."] in copies
    assert all(source in ("pyproject.toml", ".") for *sources, _ in copies for source in sources)
    ignored = [
        line.strip()
        for line in (settings.BASE_DIR / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    paths = [Path(config.path) for config in apps.get_app_configs()]
    ours = {path.name for path in paths if path.parent == settings.BASE_DIR}
    assert {"goals_project", "hierarchy", "achievements"} <= ours
    for top in ours | {"manage.py", "gunicorn.conf.py", "templates", "static"}:
        assert not any(fnmatch(top, pattern) for pattern in ignored), top
    assert {".env", ".venv", ".git", "var"} <= set(ignored)
