"""A promotion, applied: carry out the steps of a plan whose gates all passed.

A promotion not yet audited runs under the promotion lock (:mod:`mlops.ops.lock`) and looks for
the target package again once it holds the lock: if another run promoted the version meanwhile,
the plan is made again from that package, so this run completes it (or changes nothing). One
already audited is finished without the lock. The pin is written after the lock is released.
Every step is safe to repeat: the copy is content-addressed and verified, the package is found
by its source ARN, and a re-run's plan holds only what is still missing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlops.ops import artifacts, audit, lock
from mlops.ops.aws import OpsError
from mlops.ops.environment import KeyedEnv
from mlops.ops.metrics import as_metadata, store_report
from mlops.ops.packages import (
    DEFAULT_IMAGE,
    PackageStore,
    baseline_uri,
    drift_check_baselines,
    inference_spec,
)
from mlops.ops.pins import write_pin
from mlops.ops.promotion_facts import SOURCE_KEY, find_promoted
from mlops.ops.promotion_plan import PromotionFacts, PromotionPlan, Step, plan_promotion
from mlops.ops.versions import ModelVersion, to_version

LOCK_WAIT_SECONDS = 150.0


@dataclass(frozen=True)
class Applied:
    """What :func:`apply_promotion` did."""

    plan: PromotionPlan  # the plan carried out (made again under the lock if the target changed)
    performed: tuple[str, ...]  # the kinds of the steps that changed something, in order
    package: ModelVersion  # the target package
    audit_key: str
    pinned: bool | None  # None: not pinning; False: the pin was already there

    @property
    def outcome(self) -> str:
        """promoted (a new package), completed (an earlier run finished), or unchanged."""
        if "create" in self.performed:
            return "promoted"
        return "completed" if set(self.performed) - {"pin"} else "unchanged"


def _spec_pointing_at(pkg: ModelVersion, uri: str) -> dict[str, Any]:
    """The source's inference specification with every container pointing at ``uri``."""
    spec = json.loads(json.dumps(pkg.inference, default=str)) if pkg.inference else {}
    if not spec.get("Containers"):
        return inference_spec(DEFAULT_IMAGE.format(region=pkg.arn.split(":")[3]), uri)
    for container in spec["Containers"]:
        container["ModelDataUrl"] = uri
    return spec


def _create_promoted(env: KeyedEnv, store: PackageStore, facts: PromotionFacts,
                     uri: str) -> dict[str, Any]:
    """Create the target package (PendingManualApproval) for the artifact copied to ``uri``,
    with the metrics report and (when the source has one) the drift baseline next to it."""
    pkg = facts.source
    assert pkg.sha256  # the artifact gate passed
    meta = {
        "mlops:artifactSha256": pkg.sha256,
        SOURCE_KEY: pkg.arn,
        "mlops:sourceVersion": str(pkg.version),
        "mlops:sourceStack": facts.source_stack,
        "mlops:gitCommit": facts.git_commit,
        "mlops:operator": facts.operator[-256:],
        "mlops:promotedAt": audit.now(),
        **as_metadata(pkg.metrics),
    }
    request = {
        "ModelPackageDescription": (f"{pkg.project} v{pkg.version} promoted from "
                                    f"{facts.source_stack} ({pkg.arn})"),
        "InferenceSpecification": _spec_pointing_at(pkg, uri),
        "ModelApprovalStatus": "PendingManualApproval",
        "ModelMetrics": store_report(env, pkg.project, pkg.sha256, pkg.metrics),
        "CustomerMetadataProperties": meta,
    }
    baseline = _copy_baseline(env, pkg)
    if baseline:
        request["DriftCheckBaselines"] = drift_check_baselines(baseline)
    created = store.create(request, SOURCE_KEY, pkg.arn)
    # Two runs that raced past the lock keep the lowest version and retire the others.
    same = store.find(SOURCE_KEY, pkg.arn)
    if same and same[0]["ModelPackageArn"] != created["ModelPackageArn"]:
        store.retire(created, same[0]["ModelPackageArn"])
        return same[0]
    return created


def _copy_baseline(env: KeyedEnv, pkg: ModelVersion) -> str | None:
    """The source's drift baseline copied next to the target artifact, re-encrypted with the
    target key (like the metrics report); None when the source has no baseline."""
    assert pkg.sha256  # the artifact gate passed
    region = pkg.arn.split(":")[3] or env.settings.region
    source = env.aws.for_region(region).client("sagemaker").describe_model_package(
        ModelPackageName=pkg.arn)
    uri = baseline_uri(source)
    if uri is None:
        return None
    copied, _ = artifacts.copy_beside(env.client("s3"), uri, env.bucket, pkg.project, pkg.sha256,
                                      "baseline", env.encryption())
    return copied


@dataclass
class _Run:
    """One application of a plan: the target, and the package the steps have got to so far."""

    plan: PromotionPlan
    env: KeyedEnv
    pins_root: Path
    package: ModelVersion | None = None
    audit_key: str | None = None
    uri: str = ""
    performed: list[str] = field(default_factory=list)
    pinned: bool | None = None

    @classmethod
    def start(cls, plan: PromotionPlan, env: KeyedEnv, pins_root: Path) -> _Run:
        promoted = plan.facts.promoted
        return cls(plan, env, pins_root, package=promoted.package if promoted else None,
                   audit_key=promoted.audit_key if promoted else None)

    @property
    def store(self) -> PackageStore:
        return PackageStore(self.env, self.plan.facts.target.group)

    def carry_out(self, steps: list[Step]) -> None:
        actions: dict[str, Callable[[Step], bool]] = {
            "copy": self.copy, "create": self.create, "approve": self.approve,
            "audit": self.audit, "pin": self.pin}
        for step in steps:
            if actions[step.kind](step):
                self.performed.append(step.kind)

    def _copy_to(self, uri: str, why: str) -> str:
        source = self.plan.facts.source
        assert source.sha256  # the artifact gate passed
        bucket, key = artifacts.split_s3(uri) if uri else ("", "")
        if bucket != self.env.bucket:
            raise OpsError(f"{self.package.arn if self.package else uri}: {why}, and its artifact "
                           f"is not in s3://{self.env.bucket}/; fix or delete that package, "
                           "then re-run")
        return artifacts.copy(self.env.client("s3"), source.artifact, bucket, key, source.sha256,
                              self.env.encryption())

    def copy(self, step: Step) -> bool:
        promoted = self.plan.facts.promoted
        why = (promoted.artifact_problem if promoted else None) or "missing or altered"
        self.uri = self._copy_to(step.destination, why)
        return True

    def create(self, step: Step) -> bool:
        desc = _create_promoted(self.env, self.store, self.plan.facts, self.uri)
        self.package = to_version(self.env.stack, self.plan.facts.project, desc)
        return True

    def approve(self, step: Step) -> bool:
        """Approve, the artifact verified (and copied again if need be) right before."""
        assert self.package is not None and self.plan.facts.source.sha256
        ok, detail = artifacts.check(self.env.client("s3"), self.package.artifact,
                                     self.plan.facts.source.sha256)
        if not ok:
            self._copy_to(self.package.artifact, detail)
        desc = self.store.set_status(self.package.arn, self.package.metadata, "Approved",
                                     "auto-approved on promotion (promotion.autoApprove: true)",
                                     {"mlops:approvedBy": "promotion"})
        self.package = to_version(self.env.stack, self.plan.facts.project, desc)
        return True

    def audit(self, step: Step) -> bool:
        """Write the audit record; False when a record with the same id was already there."""
        facts, package = self.plan.facts, self.package
        assert package is not None
        source = facts.source
        self.audit_key, written = audit.record_change(self.env.aws, self.env.audit_target(), {
            "event": "promoted", "project": facts.project, "stack": facts.target.stack,
            "version": package.version, "packageArn": package.arn, "status": package.status,
            "artifact": package.artifact, "artifactSha256": source.sha256,
            "source": {"stack": facts.source_stack, "version": source.version,
                       "packageArn": source.arn, "artifact": source.artifact},
            "gates": [g.to_dict() for g in self.plan.gates], "operator": facts.operator,
            "gitCommit": facts.git_commit,
            "time": package.metadata.get("mlops:promotedAt") or audit.now(),
        }, f"promoted {facts.project} v{source.version} to {facts.target.stack} as {package.arn}",
            idempotency=self.plan.audit_id)
        return written

    def pin(self, step: Step) -> bool:
        assert self.package is not None
        self.pinned = write_pin(self.pins_root, self.env.stack, self.plan.facts.project,
                                self.package.version, self.package.arn,
                                self.package.artifact or None, self.plan.facts.source.sha256)
        return self.pinned


def lock_key(project: str, source_arn: str) -> str:
    """The promotion lock of one source package, in the target artifacts bucket."""
    return f"locks/promotion/{project}/{hashlib.sha256(source_arn.encode()).hexdigest()[:24]}.json"


def apply_promotion(plan: PromotionPlan, env: KeyedEnv, *, pins_root: Path,
                    lock_wait: float = LOCK_WAIT_SECONDS,
                    notify: Callable[[str], None] | None = None) -> Applied:
    """Carry out the steps of ``plan`` (every gate passed) in the target environment ``env``.

    ``pins_root`` holds the stack files to pin; ``notify`` hears about waiting for the lock.
    """
    facts = plan.facts
    if not plan.passed:
        raise ValueError("a promotion blocked by its gates has nothing to apply")
    if env.stack != facts.target.stack:
        raise ValueError(f"the plan promotes into {facts.target.stack}, not {env.stack}")
    key = lock_key(facts.project, facts.source.arn)
    s3 = env.client("s3")
    if facts.promoted is not None and facts.promoted.audit_key is not None:
        # Promoted and audited before: finish what a killed run may have left, without the lock.
        run = _Run.start(plan, env, pins_root)
        run.carry_out([s for s in plan.steps if s.kind != "pin"])
        lock.clear_stale(s3, env.bucket, key)
    else:  # new, or another run is still at it (it audits inside the lock), or it died
        with lock.lease(s3, env.bucket, key, facts.operator, wait=lock_wait,
                        put_args=env.encryption(), notify=notify):
            again = find_promoted(env, facts.target.group, facts.source,
                                  pins_root if plan.pin else None)
            run = _Run.start(plan_promotion(replace(facts, promoted=again), pin=plan.pin), env,
                             pins_root)
            run.carry_out([s for s in run.plan.steps if s.kind != "pin"])
    run.carry_out([s for s in run.plan.steps if s.kind == "pin"])  # outside the lock
    if plan.pin and run.pinned is None:
        run.pinned = False  # the plan had no pin step: already pinned
    assert run.package is not None and run.audit_key is not None
    return Applied(plan=run.plan, performed=tuple(run.performed), package=run.package,
                   audit_key=run.audit_key, pinned=run.pinned)
