"""Find the ML projects a platform serves: every ``pipelines/<name>/project.yaml``."""

from __future__ import annotations

import re
from pathlib import Path

PROJECT_FILE = "project.yaml"
PROJECT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def pipelines_dir(root: Path) -> Path:
    return root / "pipelines"


def project_names(root: Path) -> list[str]:
    """Sorted names of the project folders that hold a project.yaml."""
    base = pipelines_dir(root)
    if not base.is_dir():
        return []
    return sorted(
        p.name for p in base.iterdir()
        if p.is_dir() and (p / PROJECT_FILE).is_file() and PROJECT_NAME.match(p.name)
    )
