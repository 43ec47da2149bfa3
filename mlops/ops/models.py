"""Model versions across environments: register, list, approve/reject, promote (boto3).

Every function takes the project root (stack files, ``pipelines/<project>/project.yaml``) and an
optional :class:`~mlops.ops.aws.AwsClients`; the environment of a stack comes from its stack file,
the account from STS, and names from :class:`infra.naming.Naming`.

Where things are recorded on a model package (``CustomerMetadataProperties``):

- ``mlops:artifactSha256`` SHA-256 of the model artifact at registration (or, for a package a
  pipeline registered, at its first approval); checked before every approval and promotion;
  ``metric:<name>`` each metric (also in ``ModelMetrics``, a JSON object next to the artifact);
- registration: ``mlops:origin=register``, ``mlops:registeredFrom``, ``mlops:requestId``;
- promotion lineage: ``mlops:sourcePackageArn``, ``mlops:sourceVersion``, ``mlops:sourceStack``,
  ``mlops:gitCommit``, ``mlops:operator``, ``mlops:promotedAt``;
- approval: ``mlops:approvedBy``/``mlops:approvedAt`` (or ``mlops:rejectedBy``/``...At``) and the
  reason in ``ApprovalDescription``.

Artifacts are content-addressed in each environment's model-artifacts bucket (see
:mod:`mlops.ops.artifacts`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from infra.config import Settings
from infra.naming import Naming
from infra.projects.discover import PROJECT_NAME, project_names
from infra.projects.manifest import ProjectManifest
from mlops.errors import UsageError
from mlops.ops import artifacts, audit, lock
from mlops.ops.aws import (
    AwsClients,
    OpsError,
    clients,
    describe_error,
    error_code,
    is_not_found,
    is_retryable,
)
from mlops.ops.gates import GateInput, GateResult, run_gates
from mlops.ops.pins import write_pin

__all__ = ["ModelVersion", "NotProvisioned", "OpsError", "PromotionResult", "approve",
           "describe_source", "flatten_metrics", "lineage", "list_versions", "promote", "read_metrics",
           "register_model", "reject"]

# Default inference image when --image is not given: the SageMaker XGBoost 1.7-1 image, which
# AWS publishes from account 683313688378 in us-east-1, eu-west-1 and most commercial regions.
# Pass --image for other regions, frameworks or your own container.
DEFAULT_IMAGE = "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1"
ARTIFACTS = "model-artifacts"
METRIC = "metric:"
LOCK_WAIT_SECONDS = 150.0
CREATE_ATTEMPTS = 5
CREATE_BACKOFF_SECONDS = 0.2
METRIC_NAME = re.compile(r"^[A-Za-z0-9_.:/=+@-]{1,100}$")


class NotProvisioned(UsageError):
    """A bucket, key or model package group an operation needs does not exist."""


# --------------------------------------------------------------------------- projects


def _project(root: Path, project: str) -> ProjectManifest:
    """The project's manifest (fully validated); UsageError naming the file and key."""
    from infra.projects.errors import ProjectError
    from infra.projects.manifest import load_manifest

    if not PROJECT_NAME.match(project):
        raise UsageError(f"not a project name: {project!r}")
    if not (root / "pipelines" / project / "project.yaml").is_file():
        raise UsageError(f"pipelines/{project}/project.yaml: no such project "
                         f"(projects: {', '.join(project_names(root)) or 'none'})")
    try:
        return load_manifest(root / "pipelines" / project, root)
    except ProjectError as exc:
        raise UsageError(str(exc)) from None


# --------------------------------------------------------------------------- environments


@dataclass
class Env:
    """One stack's environment as seen through boto3."""

    stack: str
    settings: Settings
    naming: Naming
    aws: AwsClients
    _key_arn: str | None = None

    @property
    def tier(self) -> str:
        return self.settings.environment

    @property
    def bucket(self) -> str:
        return self.naming.bucket(ARTIFACTS)

    def group(self, project: ProjectManifest) -> str:
        return self.naming.package_group(project.package_group)

    def client(self, service: str, *, retries: bool = True) -> Any:
        return self.aws.client(service, retries=retries)

    def _missing(self, what: str) -> NotProvisioned:
        return NotProvisioned(f"stack {self.stack}: {what} not found (is the stack deployed? "
                              f"run: mlops up --stack {self.stack})")

    def key_arn(self) -> str:
        if self._key_arn is None:
            try:
                meta = self.client("kms").describe_key(KeyId=self.naming.key_alias)["KeyMetadata"]
            except Exception as exc:
                if error_code(exc) == "NotFoundException":
                    raise self._missing(f"KMS key {self.naming.key_alias}") from None
                raise
            self._key_arn = str(meta["Arn"])
        return self._key_arn

    def encryption(self) -> dict[str, str]:
        """S3 write arguments: SSE-KMS with this environment's key."""
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.key_arn()}

    def require_bucket(self) -> None:
        try:
            self.client("s3").head_bucket(Bucket=self.bucket)
        except Exception as exc:
            if is_not_found(exc):
                raise self._missing(f"bucket {self.bucket}") from None
            raise

    def require_group(self, project: ProjectManifest) -> str:
        group = self.group(project)
        try:
            self.client("sagemaker").describe_model_package_group(ModelPackageGroupName=group)
        except Exception as exc:
            if error_code(exc) in ("ValidationException", "ResourceNotFound"):
                raise NotProvisioned(
                    f"stack {self.stack}: model package group {group} not found (is project "
                    f"{project.name} deployed to {self.stack}?)") from None
            raise
        return group

    def audit_target(self) -> audit.AuditTarget:
        return audit.AuditTarget(bucket=self.bucket, key_arn=self.key_arn())


def environment(root: Path, stack: str, aws: AwsClients | None = None) -> Env:
    """The environment of ``stack``: settings from its file, account from STS."""
    from mlops.offline.runtime import load_settings

    settings, _ = load_settings(root, stack)
    session = (aws or clients(settings.region)).for_region(settings.region)
    account = session.identity()["Account"]
    if settings.account_id and settings.account_id != account:
        raise UsageError(f"stack {stack} is account {settings.account_id} (mlops:accountId) but "
                         f"the credentials are for {account}")
    naming = Naming(prefix=settings.name_prefix, stack=stack, account_id=account,
                    region=settings.region)
    return Env(stack, settings, naming, session)


def _operator(aws: AwsClients) -> str:
    """MLOPS_OPERATOR, else the STS caller ARN, else $USER."""
    named = os.environ.get("MLOPS_OPERATOR")
    if named:
        return named
    try:
        return aws.identity()["Arn"]
    except Exception:
        return os.environ.get("USER", "unknown")


def _git_commit(root: Path) -> str:
    for var in ("MLOPS_GIT_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


# --------------------------------------------------------------------------- versions


@dataclass
class ModelVersion:
    """One model package as the tools show it; ``source`` is its lineage (see :func:`lineage`)."""

    project: str
    stack: str
    version: int
    arn: str
    status: str
    metrics: dict[str, float]
    source: dict[str, Any]
    artifact: str
    sha256: str | None
    created: str
    approval: str | None
    metadata: dict[str, str]
    inference: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("inference")
        return data


def lineage(meta: dict[str, str]) -> dict[str, Any]:
    """Where a package came from: ``kind`` promotion (source stack, version, package ARN),
    registration (the artifact it was registered from) or pipeline; with commit, operator, time."""
    common = {"gitCommit": meta.get("mlops:gitCommit"), "operator": meta.get("mlops:operator")}
    if meta.get("mlops:sourcePackageArn"):
        version = meta.get("mlops:sourceVersion", "")
        return {"kind": "promotion", "stack": meta.get("mlops:sourceStack"),
                "version": int(version) if version.isdigit() else None,
                "packageArn": meta["mlops:sourcePackageArn"], **common,
                "time": meta.get("mlops:promotedAt")}
    if meta.get("mlops:origin") == "register":
        return {"kind": "registration", "from": meta.get("mlops:registeredFrom"), **common,
                "time": meta.get("mlops:registeredAt")}
    return {"kind": "pipeline"}


def describe_source(source: dict[str, Any]) -> str:
    """One line for a table: "promoted from dev v1", "registered from model.tar.gz"."""
    if source.get("kind") == "promotion":
        return f"promoted from {source.get('stack')} v{source.get('version')}"
    if source.get("kind") == "registration":
        return f"registered from {source.get('from')}"
    return str(source.get("kind", "unknown"))


def flatten_metrics(data: Any) -> dict[str, float]:
    """Metrics as ``{name: number}`` from a flat map (``{"auc": 0.91}``) or an evaluation report
    (``{"metrics": {"auc": {"value": 0.91}}}``, what the example evaluation steps write; any group
    name). ValueError naming the key on anything else."""
    if not isinstance(data, dict) or not data:
        raise ValueError('must be a JSON object of metric name -> number (e.g. {"auc": 0.91})')
    out: dict[str, float] = {}

    def put(name: str, value: Any, where: str) -> None:
        if isinstance(value, dict) and "value" in value:
            value, where = value["value"], f"{where}.value"
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise ValueError(f"{where}: must be a number (got {value!r})")
        if not METRIC_NAME.match(name):
            raise ValueError(f"{where}: {name!r} is not a metric name")
        if name in out:
            raise ValueError(f"{where}: metric {name} given twice")
        out[name] = float(value)

    for key, value in data.items():
        if isinstance(value, dict) and "value" not in value and value:
            for name, inner in value.items():
                put(str(name), inner, f"{key}.{name}")
        else:
            put(str(key), value, str(key))
    return out


def _metrics_from_report(s3: Any, desc: dict[str, Any]) -> dict[str, float]:
    uri = (((desc.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics")
           or {}).get("S3Uri")
    if not uri:
        return {}
    try:
        bucket, key = artifacts.split_s3(uri)
        return flatten_metrics(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    except Exception:  # an unreadable report: no metrics, so the metrics gate fails
        return {}


def _to_version(env: Env, project: str, desc: dict[str, Any], s3: Any | None = None) -> ModelVersion:
    """A package description as a ModelVersion; with ``s3``, metrics a pipeline registered only
    as a ModelMetrics report are read from that report."""
    meta = {str(k): str(v) for k, v in (desc.get("CustomerMetadataProperties") or {}).items()}
    metrics: dict[str, float] = {}
    for key, value in meta.items():
        if key.startswith(METRIC):
            try:
                metrics[key[len(METRIC):]] = float(value)
            except ValueError:
                continue
    if not metrics and s3 is not None:
        metrics = _metrics_from_report(s3, desc)
    containers = (desc.get("InferenceSpecification") or {}).get("Containers") or [{}]
    created: Any = desc.get("CreationTime")
    return ModelVersion(
        project=project,
        stack=env.stack,
        version=int(desc.get("ModelPackageVersion") or 0),
        arn=str(desc["ModelPackageArn"]),
        status=str(desc.get("ModelApprovalStatus") or "Unknown"),
        metrics=metrics,
        source=lineage(meta),
        artifact=str(containers[0].get("ModelDataUrl", "")),
        sha256=meta.get("mlops:artifactSha256"),
        created=created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
        approval=desc.get("ApprovalDescription"),
        metadata=meta,
        inference=dict(desc.get("InferenceSpecification") or {}),
    )


def _summaries(env: Env, group: str) -> list[dict[str, Any]]:
    sm = env.client("sagemaker")
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "MaxResults": 100}
    while True:
        page = sm.list_model_packages(**kwargs)
        out.extend(page.get("ModelPackageSummaryList", []))
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    return sorted(out, key=lambda s: int(s.get("ModelPackageVersion") or 0))


def _describe(env: Env, arn: str) -> dict[str, Any]:
    return dict(env.client("sagemaker").describe_model_package(ModelPackageName=arn))


def _describe_version(env: Env, project: ProjectManifest, version: int) -> dict[str, Any]:
    group = env.group(project)
    summaries = _summaries(env, group)
    for summary in summaries:
        if int(summary.get("ModelPackageVersion") or 0) == version:
            return _describe(env, summary["ModelPackageArn"])
    known = ", ".join(str(s.get("ModelPackageVersion")) for s in summaries) or "none"
    raise UsageError(f"{project.name} version {version} not found in {group} "
                     f"(stack {env.stack}; versions: {known})")


def list_versions(root: Path, project: str, stack: str, *,
                  aws: AwsClients | None = None) -> list[ModelVersion]:
    """Every version of a project in a stack, oldest first."""
    proj = _project(root, project)
    env = environment(root, stack, aws)
    group = env.require_group(proj)
    s3 = env.client("s3")
    return [_to_version(env, project, _describe(env, s["ModelPackageArn"]), s3)
            for s in _summaries(env, group)]


# --------------------------------------------------------------------------- packages


def _find_by(env: Env, group: str, key: str, value: str) -> list[dict[str, Any]]:
    """Descriptions of the packages in ``group`` whose metadata ``key`` equals ``value``
    (retired duplicates left out), lowest version first.

    Only packages whose description names ``value`` are described (the tools put the source
    ARN or request id there), so a lookup costs one list call, not one call per version.
    """
    found = []
    for summary in _summaries(env, group):
        if value not in str(summary.get("ModelPackageDescription") or ""):
            continue
        desc = _describe(env, summary["ModelPackageArn"])
        meta = desc.get("CustomerMetadataProperties") or {}
        if meta.get(key) == value and "mlops:duplicateOf" not in meta:
            found.append(desc)
    return sorted(found, key=lambda d: int(d.get("ModelPackageVersion") or 0))


def _create_package(env: Env, group: str, request: dict[str, Any], key: str,
                    token: str) -> dict[str, Any]:
    """Create a package exactly once, although CreateModelPackage is not idempotent everywhere.

    Called with botocore retries off; before each retry it looks for a package carrying
    ``token`` under metadata ``key`` (the earlier attempt may have landed before its response
    was lost). ``ClientToken`` gives AWS the same guarantee server-side.
    """
    sm = env.client("sagemaker", retries=False)
    client_token = hashlib.sha256(token.encode()).hexdigest()[:36]
    delay = CREATE_BACKOFF_SECONDS
    for attempt in range(CREATE_ATTEMPTS):
        if attempt:
            found = _find_by(env, group, key, token)
            if found:
                return found[0]
        try:
            arn = sm.create_model_package(ModelPackageGroupName=group, ClientToken=client_token,
                                          **request)["ModelPackageArn"]
            return _describe(env, arn)
        except Exception as exc:
            if not is_retryable(exc) or attempt == CREATE_ATTEMPTS - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    raise OpsError("unreachable")  # pragma: no cover


def _update_status(env: Env, desc: dict[str, Any], status: str, description: str,
                   extra_meta: dict[str, str]) -> dict[str, Any]:
    """Set the approval status, keeping every metadata property (moto replaces the whole map)."""
    meta = {**(desc.get("CustomerMetadataProperties") or {}), **extra_meta}
    env.client("sagemaker").update_model_package(
        ModelPackageArn=desc["ModelPackageArn"], ModelApprovalStatus=status,
        ApprovalDescription=description[:1024], CustomerMetadataProperties=meta)
    return _describe(env, desc["ModelPackageArn"])


def _inference_spec(image: str, model_url: str) -> dict[str, Any]:
    return {
        "Containers": [{"Image": image, "ModelDataUrl": model_url}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }


def _put_metrics(env: Env, project: str, sha256: str, metrics: dict[str, float]) -> dict[str, Any]:
    """Store the metrics next to the artifact; returns the package's ``ModelMetrics``."""
    body = json.dumps(metrics, sort_keys=True).encode()
    key = artifacts.key_for(project, sha256, f"metrics-{hashlib.sha256(body).hexdigest()[:12]}.json")
    env.client("s3").put_object(Bucket=env.bucket, Key=key, Body=body,
                                ContentType="application/json", **env.encryption())
    uri = f"s3://{env.bucket}/{key}"
    return {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": uri}}}


def _metric_meta(metrics: dict[str, float]) -> dict[str, str]:
    return {f"{METRIC}{k}": repr(v) for k, v in metrics.items()}


def _audit(env: Env, record: dict[str, Any], done: str, *,
           idempotency: str | None = None) -> tuple[str, bool]:
    """Append an audit record for a change already made (``done`` says which, for the error)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return audit.append(env.aws, env.audit_target(), record, idempotency=idempotency)
    except (OpsError, BotoCoreError, ClientError) as exc:
        why = str(exc) if isinstance(exc, OpsError) else describe_error(exc)
        raise OpsError(f"{done}, but its audit record could not be written ({why}); "
                       "re-run the command to write it") from None


# --------------------------------------------------------------------------- register


def read_metrics(path: Path) -> dict[str, float]:
    """A metrics file (see :func:`flatten_metrics`); UsageError naming the file on bad input."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such metrics file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the metrics file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    try:
        return flatten_metrics(data)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None


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
    proj = _project(root, project)
    local: Path | None = None
    if artifact.startswith("s3://"):
        artifacts.split_s3(artifact)
    else:
        local = Path(artifact)
        if not local.is_file():
            raise UsageError(f"{artifact}: no such artifact file")
    env = environment(root, stack, aws)
    env.require_bucket()
    group = env.require_group(proj)
    s3 = env.client("s3")
    if local is not None:
        sha = artifacts.sha256_file(local)
        uri = artifacts.upload(s3, local, env.bucket, artifacts.key_for(project, sha, local.name),
                               sha, env.encryption())
        origin = str(local.resolve())
    else:
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
        origin = artifact
    operator = _operator(env.aws)
    request_id = uuid.uuid4().hex
    meta = {
        "mlops:origin": "register",
        "mlops:registeredFrom": origin[-256:],
        "mlops:artifactSha256": sha,
        "mlops:requestId": request_id,
        "mlops:operator": operator[-256:],
        "mlops:gitCommit": _git_commit(root),
        "mlops:registeredAt": audit.now(),
        **_metric_meta(values),
    }
    request = {
        "ModelPackageDescription": f"{project} registered (request {request_id}) from {origin}"[:1024],
        "InferenceSpecification": _inference_spec(image or DEFAULT_IMAGE.format(
            region=env.settings.region), uri),
        "ModelApprovalStatus": "PendingManualApproval",
        "ModelMetrics": _put_metrics(env, project, sha, values),
        "CustomerMetadataProperties": meta,
    }
    desc = _create_package(env, group, request, "mlops:requestId", request_id)
    version = _to_version(env, project, desc)
    _audit(env, {
        "event": "registered", "project": project, "stack": stack, "version": version.version,
        "packageArn": version.arn, "artifact": uri, "artifactSha256": sha, "metrics": values,
        "registeredFrom": origin, "operator": operator, "gitCommit": meta["mlops:gitCommit"],
    }, f"registered {project} v{version.version} in {stack}")
    return version


# --------------------------------------------------------------------------- approve / reject


def _checksum_for_approval(env: Env, version: ModelVersion) -> str:
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
    proj = _project(root, project)
    env = environment(root, stack, aws)
    env.require_group(proj)
    desc = _describe_version(env, proj, version)
    operator = _operator(env.aws)
    current = _to_version(env, project, desc)
    at = audit.now()
    verb = "approved" if approve else "rejected"
    meta = {f"mlops:{verb}By": operator[-256:], f"mlops:{verb}At": at}
    if approve:
        try:
            meta["mlops:artifactSha256"] = _checksum_for_approval(env, current)
        except OpsError as exc:
            raise OpsError(f"refusing to approve {project} v{version} in {stack}: {exc}") from None
    status = "Approved" if approve else "Rejected"
    text = f"{verb} by {operator}" + (f": {reason}" if reason else "")
    result = _to_version(env, project, _update_status(env, desc, status, text, meta),
                         env.client("s3"))
    _audit(env, {
        "event": verb, "project": project, "stack": stack, "version": version,
        "packageArn": result.arn, "previousStatus": current.status, "status": status,
        "reason": reason or "", "operator": operator, "time": at,
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
    proj = _project(root, project)
    src = environment(root, source, aws)
    dst = environment(root, target, aws)
    src.require_group(proj)
    dst.require_bucket()
    dst_group = dst.require_group(proj)
    dst.key_arn()
    pkg = _to_version(src, project, _describe_version(src, proj, version), src.client("s3"))
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
        existing = _find_by(dst, dst_group, "mlops:sourcePackageArn", pkg.arn)
        if existing:
            result.planned = [f"nothing: already promoted as {existing[0]['ModelPackageArn']}"]
        result.outcome = "planned"
    if on_gates is not None:
        on_gates(result)
    if not result.passed or dry_run:
        return result

    operator = _operator(dst.aws)
    commit = _git_commit(root)

    def ensure(existing: list[dict[str, Any]]) -> tuple[ModelVersion, str, str, bool]:
        if existing:
            desc, outcome = _complete(dst, pkg, existing[0])
        else:
            created = _create_promoted(dst, dst_group, pkg, dst_key, source, operator, commit)
            desc, _ = _complete(dst, pkg, created, fresh=True)
            outcome = "promoted"
        promoted = _to_version(dst, project, desc)
        key, written = _audit(dst, {
            "event": "promoted", "project": project, "stack": target,
            "version": promoted.version, "packageArn": promoted.arn, "status": promoted.status,
            "artifact": promoted.artifact, "artifactSha256": pkg.sha256,
            "source": {"stack": source, "version": version, "packageArn": pkg.arn,
                       "artifact": pkg.artifact},
            "gates": [g.to_dict() for g in result.gates], "operator": operator,
            "gitCommit": commit, "time": promoted.metadata.get("mlops:promotedAt") or audit.now(),
        }, f"promoted {project} v{version} to {target} as {promoted.arn}", idempotency=audit_id)
        return promoted, outcome, key, written

    audit_id = f"promoted:{dst_group}:{pkg.arn}"
    lock_key = f"locks/promotion/{project}/{hashlib.sha256(pkg.arn.encode()).hexdigest()[:24]}.json"
    existing = _find_by(dst, dst_group, "mlops:sourcePackageArn", pkg.arn)
    if existing and audit.find_record(dst.client("s3"), dst.audit_target(), project, audit_id):
        # Promoted and audited before: finish what a killed run may have left, without the lock.
        promoted, outcome, key, written = ensure(existing)
        lock.clear_stale(dst.client("s3"), dst.bucket, lock_key)
    else:  # new, or another run is still at it (it audits inside the lock), or it died
        with lock.lease(dst.client("s3"), dst.bucket, lock_key, operator, wait=lock_wait,
                        put_args=dst.encryption(), notify=notify):
            promoted, outcome, key, written = ensure(
                _find_by(dst, dst_group, "mlops:sourcePackageArn", pkg.arn))
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


def _create_promoted(dst: Env, group: str, pkg: ModelVersion, dst_key: str, source: str,
                     operator: str, commit: str) -> dict[str, Any]:
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
        "mlops:operator": operator[-256:],
        "mlops:promotedAt": audit.now(),
        **_metric_meta(pkg.metrics),
    }
    request = {
        "ModelPackageDescription": f"{pkg.project} v{pkg.version} promoted from {source} ({pkg.arn})",
        "InferenceSpecification": _spec_pointing_at(pkg, uri),
        "ModelApprovalStatus": "PendingManualApproval",
        "ModelMetrics": _put_metrics(dst, pkg.project, pkg.sha256, pkg.metrics),
        "CustomerMetadataProperties": meta,
    }
    created = _create_package(dst, group, request, "mlops:sourcePackageArn", pkg.arn)
    # Two runs that raced past the lock keep the lowest version and retire the others.
    same = _find_by(dst, group, "mlops:sourcePackageArn", pkg.arn)
    if same and same[0]["ModelPackageArn"] != created["ModelPackageArn"]:
        _retire(dst, created, same[0]["ModelPackageArn"])
        return same[0]
    return created


def _retire(env: Env, duplicate: dict[str, Any], keep: str) -> None:
    """Delete a duplicate package; where that is not possible, reject and mark it."""
    try:
        env.client("sagemaker").delete_model_package(ModelPackageName=duplicate["ModelPackageArn"])
    except Exception:
        _update_status(env, duplicate, "Rejected", f"duplicate of {keep}",
                       {"mlops:duplicateOf": keep})


def _spec_pointing_at(pkg: ModelVersion, uri: str) -> dict[str, Any]:
    """The source's inference specification with every container pointing at ``uri``."""
    spec = json.loads(json.dumps(pkg.inference, default=str)) if pkg.inference else {}
    if not spec.get("Containers"):
        return _inference_spec(DEFAULT_IMAGE.format(region=pkg.arn.split(":")[3]), uri)
    for container in spec["Containers"]:
        container["ModelDataUrl"] = uri
    return spec


def _complete(dst: Env, pkg: ModelVersion, desc: dict[str, Any], *,
              fresh: bool = False) -> tuple[dict[str, Any], str]:
    """Finish a target package an earlier run left half-done: artifact, then approval.

    The artifact is verified (and copied again if missing or different) right before a package
    is approved, so no package is Approved with a missing or mismatched artifact. ``fresh``: the
    package was just created from an artifact verified moments ago.
    """
    assert pkg.sha256
    outcome = "unchanged"
    current = _to_version(dst, pkg.project, desc)
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
        desc = _update_status(dst, desc, "Approved", "auto-approved on promotion "
                              "(promotion.autoApprove: true)", {"mlops:approvedBy": "promotion"})
        outcome = "completed"
    return desc, outcome
