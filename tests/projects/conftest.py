"""Fixtures for ML project tests: copies of the repository to break, rendered examples."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHIPPED_STACKS

EXAMPLES = ("churn", "fraud")


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


@pytest.fixture(scope="session")
def render_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("renders")


@pytest.fixture(scope="session")
def rendered(render_cache: Path):
    """Both examples rendered afresh for every shipped stack, under moto.

    The renders land in a session cache that every copy of the examples shares (same files and
    context: same key), so later tests do not pay for the SDK again.
    """
    from moto import mock_aws

    from infra.projects.render import CACHE_ENV
    from mlops.ops.pipelines import prepare

    mp = pytest.MonkeyPatch()
    mp.setenv(CACHE_ENV, str(render_cache))
    with mock_aws():
        result = {
            (stack, name): prepare(ROOT, name, stack)
            for stack in SHIPPED_STACKS for name in EXAMPLES
        }
    assert len(list(render_cache.glob("*.json"))) == len(result)  # all rendered afresh
    return result


@pytest.fixture(autouse=True)
def shared_render_cache(rendered, render_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from infra.projects.render import CACHE_ENV

    monkeypatch.setenv(CACHE_ENV, str(render_cache))
    return render_cache
