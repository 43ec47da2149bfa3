"""Sandbox fixtures: moto in-process for the engine, a private sandbox dir for the server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MLOPS = [sys.executable, "-m", "mlops.cli"]


@pytest.fixture
def moto_backend() -> Iterator[None]:
    """A fresh in-process moto backend with the sandbox's patches, removed afterwards."""
    from moto import mock_aws

    from mlops.sandbox import moto_patches

    with moto_patches.installed(), mock_aws():
        yield


def sandbox_env(directory: Path) -> dict[str, str]:
    """Environment for `mlops` subprocesses: a private sandbox dir, fake credentials only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "MLOPS_SANDBOX_DIR": str(directory),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1", "AWS_EC2_METADATA_DISABLED": "true",
        "COLUMNS": "200",
    })
    return env


def run_mlops(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*MLOPS, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A private sandbox directory; whatever server a test starts in it is stopped afterwards."""
    directory = tmp_path / "sandbox"
    monkeypatch.setenv("MLOPS_SANDBOX_DIR", str(directory))
    env = sandbox_env(directory)
    try:
        yield env
    finally:
        from mlops.sandbox import server

        server.stop()
