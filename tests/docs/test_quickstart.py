"""The quickstart as a new user follows it: every shell line of the page runs, in order, in one
shell, against a private sandbox. `make` lines are checked to be Makefile targets instead:
`make demo` is run by tests/mlops/commands/test_demo.py and `make test` is this suite."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGE = ROOT / "docs" / "getting-started" / "quickstart.md"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)
RUNS = ROOT / ".cache" / "runs" / "churn"


def shell_lines(page: str) -> list[str]:
    """The lines of the page's ``sh`` blocks, as written (comments and all)."""
    return [line for block in BLOCK.findall(page) for line in block.splitlines() if line.strip()]


def make_targets(makefile: str) -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))


def test_the_page_has_commands_and_its_make_targets_exist() -> None:
    lines = shell_lines(PAGE.read_text(encoding="utf-8"))
    makes = [line.split()[1] for line in lines if line.startswith("make ")]
    assert makes[0] == "demo", "the quickstart starts with make demo"
    assert set(makes) <= make_targets((ROOT / "Makefile").read_text(encoding="utf-8"))
    assert "@$(BIN)/mlops demo" in (ROOT / "Makefile").read_text(encoding="utf-8")
    others = [line for line in lines if not line.startswith("make ")]
    assert others and all(".venv/bin/mlops" in line for line in others), others


@pytest.fixture
def private_sandbox(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A sandbox directory of this test's own; its server is stopped afterwards, and the local
    runs the page starts are removed from the checkout's .cache/."""
    from tests.mlops.sandbox.helpers import sandbox_env

    directory = tmp_path / "sandbox"
    env = sandbox_env(directory)
    runs_before = set(RUNS.iterdir()) if RUNS.is_dir() else set()
    try:
        yield env
    finally:
        subprocess.run([sys.executable, "-m", "mlops.cli", "sandbox", "down"], cwd=ROOT,
                       env=env, capture_output=True, timeout=60, check=False)
        for run in (set(RUNS.iterdir()) if RUNS.is_dir() else set()) - runs_before:
            shutil.rmtree(run, ignore_errors=True)


@pytest.mark.slow  # starts a sandbox server and runs the churn pipeline locally
def test_the_quickstart_commands_run_against_the_sandbox(private_sandbox) -> None:
    lines = shell_lines(PAGE.read_text(encoding="utf-8"))
    commands = [line for line in lines if not line.startswith("make ")]
    # `.venv/bin/` of a checkout is this interpreter's bin folder here.
    bin_dir = Path(sys.executable).parent
    script = "\n".join(["set -euo pipefail", "set -x"]
                       + [line.replace(".venv/bin/", f"{bin_dir}/") for line in commands])
    env = {**private_sandbox, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Traceback" not in output
    assert "PASSED" in result.stdout, "policy check of dev"
    assert "ok   dev: churn" in result.stdout, "pipelines validate"
    assert "Register" in result.stdout and "Succeeded" in result.stdout, "the local run"
    assert re.search(r"PendingManualApproval .*auc=0\.\d+", result.stdout), \
        "models list shows the version the local run registered, with its AUC"
    assert "sandbox: stopped the server" in result.stdout, "the last step stops the sandbox"
