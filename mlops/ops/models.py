"""Model versions across environments: register, list, approve/reject, promote (boto3).

Every function takes the project root (stack files, ``pipelines/<project>/project.yaml``) and an
optional :class:`~mlops.ops.aws.AwsClients`. Each change is audited in the target stack's trail.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from infra.projects.discover import project_names
from mlops.errors import UsageError
from mlops.ops import artifacts, audit, lock
from mlops.ops.aws import AwsClients, OpsError, error_code, is_not_found
from mlops.ops.environment import Env, KeyedEnv, environment, load_project
from mlops.ops.gates import GateInput, GateResult, run_gates
from mlops.ops.metrics import as_metadata, flatten_metrics, read_metrics, store_report
from mlops.ops.packages import DEFAULT_IMAGE, PackageStore, inference_spec
from mlops.ops.pins import write_pin
from mlops.ops.provenance import git_commit, operator
from mlops.ops.versions import ModelVersion, to_version

__all__ = ["OpsError", "PromotionResult", "approve", "list_versions", "promote", "register_model",
           "reject"]

LOCK_WAIT_SECONDS = 150.0


def list_versions(root: Path, project: str, stack: str, *,
                  aws: AwsClients | None = None) -> list[ModelVersion]:
    """Every version of a project in a stack, oldest first."""
    proj = load_project(root, project)
    env = environment(root, stack, aws)
    store = PackageStore(env, env.require_group(proj))
    s3 = env.client("s3")
    return [to_version(stack, project, store.describe(s["ModelPackageArn"]), s3)
            for s in store.summaries()]


def _store_artifact(env: KeyedEnv, project: str, artifact: str) -> tuple[str, str, str]:
    """The artifact (a local file or s3:// URI) stored content-addressed in ``env``'s bucket:
    ``(uri, sha256, where it came from)``."""
    s3 = env.client("s3")
    if not artifact.startswith("s3://"):
        local = Path(artifact)
        sha = artifacts.sha256_file(local)
        uri = artifacts.upload(s3, local, env.bucket, artifacts.key_for(project, sha, local.name),
                               sha, env.encryption())
        return uri, sha, str(local.resolve())
    bucket, src_key = artifacts.split_s3(artifact)
    try:
        sha = artifacts.sha256_object(s3, bucket, src_key)
    except Exception as exc:
        if is_not_found(exc):
            raise UsageError(f"{artifact}: no such object") from None
        raise
    uri = artifacts.copy(s3, artifact, env.bucket,
                         artifacts.key_for(project, sha, src_key.rsplit("/", 1)[-1]), sha,
                         env.encryption())
    return uri, sha, artifact


def register_model(root: Path, project: str, stack: str, artifact: str,
                   metrics: Path | dict[str, float], image: str | None = None, *,
                   aws: AwsClients | None = None) -> ModelVersion:
    """Register a model trained elsewhere, as the pipeline's register step does.

    The artifact (local path or s3:// URI) is stored in the stack's artifacts bucket, its
    SHA-256 recorded, metrics attached; the new version is PendingManualApproval.
    """
    if isinstance(metrics, Path):
        values = read_metrics(metrics)
    else:
        try:
            values = flatten_metrics(dict(metrics))
        except ValueError as exc:
            raise UsageError(f"metrics: {exc}") from None
    proj = load_project(root, project)
    if artifact.startswith("s3://"):
        artifacts.split_s3(artifact)
    elif not Path(artifact).is_file():
        raise UsageError(f"{artifact}: no such artifact file")
    found = environment(root, stack, aws)
    found.require_bucket()
    store = PackageStore(found, found.require_group(proj))
    env = found.with_key()
    uri, sha, origin = _store_artifact(env, project, artifact)
    who = operator(env.aws)
    request_id = uuid.uuid4().hex
    meta = {
        "mlops:origin": "register",
        "mlops:registeredFrom": origin[-256:],
        "mlops:artifactSha256": sha,
        "mlops:requestId": request_id,
        "mlops:operator": who[-256:],
        "mlops:gitCommit": git_commit(root),
        "mlops:registeredAt": audit.now(),
        **as_metadata(values),
    }
    request = {
        "ModelPackageDescription": f"{project} registered (request {request_id}) from {origin}"[:1024],
        "InferenceSpecification": inference_spec(image or DEFAULT_IMAGE.format(
            region=env.settings.region), uri),
        "ModelApprovalStatus": "PendingManualApproval",
        "ModelMetrics": store_report(env, project, sha, values),
        "CustomerMetadataProperties": meta,
    }
    version = to_version(stack, project, store.create(request, "mlops:requestId", request_id))
    audit.record_change(env.aws, env.audit_target(), {
        "event": "registered", "project": project, "stack": stack, "version": version.version,
        "packageArn": version.arn, "artifact": uri, "artifactSha256": sha, "metrics": values,
        "registeredFrom": origin, "operator": who, "gitCommit": meta["mlops:gitCommit"],
    }, f"registered {project} v{version.version} in {stack}")
    return version


def _checksum_for_approval(env: KeyedEnv, version: ModelVersion) -> str:
    """The artifact's verified SHA-256: never Approved with a missing or mismatched artifact.

    A package without a recorded checksum (one a pipeline registered) gets it recorded now.
    """
    s3 = env.client("s3")
    if version.sha256:
        ok, detail = artifacts.check(s3, version.artifact, version.sha256)
        if not ok:
            raise OpsError(detail)
        return version.sha256
    if not version.artifact:
        raise OpsError("the package has no artifact (ModelDataUrl)")
    bucket, key = artifacts.split_s3(version.artifact)
    try:
        return artifacts.sha256_object(s3, bucket, key)
    except Exception as exc:
        if is_not_found(exc) or error_code(exc) == "AccessDenied":
            raise OpsError(f"artifact {version.artifact} missing ({error_code(exc)})") from None
        raise


def _decide(root: Path, project: str, stack: str, version: int, approve: bool,
            reason: str | None, aws: AwsClients | None) -> ModelVersion:
    proj = load_project(root, project)
    found = environment(root, stack, aws)
    store = PackageStore(found, found.require_group(proj))
    env = found.with_key()
    desc = store.describe_version(project, version)
    who = operator(env.aws)
    current = to_version(stack, project, desc)
    at = audit.now()
    verb = "approved" if approve else "rejected"
    meta = {f"mlops:{verb}By": who[-256:], f"mlops:{verb}At": at}
    if approve:
        try:
            meta["mlops:artifactSha256"] = _checksum_for_approval(env, current)
        except OpsError as exc:
            raise OpsError(f"refusing to approve {project} v{version} in {stack}: {exc}") from None
    status = "Approved" if approve else "Rejected"
    text = f"{verb} by {who}" + (f": {reason}" if reason else "")
    result = to_version(stack, project, store.set_status(current.arn, current.metadata, status, text, meta),
                        env.client("s3"))
    audit.record_change(env.aws, env.audit_target(), {
        "event": verb, "project": project, "stack": stack, "version": version,
        "packageArn": result.arn, "previousStatus": current.status, "status": status,
        "reason": reason or "", "operator": who, "time": at,
    }, f"{verb} {project} v{version} in {stack}")
    return result


def approve(root: Path, project: str, stack: str, version: int, reason: str | None = None, *,
            aws: AwsClients | None = None) -> ModelVersion:
    """Approve a version (after checking its artifact); records who and why, audited."""
    return _decide(root, project, stack, version, True, reason, aws)


def reject(root: Path, project: str, stack: str, version: int, reason: str | None = None, *,
           aws: AwsClients | None = None) -> ModelVersion:
    """Reject a version; records who and why, audited."""
    return _decide(root, project, stack, version, False, reason, aws)


# --------------------------------------------------------------------------- promote


@dataclass
class PromotionResult:
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


def _firing_alarms(env: Env, project: str, projects: list[str]) -> list[str]:
    """The project's alarms (``<stem>-<project>-*``) in ALARM, not those of a project whose name
    extends this one (``churn`` must not see ``churn-v2``'s alarms)."""
    base = f"{env.naming.stem}-{project}"
    others = tuple(f"{env.naming.stem}-{p}-" for p in projects
                   if p != project and p.startswith(f"{project}-"))
    firing: list[str] = []
    pages = env.client("cloudwatch").get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=base)
    for page in pages:
        for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            name = str(alarm["AlarmName"])
            mine = (name == base or name.startswith(f"{base}-")) and not name.startswith(others)
            if mine and alarm.get("StateValue") == "ALARM":
                firing.append(name)
    return sorted(firing)


def promote(root: Path, project: str, version: int, source: str, target: str, *,
            dry_run: bool = False, pin: bool = True, aws: AwsClients | None = None,
            pins_root: Path | None = None, lock_wait: float = LOCK_WAIT_SECONDS,
            notify: Callable[[str], None] | None = None,
            on_gates: Callable[[PromotionResult], None] | None = None) -> PromotionResult:
    """Promote ``version`` of ``project`` from stack ``source`` to stack ``target`` through gates.

    Changes nothing unless every gate passes. Idempotent: an existing target package with the
    same source ARN is reused (and completed if an earlier run stopped half-way). ``on_gates``
    hears the gates (and the plan) before anything changes; ``notify`` hears about waiting for
    the lock; ``pins_root`` holds the stack files to pin (default ``root``).
    """
    if source == target:
        raise UsageError(f"--from and --to are the same stack ({source})")
    if version < 1:
        raise UsageError(f"--version must be >= 1 (got {version})")
    proj = load_project(root, project)
    src = environment(root, source, aws)
    found = environment(root, target, aws)
    src_store = PackageStore(src, src.require_group(proj))
    found.require_bucket()
    dst_group = found.require_group(proj)
    dst = found.with_key()
    dst_store = PackageStore(dst, dst_group)
    pkg = to_version(source, project, src_store.describe_version(project, version),
                     src.client("s3"))
    gate_input = GateInput(
        project=project, source_stack=source, target_stack=target,
        allow_from=list(dst.settings.promotion.allow_from),
        auto_approve=dst.settings.promotion.auto_approve,
        status=pkg.status, metrics=pkg.metrics, metric=proj.model.approval.metric,
        threshold=proj.model.threshold_for(target, dst.tier),
        threshold_source=f"pipelines/{project}/project.yaml: model.approval.thresholds.{target}",
        check_artifact=lambda: artifacts.check(src.client("s3"), pkg.artifact, pkg.sha256),
        firing_alarms=lambda: _firing_alarms(src, project, project_names(root)),
        alarm_prefix=f"{src.naming.stem}-{project}-",
    )
    result = PromotionResult(project, version, source, target, run_gates(gate_input),
                             dry_run=dry_run)
    name = pkg.artifact.rsplit("/", 1)[-1] or "model.tar.gz"
    dst_key = artifacts.key_for(project, pkg.sha256 or "unknown", name)
    initial = "Approved" if dst.settings.promotion.auto_approve else "PendingManualApproval"
    result.planned = [
        f"copy {pkg.artifact} -> s3://{dst.bucket}/{dst_key} (SSE-KMS {dst.naming.key_alias})",
        f"create model package in {dst_group} from {pkg.arn} ({initial})",
        f"audit record in s3://{dst.bucket}/{audit.PREFIX}/{project}/ and an EventBridge event",
    ]
    if pin:
        result.planned.append(f"pin {project} in stacks/Pulumi.{target}.yaml (mlops:models)")
    if dry_run and result.passed:
        existing = dst_store.find("mlops:sourcePackageArn", pkg.arn)
        if existing:
            result.planned = [f"nothing: already promoted as {existing[0]['ModelPackageArn']}"]
        result.outcome = "planned"
    if on_gates is not None:
        on_gates(result)
    if not result.passed or dry_run:
        return result

    who = operator(dst.aws)
    commit = git_commit(root)
    audit_id = f"promoted:{dst_group}:{pkg.arn}"
    lock_key = f"locks/promotion/{project}/{hashlib.sha256(pkg.arn.encode()).hexdigest()[:24]}.json"

    def ensure(existing: list[dict[str, Any]]) -> tuple[ModelVersion, str, str, bool]:
        if existing:
            desc, outcome = _complete(dst, dst_store, pkg, existing[0])
        else:
            created = _create_promoted(dst, dst_store, pkg, dst_key, source, who, commit)
            desc, _ = _complete(dst, dst_store, pkg, created, fresh=True)
            outcome = "promoted"
        promoted = to_version(target, project, desc)
        key, written = audit.record_change(dst.aws, dst.audit_target(), {
            "event": "promoted", "project": project, "stack": target,
            "version": promoted.version, "packageArn": promoted.arn, "status": promoted.status,
            "artifact": promoted.artifact, "artifactSha256": pkg.sha256,
            "source": {"stack": source, "version": version, "packageArn": pkg.arn,
                       "artifact": pkg.artifact},
            "gates": [g.to_dict() for g in result.gates], "operator": who,
            "gitCommit": commit, "time": promoted.metadata.get("mlops:promotedAt") or audit.now(),
        }, f"promoted {project} v{version} to {target} as {promoted.arn}", idempotency=audit_id)
        return promoted, outcome, key, written

    existing = dst_store.find("mlops:sourcePackageArn", pkg.arn)
    if existing and audit.find_record(dst.client("s3"), dst.audit_target(), project, audit_id):
        # Promoted and audited before: finish what a killed run may have left, without the lock.
        promoted, outcome, key, written = ensure(existing)
        lock.clear_stale(dst.client("s3"), dst.bucket, lock_key)
    else:  # new, or another run is still at it (it audits inside the lock), or it died
        with lock.lease(dst.client("s3"), dst.bucket, lock_key, who, wait=lock_wait,
                        put_args=dst.encryption(), notify=notify):
            promoted, outcome, key, written = ensure(
                dst_store.find("mlops:sourcePackageArn", pkg.arn))
    result.outcome = "completed" if written and outcome == "unchanged" else outcome
    result.target_arn = promoted.arn
    result.target_version = promoted.version
    result.target_status = promoted.status
    result.artifact = promoted.artifact
    result.audit_key = key
    if pin:
        result.pinned = write_pin(pins_root or root, target, project, promoted.version,
                                  promoted.arn)
    return result


def _create_promoted(dst: KeyedEnv, store: PackageStore, pkg: ModelVersion, dst_key: str,
                     source: str, who: str, commit: str) -> dict[str, Any]:
    """Copy the artifact, then create the target package (PendingManualApproval) pointing at it."""
    assert pkg.sha256  # the artifact gate passed
    uri = artifacts.copy(dst.client("s3"), pkg.artifact, dst.bucket, dst_key, pkg.sha256,
                         dst.encryption())
    meta = {
        "mlops:artifactSha256": pkg.sha256,
        "mlops:sourcePackageArn": pkg.arn,
        "mlops:sourceVersion": str(pkg.version),
        "mlops:sourceStack": source,
        "mlops:gitCommit": commit,
        "mlops:operator": who[-256:],
        "mlops:promotedAt": audit.now(),
        **as_metadata(pkg.metrics),
    }
    request = {
        "ModelPackageDescription": f"{pkg.project} v{pkg.version} promoted from {source} ({pkg.arn})",
        "InferenceSpecification": _spec_pointing_at(pkg, uri),
        "ModelApprovalStatus": "PendingManualApproval",
        "ModelMetrics": store_report(dst, pkg.project, pkg.sha256, pkg.metrics),
        "CustomerMetadataProperties": meta,
    }
    created = store.create(request, "mlops:sourcePackageArn", pkg.arn)
    # Two runs that raced past the lock keep the lowest version and retire the others.
    same = store.find("mlops:sourcePackageArn", pkg.arn)
    if same and same[0]["ModelPackageArn"] != created["ModelPackageArn"]:
        store.retire(created, same[0]["ModelPackageArn"])
        return same[0]
    return created


def _spec_pointing_at(pkg: ModelVersion, uri: str) -> dict[str, Any]:
    """The source's inference specification with every container pointing at ``uri``."""
    spec = json.loads(json.dumps(pkg.inference, default=str)) if pkg.inference else {}
    if not spec.get("Containers"):
        return inference_spec(DEFAULT_IMAGE.format(region=pkg.arn.split(":")[3]), uri)
    for container in spec["Containers"]:
        container["ModelDataUrl"] = uri
    return spec


def _complete(dst: KeyedEnv, store: PackageStore, pkg: ModelVersion, desc: dict[str, Any], *,
              fresh: bool = False) -> tuple[dict[str, Any], str]:
    """Finish a target package an earlier run left half-done: artifact, then approval.

    The artifact is verified (and copied again if missing or different) right before a package
    is approved, so no package is Approved with a missing or mismatched artifact. ``fresh``: the
    package was just created from an artifact verified moments ago.
    """
    assert pkg.sha256
    outcome = "unchanged"
    current = to_version(dst.stack, pkg.project, desc)
    approve_it = dst.settings.promotion.auto_approve and current.status == "PendingManualApproval"
    if not fresh or approve_it:
        s3 = dst.client("s3")
        ok, detail = artifacts.check(s3, current.artifact, pkg.sha256)
        if not ok:
            bucket, key = artifacts.split_s3(current.artifact) if current.artifact else ("", "")
            if bucket != dst.bucket:
                raise OpsError(f"{current.arn}: {detail}, and its artifact is not in "
                               f"s3://{dst.bucket}/; fix or delete that package, then re-run")
            artifacts.copy(s3, pkg.artifact, bucket, key, pkg.sha256, dst.encryption())
            outcome = "completed"
    if approve_it:
        desc = store.set_status(current.arn, current.metadata, "Approved",
                                "auto-approved on promotion (promotion.autoApprove: true)",
                                {"mlops:approvedBy": "promotion"})
        outcome = "completed"
    return desc, outcome
