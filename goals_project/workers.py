"""Celery workers started as child processes: the real workers of the benchmarks and tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def database_url() -> str:
    """This process's PostgreSQL database as a URL, for a child process to use the same one."""
    db = connection.settings_dict
    login = quote(db["USER"], safe="")
    if db["PASSWORD"]:
        login += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{login}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_start(queue: str, *, env: Mapping[str, str], quiet: bool = False) -> subprocess.Popen:
    """One solo worker consuming ``queue`` alone (no gossip, mingle or heartbeats to wait
    for) with ``env``; ``quiet`` drops its banner (warnings and errors still reach stderr)."""
    command = [sys.executable, "-m", "celery", "-A", "goals_project", "worker"]
    command += ["--pool=solo", "--loglevel=WARNING", "-Q", queue, "-n", f"{queue}@%h"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    stdout = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(command, cwd=settings.BASE_DIR, env=dict(env), stdout=stdout)


def worker_stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM (a warm shutdown), then SIGKILL if it is not gone within ``timeout``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
