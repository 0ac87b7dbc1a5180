"""Dependencies point one way: an app imports only the apps below it, and none imports the
project package (settings, urls, the Celery app and the API root sit above every app).

A small walk over every import statement of every module, lazy imports inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

LAYERS = ("core", "hierarchy", "crm", "rulesets", "goals", "achievements", "dashboards", "lab")
PROJECT = "goals_project"
# The workbench sits on top of the whole project: its benchmarks start the project's workers.
MAY_IMPORT_PROJECT = {"lab"}


def _imported(node: ast.AST, module: str) -> list[str]:
    """Top-level packages a statement imports (relative imports stay in their own package)."""
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module.split(".")[0]]
    return []


def upward_imports(root: Path) -> list[str]:
    """Every import of an app above the importing one, or of the project package, as
    "file:line: <app> imports <other>"."""
    rank = {app: n for n, app in enumerate(LAYERS)}
    found = []
    for app in LAYERS:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                for other in _imported(node, app):
                    upward = other in rank and rank[other] > rank[app]
                    project = other == PROJECT and app not in MAY_IMPORT_PROJECT
                    if upward or project:
                        where = path.relative_to(root)
                        found.append(f"{where}:{node.lineno}: {app} imports {other}")
    return found


def test_no_app_imports_one_above_it_or_the_project_package():
    assert upward_imports(Path(settings.BASE_DIR)) == []


def test_it_names_the_file_and_line_of_an_upward_import(tmp_path: Path):
    for app in LAYERS:
        (tmp_path / app).mkdir()
    (tmp_path / "crm" / "fine.py").write_text("from hierarchy.models import Member\n")
    (tmp_path / "hierarchy" / "views.py").write_text(
        "import os\n\n\ndef late():\n    from goals.models import Goal\n"
    )
    (tmp_path / "core" / "queue.py").write_text("from goals_project.celery import app\n")
    (tmp_path / "lab" / "bench.py").write_text("from goals_project.celery import app\n")
    assert upward_imports(tmp_path) == [
        "core/queue.py:1: core imports goals_project",
        "hierarchy/views.py:5: hierarchy imports goals",
    ]
