"""`make up` / `make destroy` / `mlops stacks drift`: the real Pulumi CLI, always with the
policy pack for changes, and a refresh-only preview for drift."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from infra.config import stack_file
from mlops.errors import UsageError
from mlops.offline.runtime import load_settings

INSTALL_HINT = (
    "the Pulumi CLI is not installed: install it with `curl -fsSL https://get.pulumi.com | sh` "
    "(https://www.pulumi.com/docs/install/); `make preview STACK=...` works without it"
)


def pulumi_command(root: Path, action: str, stack: str, *, yes: bool = False) -> list[str]:
    """The pulumi invocation for ``action`` (up|destroy) on ``stack``, after the safety checks.

    ``yes`` skips pulumi's confirmation prompt (CI has no terminal; pulumi refuses to run
    without it there); the preview still runs first and the policy pack still judges it."""
    settings, _ = load_settings(root, stack)  # a bad or missing stack file stops here
    if action == "destroy" and (settings.is_prod or stack == "prod"):
        raise UsageError(
            f"{stack_file(stack)}: refusing to destroy a prod stack (mlops:environment: "
            f"{settings.environment}); its stateful resources are protected and retained"
        )
    if shutil.which("pulumi") is None:
        raise UsageError(INSTALL_HINT)
    command = ["pulumi", action, "--stack", stack, "--cwd", str(root)]
    if action == "up":
        command += ["--policy-pack", str(root / "policies")]
        config = root / "policies" / "config" / f"{settings.environment}.json"
        if config.is_file():
            command += ["--policy-pack-config", str(config)]
    if yes:
        command.append("--yes")
    return command


def run_pulumi(root: Path, action: str, stack: str, *, yes: bool = False) -> int:
    """Run pulumi in the foreground; its exit code is ours."""
    return subprocess.call(pulumi_command(root, action, stack, yes=yes))


# What pulumi prints when --expect-no-changes meets changes (older releases: "error: no changes
# were expected but changes were proposed"; newer: "... expected for preview but ...").
NO_CHANGES_EXPECTED = re.compile(r"no changes were expected(?: for \w+)? but changes were proposed")


@dataclass(frozen=True)
class DriftResult:
    """What `mlops stacks drift` found: ``drifted`` (pulumi proposed changes), ``failed`` (the
    preview did not finish: credentials, backend, program error), neither (in sync)."""

    stack: str
    drifted: bool
    failed: bool
    exit_code: int
    command: list[str]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exitCode"] = data.pop("exit_code")
        return data


def drift_command(root: Path, stack: str) -> list[str]:
    """``pulumi preview --refresh --expect-no-changes``: reads the live resources and the state,
    compares them with the program, and writes nothing (a preview takes no lock and saves no
    checkpoint)."""
    load_settings(root, stack)  # a bad or missing stack file stops here
    if shutil.which("pulumi") is None:
        raise UsageError(INSTALL_HINT)
    return ["pulumi", "preview", "--refresh", "--expect-no-changes", "--diff", "--stack", stack,
            "--cwd", str(root)]


def check_drift(root: Path, stack: str, echo: TextIO | None = None) -> DriftResult:
    """Run the drift preview, passing its output through to ``echo`` (stderr by default)."""
    command = drift_command(root, stack)
    echo = echo or sys.stderr
    seen = False
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace") as process:
        assert process.stdout is not None
        for line in process.stdout:
            echo.write(line)
            seen = seen or bool(NO_CHANGES_EXPECTED.search(line))
        code = process.wait()
    drifted = code != 0 and seen
    return DriftResult(stack=stack, drifted=drifted, failed=code != 0 and not drifted,
                       exit_code=code, command=command)
