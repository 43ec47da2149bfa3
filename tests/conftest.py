"""Shared fixtures: offline Plans of the shipped stacks and renders of the example projects,
built once per test session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_STACKS = ("dev", "staging", "prod")
EXAMPLES = ("churn", "fraud")

# Nothing in the suite may reach AWS: fake credentials, no profile, no metadata service.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def plans():
    """Plan per shipped stack, keyed by stack name."""
    from mlops.offline.runtime import build_plan

    return {stack: build_plan(ROOT, stack) for stack in SHIPPED_STACKS}


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


def run_cli(monkeypatch, capsys, root: Path | None, *args: str) -> tuple[int, str, str]:
    """``mlops ARGS`` through the console-script entry (``mlops.cli.main``), in-process.

    ``root`` replaces the project root the CLI reads (None: leave it). Returns the exit code
    and what this invocation printed on stdout and stderr.
    """
    import pytest

    from mlops import cli

    if root is not None:
        monkeypatch.setenv("MLOPS_ROOT", str(root))
    monkeypatch.setattr(sys, "argv", ["mlops", *args])
    capsys.readouterr()  # drop what earlier steps of the test printed
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err
