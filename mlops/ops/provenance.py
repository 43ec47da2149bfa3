"""Who makes a change, and from which commit: recorded on packages and in audit records."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mlops.ops.aws import AwsClients

COMMIT_VARIABLES = ("MLOPS_GIT_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA")


def operator(aws: AwsClients) -> str:
    """MLOPS_OPERATOR, else the STS caller ARN, else $USER."""
    named = os.environ.get("MLOPS_OPERATOR")
    if named:
        return named
    try:
        return aws.identity()["Arn"]
    except Exception:
        return os.environ.get("USER", "unknown")


def git_commit(root: Path) -> str:
    """MLOPS_GIT_COMMIT, GITHUB_SHA or CI_COMMIT_SHA, else ``git rev-parse HEAD``, else unknown."""
    for var in COMMIT_VARIABLES:
        if os.environ.get(var):
            return os.environ[var]
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"
