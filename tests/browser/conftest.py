"""Playwright drives Debian's chromium from PATH; a browser is never downloaded."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

# Live-server tests touch the ORM from the test thread while Playwright's loop runs.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        message = "Debian's chromium is not on PATH (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": chromium, "args": CHROMIUM_ARGS}


@pytest.fixture
def screenshot_dir(tmp_path) -> str:
    """Where screenshots go: SCREENSHOT_DIR when set (e.g. docs/), else the test's tmp dir."""
    return os.environ.get("SCREENSHOT_DIR") or str(tmp_path)
