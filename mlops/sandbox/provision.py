"""Provision stacks into the running sandbox server (start it first if needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mlops.errors import UsageError
from mlops.offline.engine import ApplyResult, Outcome, apply_stack
from mlops.sandbox import server


def known_stacks(root: Path) -> list[str]:
    """Stacks with a stack file, in promotion order (dev, staging, prod first)."""
    names = [p.name.removeprefix("Pulumi.").removesuffix(".yaml")
             for p in sorted((root / "stacks").glob("Pulumi.*.yaml"))]
    order = {"dev": 0, "staging": 1, "prod": 2}
    return sorted(names, key=lambda n: (order.get(n, 3), n))


def check_stacks(root: Path, stacks: list[str]) -> None:
    known = known_stacks(root)
    for stack in stacks:
        if stack not in known:
            raise UsageError(f"unknown stack {stack!r}: no stacks/Pulumi.{stack}.yaml "
                             f"(known: {', '.join(known)})")


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
