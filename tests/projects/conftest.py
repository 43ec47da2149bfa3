"""Fixtures for ML project tests: copies of the repository to break; the rendered examples
(``rendered``, tests/conftest.py) as the render cache of every test here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT


def make_root(tmp: Path, projects: tuple[str, ...] = EXAMPLES) -> Path:
    """A minimal project root: stacks/ and copies of the named example projects."""
    shutil.copytree(ROOT / "stacks", tmp / "stacks")
    (tmp / "pipelines").mkdir()
    for name in projects:
        shutil.copytree(ROOT / "pipelines" / name, tmp / "pipelines" / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return tmp


@pytest.fixture
def tmp_root(tmp_path: Path) -> Path:
    return make_root(tmp_path)


@pytest.fixture(autouse=True)
def shared_render_cache(rendered, render_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from infra.projects.render import CACHE_ENV

    monkeypatch.setenv(CACHE_ENV, str(render_cache))
    return render_cache
