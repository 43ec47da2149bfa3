"""Promote a model version from one stack to the next: gather the facts, plan, apply.

:func:`mlops.ops.promotion_facts.gather_facts` reads what a promotion depends on,
:func:`mlops.ops.promotion_plan.plan_promotion` (pure) turns it into the gates and the steps,
:func:`mlops.ops.promotion_apply.apply_promotion` carries the steps out. :func:`promote` does the
three in order and reports a :class:`PromotionResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops.errors import UsageError
from mlops.ops.aws import AwsClients
from mlops.ops.gates import GateResult
from mlops.ops.promotion_apply import LOCK_WAIT_SECONDS, apply_promotion
from mlops.ops.promotion_facts import gather_facts
from mlops.ops.promotion_plan import PromotionPlan, plan_promotion

__all__ = ["PromotionResult", "promote"]


@dataclass
class PromotionResult:
    """What `mlops models promote` reports (``--json`` prints :meth:`to_dict`)."""

    project: str
    version: int
    source: str
    target: str
    gates: list[GateResult]
    dry_run: bool = False
    outcome: str = "blocked"  # blocked | planned | promoted | unchanged | completed
    planned: list[str] = field(default_factory=list)
    target_arn: str | None = None
    target_version: int | None = None
    target_status: str | None = None
    artifact: str | None = None
    pinned: bool | None = None
    audit_key: str | None = None

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["gates"] = [g.to_dict() for g in self.gates]
        data["passed"] = self.passed
        return data


def promote(root: Path, project: str, version: int, source: str, target: str, *,
            dry_run: bool = False, pin: bool = True, aws: AwsClients | None = None,
            pins_root: Path | None = None, lock_wait: float = LOCK_WAIT_SECONDS,
            notify: Callable[[str], None] | None = None,
            on_plan: Callable[[PromotionPlan], None] | None = None) -> PromotionResult:
    """Promote ``version`` of ``project`` from stack ``source`` to stack ``target`` through gates.

    Gathers the facts, plans, and (unless ``dry_run`` or a gate failed) applies the plan.
    ``on_plan`` hears the plan (gates and steps) before anything changes; ``notify`` hears about
    waiting for the lock; ``pins_root`` holds the stack files to pin (default ``root``).
    """
    if source == target:
        raise UsageError(f"--from and --to are the same stack ({source})")
    if version < 1:
        raise UsageError(f"--version must be >= 1 (got {version})")
    pins = pins_root or root
    facts, env = gather_facts(root, project, version, source, target, aws=aws,
                              pins_root=pins if pin else None)
    plan = plan_promotion(facts, pin=pin)
    if on_plan is not None:
        on_plan(plan)
    result = PromotionResult(project, version, source, target, list(plan.gates), dry_run=dry_run,
                             planned=plan.lines())
    if not plan.passed:
        return result
    if dry_run:
        result.outcome = "planned"
        return result
    applied = apply_promotion(plan, env, pins_root=pins, lock_wait=lock_wait, notify=notify)
    result.outcome = applied.outcome
    result.target_arn = applied.package.arn
    result.target_version = applied.package.version
    result.target_status = applied.package.status
    result.artifact = applied.package.artifact
    result.audit_key = applied.audit_key
    result.pinned = applied.pinned
    return result
