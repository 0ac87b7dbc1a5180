from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goals_project.settings")

application = get_wsgi_application()

from goals_project.staticcheck import static_files_ready  # noqa: E402  (needs the apps loaded)

static_files_ready()  # gunicorn runs no system checks: a missing manifest stops it here
