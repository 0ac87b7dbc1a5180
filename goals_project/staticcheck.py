"""With DEBUG off, pages name static files by the hashed names in collectstatic's manifest:
without the manifest every page would answer 500. This system check says so once, at start-up
(``check``, ``runserver``, and gunicorn through ``wsgi.py``), instead of on every request."""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core import checks
from django.core.files.storage import storages
from django.core.management.base import SystemCheckError

# Not under the staticfiles tag, which collectstatic runs itself: it must run without a manifest.
TAG = "static_manifest"


@checks.register(TAG)
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
        raise SystemCheckError("\n".join(f"{error}\n\tHINT: {error.hint}" for error in errors))
