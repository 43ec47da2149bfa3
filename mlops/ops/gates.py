"""Promotion gates: small functions in a table, each returning pass/fail and a detail line.

A gate never changes anything. An AWS error inside a gate fails that gate (with the error as the
detail) rather than the command, so the table is always complete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlops.ops.aws import describe_error


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"gate": self.name, "passed": self.passed, "detail": self.detail}


@dataclass
class GateInput:
    """What the gates look at: the source version, both environments, the project's rules."""

    project: str
    source_stack: str
    target_stack: str
    allow_from: list[str]
    auto_approve: bool
    status: str
    metrics: dict[str, float]
    metric: str | None
    threshold: float | None
    threshold_source: str
    # () -> (ok, detail); checks the artifact against its registered checksum.
    check_artifact: Callable[[], tuple[bool, str]]
    # () -> names of the project's alarms in the source environment that are in ALARM.
    firing_alarms: Callable[[], list[str]]
    alarm_prefix: str = ""


def gate_allowed(g: GateInput) -> tuple[bool, str]:
    if g.source_stack in g.allow_from:
        return True, f"{g.target_stack} allows promotion from {g.source_stack}"
    allowed = ", ".join(g.allow_from) or "nothing"
    return False, (f"{g.target_stack} allows promotion from {allowed}, not {g.source_stack} "
                   f"(mlops:promotion.allowFrom)")


def gate_approved(g: GateInput) -> tuple[bool, str]:
    if g.status == "Approved":
        return True, f"source version is Approved in {g.source_stack}"
    return False, f"source version is {g.status or 'unknown'} in {g.source_stack}, not Approved"


def gate_metrics(g: GateInput) -> tuple[bool, str]:
    if g.metric is None or g.threshold is None:
        return False, f"no approval threshold for {g.target_stack} ({g.threshold_source})"
    value = g.metrics.get(g.metric)
    if value is None:
        known = ", ".join(sorted(g.metrics)) or "none"
        return False, f"metric {g.metric} not recorded on the source version (metrics: {known})"
    verdict = ">=" if value >= g.threshold else "<"
    return value >= g.threshold, (
        f"{g.metric} {value:g} {verdict} {g.threshold:g} ({g.target_stack} threshold)"
    )


def gate_artifact(g: GateInput) -> tuple[bool, str]:
    return g.check_artifact()


def gate_alarms(g: GateInput) -> tuple[bool, str]:
    firing = g.firing_alarms()
    if firing:
        return False, f"in ALARM in {g.source_stack}: {', '.join(firing)}"
    return True, f"no alarm {g.alarm_prefix}* in ALARM"


def gate_target_status(g: GateInput) -> tuple[bool, str]:
    if g.auto_approve:
        return True, f"new package starts Approved in {g.target_stack} (promotion.autoApprove: true)"
    return True, f"new package starts PendingManualApproval in {g.target_stack}"


GATES: list[tuple[str, Callable[[GateInput], tuple[bool, str]]]] = [
    ("promotion allowed", gate_allowed),
    ("source approved", gate_approved),
    ("metrics meet threshold", gate_metrics),
    ("artifact checksum", gate_artifact),
    ("no alarms firing", gate_alarms),
    ("target approval", gate_target_status),
]


def run_gates(g: GateInput) -> list[GateResult]:
    """Every gate, in order; all of them run so the table shows every problem at once."""
    results = []
    for name, check in GATES:
        try:
            ok, detail = check(g)
        except Exception as exc:  # an AWS or I/O error fails the gate, never the command
            ok, detail = False, f"could not check: {describe_error(exc)}"
        results.append(GateResult(name, ok, detail))
    return results
