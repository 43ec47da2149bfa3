"""A promotion, planned: from facts gathered beforehand to the gates and the ordered steps.

:func:`plan_promotion` is pure: it makes no AWS call, reads no clock, no file and no environment
variable. Everything it looks at is in :class:`PromotionFacts`, which
:func:`mlops.ops.promotion_facts.gather_facts` collects; the checks that talk to AWS (the source
artifact, the alarms) are made there and their answers (or errors) handed in. The same facts
always give the same plan, and the plan is what `mlops models promote --dry-run` prints and what
:func:`mlops.ops.promotion_apply.apply_promotion` carries out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, cast

from mlops.ops import artifacts, audit
from mlops.ops.aws import describe_error
from mlops.ops.gates import GateInput, GateResult, run_gates
from mlops.ops.versions import ModelVersion

T = TypeVar("T")
StepKind = Literal["copy", "create", "approve", "audit", "pin"]
PENDING = "PendingManualApproval"


def audit_id(group: str, source_arn: str) -> str:
    """The idempotency id of a promotion's audit record: the target group and the source ARN."""
    return f"promoted:{group}:{source_arn}"


@dataclass(frozen=True)
class Checked(Generic[T]):
    """The answer of a check made while gathering facts, or the error it raised.

    :meth:`get` raises that error again, so a gate fails with it as its detail exactly as when
    the gate makes the check itself.
    """

    value: T | None = None
    error: BaseException | None = None

    @classmethod
    def of(cls, check: Callable[[], T]) -> Checked[T]:
        try:
            return cls(value=check())
        except Exception as exc:  # kept for the gate to report
            return cls(error=exc)

    def get(self) -> T:
        if self.error is not None:
            raise self.error
        return cast(T, self.value)


@dataclass(frozen=True)
class TargetFacts:
    """The target environment: names, and its promotion settings."""

    stack: str
    tier: str
    bucket: str
    key_alias: str
    group: str
    allow_from: tuple[str, ...]
    auto_approve: bool


@dataclass(frozen=True)
class Promoted:
    """A target package already promoted from the source (by an earlier or a concurrent run)."""

    package: ModelVersion
    # Its artifact checked against the source checksum: (ok, detail).
    artifact: Checked[tuple[bool, str]]
    audit_key: str | None  # its audit record, if written
    pinned: bool  # the target stack file pins exactly this package

    @property
    def artifact_problem(self) -> str | None:
        """Why its artifact must be copied again; None when it matches the source checksum."""
        if self.artifact.error is not None:
            return f"could not check it: {describe_error(self.artifact.error)}"
        ok, detail = self.artifact.get()
        return None if ok else detail


@dataclass(frozen=True)
class PromotionFacts:
    """Everything a promotion plan is made from."""

    project: str
    source_stack: str
    source: ModelVersion
    target: TargetFacts
    metric: str | None
    threshold: float | None
    artifact_check: Checked[tuple[bool, str]]  # the source artifact against its checksum
    firing_alarms: Checked[list[str]]  # the project's alarms in ALARM in the source stack
    alarm_prefix: str
    promoted: Promoted | None
    operator: str
    git_commit: str


@dataclass(frozen=True)
class Step:
    """One change the promotion makes; ``text`` is the line --dry-run prints."""

    kind: StepKind
    text: str
    destination: str = ""  # copy steps: the s3:// URI the artifact is copied to


@dataclass(frozen=True)
class PromotionPlan:
    """The gates and, when every gate passes, the steps in the order they are taken."""

    facts: PromotionFacts
    pin: bool
    gates: tuple[GateResult, ...]
    steps: tuple[Step, ...]

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def audit_id(self) -> str:
        return audit_id(self.facts.target.group, self.facts.source.arn)

    def lines(self) -> list[str]:
        """The steps as printed: none when blocked; "nothing: ..." when already promoted."""
        if not self.passed:
            return []
        if not self.steps and self.facts.promoted is not None:
            return [f"nothing: already promoted as {self.facts.promoted.package.arn}"]
        return [step.text for step in self.steps]


def gate_input(facts: PromotionFacts) -> GateInput:
    """What the gates look at, from the facts (the checks' answers, not the checks)."""
    return GateInput(
        project=facts.project, source_stack=facts.source_stack, target_stack=facts.target.stack,
        allow_from=list(facts.target.allow_from), auto_approve=facts.target.auto_approve,
        status=facts.source.status, metrics=facts.source.metrics, metric=facts.metric,
        threshold=facts.threshold,
        threshold_source=(f"pipelines/{facts.project}/project.yaml: "
                          f"model.approval.thresholds.{facts.target.stack}"),
        check_artifact=facts.artifact_check.get,
        firing_alarms=facts.firing_alarms.get,
        alarm_prefix=facts.alarm_prefix,
    )


def _audit_step(facts: PromotionFacts) -> Step:
    return Step("audit", f"audit record in s3://{facts.target.bucket}/{audit.PREFIX}/"
                         f"{facts.project}/ and an EventBridge event")


def _pin_step(facts: PromotionFacts) -> Step:
    return Step("pin", f"pin {facts.project} in stacks/Pulumi.{facts.target.stack}.yaml "
                       "(mlops:models)")


def _new_steps(facts: PromotionFacts, pin: bool) -> list[Step]:
    source, target = facts.source, facts.target
    name = source.artifact.rsplit("/", 1)[-1] or "model.tar.gz"
    uri = f"s3://{target.bucket}/{artifacts.key_for(facts.project, source.sha256 or 'unknown', name)}"
    steps = [
        Step("copy", f"copy {source.artifact} -> {uri} (SSE-KMS {target.key_alias})", uri),
        Step("create", f"create model package in {target.group} from {source.arn} ({PENDING})"),
    ]
    if target.auto_approve:
        steps.append(Step("approve", "approve it, its artifact verified again first "
                                     "(promotion.autoApprove: true)"))
    steps.append(_audit_step(facts))
    if pin:
        steps.append(_pin_step(facts))
    return steps


def _completing_steps(facts: PromotionFacts, promoted: Promoted, pin: bool) -> list[Step]:
    """What an earlier run that stopped half-way left to do."""
    package, steps = promoted.package, []
    if promoted.artifact_problem is not None:
        steps.append(Step("copy", f"copy {facts.source.artifact} -> {package.artifact} again "
                                  f"({promoted.artifact_problem})", package.artifact))
    if facts.target.auto_approve and package.status == PENDING:
        steps.append(Step("approve", f"approve {package.arn}, its artifact verified again first "
                                     "(promotion.autoApprove: true)"))
    if promoted.audit_key is None:
        steps.append(_audit_step(facts))
    if pin and not promoted.pinned:
        steps.append(_pin_step(facts))
    return steps


def plan_promotion(facts: PromotionFacts, *, pin: bool = True) -> PromotionPlan:
    """The gates, and the steps a promotion takes when they all pass (none when one fails).

    New: copy the artifact, create the package (pending), approve it if the target auto-approves,
    audit, pin. Already promoted: only what is missing of that (nothing at all:
    ``lines()`` says "nothing: already promoted as <ARN>"). ``pin`` False leaves the stack file.
    """
    gates = tuple(run_gates(gate_input(facts)))
    if not all(g.passed for g in gates):
        steps: list[Step] = []
    elif facts.promoted is None:
        steps = _new_steps(facts, pin)
    else:
        steps = _completing_steps(facts, facts.promoted, pin)
    return PromotionPlan(facts=facts, pin=pin, gates=gates, steps=tuple(steps))
