"""The workflows pass the checks outside this repository that make lint runs: check-jsonschema
with its built-in GitHub workflow schema, and zizmor offline (both pinned dev dependencies)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflows.rules import ROOT, WORKFLOWS

BAD = """\
name: bad
on: pull_request
permissions: {}
jobs:
  a:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def tool(name: str) -> str:
    """The tool from this interpreter's environment (the project's venv), else from PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (a pinned dev dependency: make venv installs it)")
    return found


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)


def workflows() -> list[str]:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert files
    return files


def test_check_jsonschema_accepts_the_workflows() -> None:
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
               *workflows())
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_jsonschema_refuses_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BAD.replace("runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04"))
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
               str(broken))
    assert done.returncode == 1, done.stdout + done.stderr


def test_zizmor_finds_nothing_offline() -> None:
    done = run(tool("zizmor"), "--offline", "--config", ".github/zizmor.yml", ".github/workflows")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_zizmor_reports_what_the_workflows_avoid(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(BAD)
    done = run(tool("zizmor"), "--offline", "--config", str(ROOT / ".github" / "zizmor.yml"),
               ".github/workflows", cwd=tmp_path)
    assert done.returncode != 0
    out = done.stdout + done.stderr
    for audit in ("template-injection", "unpinned-uses", "artipacked"):
        assert audit in out, audit
