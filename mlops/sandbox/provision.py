"""Provision stacks into the running sandbox server (start it first if needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mlops.sandbox import server
from mlops.sandbox.engine import ApplyResult, Outcome, apply_stack


def check_stacks(root: Path, stacks: list[str]) -> None:
    """Validate every stack file before the server starts (SettingsError names file and key)."""
    from mlops.offline.runtime import load_settings

    for stack in stacks:
        load_settings(root, stack)


def region_of(root: Path, stack: str) -> str:
    from mlops.offline.runtime import load_settings

    return load_settings(root, stack)[0].region


def provision(root: Path, stack: str, state: server.ServerState,
              on_outcome: Callable[[Outcome], None] | None = None) -> ApplyResult:
    """Apply one stack to the sandbox server and remember it in ``stacks.json``."""
    result = apply_stack(root, stack, endpoint_url=state.endpoint, on_outcome=on_outcome)
    counts = result.counts()
    server.record_stack(stack, {
        "resources": len(result.outcomes),
        "simulated": sum(1 for o in result.outcomes if o.simulated),
        "not_simulated": counts.get("not simulated", 0),
        "failed": counts.get("failed", 0),
        "outputs": result.plan.outputs,
    })
    return result
