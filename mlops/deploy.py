"""`make up` / `make destroy`: the real Pulumi CLI, always with the policy pack."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from infra.config import stack_file
from mlops.errors import UsageError
from mlops.offline.runtime import load_settings

INSTALL_HINT = (
    "the Pulumi CLI is not installed: install it with `curl -fsSL https://get.pulumi.com | sh` "
    "(https://www.pulumi.com/docs/install/); `make preview STACK=...` works without it"
)


def pulumi_command(root: Path, action: str, stack: str) -> list[str]:
    """The pulumi invocation for ``action`` (up|destroy) on ``stack``, after the safety checks."""
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
    return command


def run_pulumi(root: Path, action: str, stack: str) -> int:
    """Run pulumi in the foreground; its exit code is ours."""
    return subprocess.call(pulumi_command(root, action, stack))
