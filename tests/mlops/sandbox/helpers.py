"""Helpers of the sandbox tests: the environment and command line of `mlops` subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

MLOPS = [sys.executable, "-m", "mlops.cli"]


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


