from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "goals_project.settings")

application = get_asgi_application()

from goals_project.staticcheck import static_files_ready  # noqa: E402  (needs the apps loaded)

static_files_ready()  # ASGI servers run no system checks either
