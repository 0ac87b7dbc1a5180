"""With DEBUG off, pages name static files by the hashed names in collectstatic's manifest:
without the manifest every page would answer 500. This check says so once, at start-up, instead
of on every request: ``check --deploy`` runs it, and so does ``wsgi.py`` (and ``asgi.py``) as
gunicorn or runserver loads the application. Other commands (``migrate``, ``collectstatic``
itself) run without it."""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core import checks
from django.core.files.storage import storages
from django.core.management.base import SystemCheckError

# A deploy check of its own tag: collectstatic runs the staticfiles tag's checks itself, and
# migrate every check that is not for deployment; both must run without a manifest.
TAG = "static_manifest"


@checks.register(TAG, deploy=True)
def manifest_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return []
    if storage.manifest_storage.exists(storage.manifest_name):
        return []
    location = storage.manifest_storage.path(storage.manifest_name)
    return [
        checks.Error(
            f"The static files manifest {location} is missing: with DEBUG off every page "
            "would answer 500.",
            hint="Run `manage.py collectstatic --no-input` (with the same settings) before "
            "starting the server.",
            id="goals.E001",
        )
    ]


def static_files_ready() -> None:
    """Raise SystemCheckError (one clear message) when the static files are not collected."""
    errors = [message for message in manifest_check() if message.is_serious()]
    if errors:
        raise SystemCheckError("\n".join(str(error) for error in errors))
