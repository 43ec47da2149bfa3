"""Shared fixtures: offline Plans of the shipped stacks and renders of the example projects,
built once per test session; copies of the project to break; the CLI entry in-process.

The tree mirrors the packages: tests/common, tests/infra, tests/mlops, tests/policies and
tests/pipelines hold the tests of what has the same path. Tests that start real servers, run
`make demo` or render cold are marked ``slow`` (`make test-fast` leaves them out).
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_STACKS = ("dev", "staging", "prod")
REGION = "eu-west-1"
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


@pytest.fixture(scope="session", autouse=True)
def isolated_render_cache(render_cache: Path) -> Iterator[Path]:
    """Every render of the session (the Plans, the commands, their subprocesses) goes to one
    session cache outside the checkout, never to the checkout's .cache/."""
    from infra.projects.render import CACHE_ENV

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(render_cache))
        yield render_cache


@pytest.fixture(scope="session")
def rendered(render_cache: Path):
    """Both examples rendered for every shipped stack, under moto, into the session cache, so
    later tests do not pay for the SDK again."""
    from moto import mock_aws

    from mlops.ops.pipelines import prepare

    with mock_aws():
        return {(stack, name): prepare(ROOT, name, stack)
                for stack in SHIPPED_STACKS for name in EXAMPLES}


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
    """A copy of the project (stacks and both examples) to change."""
    return make_root(tmp_path)


def save_plan(plans, stack: str, tmp_path: Path) -> Path:
    """The shipped ``stack``'s Plan saved as `mlops preview --json` would."""
    path = tmp_path / f"{stack}.json"
    path.write_text(plans[stack].to_json())
    return path


@functools.cache
def boto_session() -> Any:
    """The suite's one boto3 session: service models load once, not once per client (moto
    resets boto3's default session at every mock)."""
    import boto3

    return boto3.session.Session(region_name=REGION)


def boto_client(service: str) -> Any:
    """A client of the suite's session in the suite's region (moto answers inside mock_aws)."""
    return boto_session().client(service, region_name=REGION)


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


@pytest.fixture(scope="session")
def kubernetes_plan(tmp_path_factory: pytest.TempPathFactory):
    """The Plan of the k8s-dev fixture stack (tests/k8s_stack.py): churn served on Kubernetes."""
    from mlops.offline.runtime import build_plan
    from tests.k8s_stack import STACK, kubernetes_root

    return build_plan(kubernetes_root(tmp_path_factory.mktemp("k8s")), STACK)
