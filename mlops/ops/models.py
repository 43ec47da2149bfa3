"""Model versions of a project in one stack: register, list, approve, reject (boto3).

Every function takes the project root (stack files, ``pipelines/<project>/project.yaml``) and an
optional :class:`~mlops.ops.aws.AwsClients`. Each change is audited in the stack's own trail.
Promotion between stacks is :mod:`mlops.ops.promotion`.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from mlops.errors import UsageError
from mlops.ops import artifacts, audit
from mlops.ops.aws import AwsClients, OpsError, error_code, is_not_found
from mlops.ops.environment import KeyedEnv, environment, load_project
from mlops.ops.metrics import as_metadata, flatten_metrics, read_metrics, store_report
from mlops.ops.packages import DEFAULT_IMAGE, PackageStore, inference_spec
from mlops.ops.provenance import git_commit, operator
from mlops.ops.versions import ModelVersion, to_version

__all__ = ["OpsError", "approve", "list_versions", "register_model", "reject"]


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
