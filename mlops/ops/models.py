"""Model versions across environments: register, list, approve/reject, promote (boto3).

Every function takes the project root (stack files, ``pipelines/<project>/project.yaml``) and an
optional :class:`~mlops.ops.aws.AwsClients`; the environment of a stack comes from its stack file,
the account from STS, and names from :class:`infra.naming.Naming`.

Where things are recorded on a model package (``CustomerMetadataProperties``):

- ``mlops:artifactSha256`` SHA-256 of the model artifact at registration (checked before every
  approval and promotion); ``metric:<name>`` each metric (also in ``ModelMetrics``, a JSON object
  next to the artifact);
- registration: ``mlops:origin=register``, ``mlops:registeredFrom``, ``mlops:requestId``;
- promotion lineage: ``mlops:sourcePackageArn``, ``mlops:sourceVersion``, ``mlops:sourceStack``,
  ``mlops:gitCommit``, ``mlops:operator``, ``mlops:promotedAt``;
- approval: ``mlops:approvedBy``/``mlops:approvedAt`` (or ``mlops:rejectedBy``/``...At``) and the
  reason in ``ApprovalDescription``.

Artifacts are content-addressed in each environment's model-artifacts bucket:
``models/<project>/<sha256>/<file name>``, encrypted with that environment's KMS key.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from infra.config import Settings
from infra.naming import Naming
from mlops.errors import UsageError
from mlops.ops import audit
from mlops.ops.aws import AwsClients, clients, error_code, is_retryable
from mlops.ops.gates import GateInput, GateResult, run_gates
from mlops.ops.pins import write_pin

# Default inference image when --image is not given: the SageMaker XGBoost 1.7-1 image, which
# AWS publishes from account 683313688378 in us-east-1, eu-west-1 and most commercial regions.
# Pass --image for other regions, frameworks or your own container.
DEFAULT_IMAGE = "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1"
ARTIFACTS = "model-artifacts"
META = "mlops:"
METRIC = "metric:"
LOCK_LEASE_SECONDS = 120.0
LOCK_WAIT_SECONDS = 150.0
LOCK_POLL_SECONDS = 0.2
CREATE_ATTEMPTS = 5
CREATE_BACKOFF_SECONDS = 0.2
CHUNK = 1024 * 1024
COPY_LIMIT = 5 * 1024**3


class OpsError(Exception):
    """An AWS operation failed or found an inconsistent state; ``str()`` is one line."""


class NotProvisioned(UsageError):
    """A bucket, key or model package group an operation needs does not exist."""


# --------------------------------------------------------------------------- projects


@dataclass(frozen=True)
class ProjectModel:
    """The ``model:`` part of ``pipelines/<project>/project.yaml`` that promotion reads."""

    name: str
    package_group: str
    metric: str | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    source: str = ""

    def threshold_for(self, stack: str, tier: str) -> float | None:
        """The threshold for a stack, falling back to the stack's environment tier."""
        if stack in self.thresholds:
            return self.thresholds[stack]
        return self.thresholds.get(tier)


def load_project(root: Path, project: str) -> ProjectModel:
    """Read a project's model settings; UsageError naming the file and key on bad input."""
    if not re.match(r"^[a-z][a-z0-9-]{0,31}$", project):
        raise UsageError(f"not a project name: {project!r}")
    source = f"pipelines/{project}/project.yaml"
    path = root / source
    if not path.is_file():
        base = root / "pipelines"
        known = sorted(p.name for p in base.iterdir() if (p / "project.yaml").is_file()) \
            if base.is_dir() else []
        raise UsageError(f"{source}: no such project (projects: {', '.join(known) or 'none'})")
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}
    except YAMLError as exc:
        raise UsageError(f"{source}: invalid YAML: {exc}".splitlines()[0]) from None
    model = data.get("model") if isinstance(data, dict) else None
    if model is None:
        return ProjectModel(project, project, source=source)
    if not isinstance(model, dict):
        raise UsageError(f"{source}: model: must be a mapping")
    group = model.get("packageGroup", project)
    if not isinstance(group, str) or not re.match(r"^[a-z][a-z0-9-]{0,40}$", group):
        raise UsageError(f"{source}: model.packageGroup: not a group name (got {group!r})")
    approval = model.get("approval") or {}
    if not isinstance(approval, dict):
        raise UsageError(f"{source}: model.approval: must be a mapping")
    metric = approval.get("metric")
    if metric is not None and not isinstance(metric, str):
        raise UsageError(f"{source}: model.approval.metric: must be a metric name")
    raw = approval.get("thresholds") or {}
    if not isinstance(raw, dict):
        raise UsageError(f"{source}: model.approval.thresholds: must be a mapping")
    thresholds: dict[str, float] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{source}: model.approval.thresholds.{key}: must be a number "
                             f"(got {value!r})")
        thresholds[str(key)] = float(value)
    return ProjectModel(project, group, metric, thresholds, source)


def _project(root: Path, project: str) -> ProjectModel:
    """The project's model settings through ``infra.projects.manifest`` (the full validation of
    project.yaml), or the small local reader when that module is not available."""
    try:
        from infra.projects.errors import ProjectError
        from infra.projects.manifest import load_manifest
    except ImportError:  # pragma: no cover - older trees without the manifest model
        return load_project(root, project)
    if not re.match(r"^[a-z][a-z0-9-]{0,31}$", project):
        raise UsageError(f"not a project name: {project!r}")
    try:
        manifest = load_manifest(root / "pipelines" / project, root)
    except ProjectError as exc:
        raise UsageError(str(exc)) from None
    approval = manifest.model.approval
    return ProjectModel(
        name=project, package_group=manifest.package_group, metric=approval.metric,
        thresholds={k: float(v) for k, v in approval.thresholds.items()},
        source=f"pipelines/{project}/project.yaml",
    )


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

    def group(self, project: ProjectModel) -> str:
        return self.naming.package_group(project.package_group)

    def client(self, service: str, *, retries: bool = True) -> Any:
        return self.aws.client(service, retries=retries)

    def key_arn(self) -> str:
        if self._key_arn is None:
            try:
                meta = self.client("kms").describe_key(KeyId=self.naming.key_alias)["KeyMetadata"]
            except Exception as exc:
                if error_code(exc) == "NotFoundException":
                    raise NotProvisioned(
                        f"stack {self.stack}: KMS key {self.naming.key_alias} not found "
                        f"(is the stack deployed? run: mlops up --stack {self.stack})") from None
                raise
            self._key_arn = str(meta["Arn"])
        return self._key_arn

    def require_bucket(self) -> None:
        try:
            self.client("s3").head_bucket(Bucket=self.bucket)
        except Exception as exc:
            if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                raise NotProvisioned(
                    f"stack {self.stack}: bucket {self.bucket} not found "
                    f"(is the stack deployed? run: mlops up --stack {self.stack})") from None
            raise

    def require_group(self, project: ProjectModel) -> str:
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
    base = aws or clients(settings.region)
    session = base if base.region == settings.region else base.for_region(settings.region)
    account = _account(session)
    if settings.account_id and settings.account_id != account:
        raise UsageError(f"stack {stack} is account {settings.account_id} (mlops:accountId) but "
                         f"the credentials are for {account}")
    naming = Naming(prefix=settings.name_prefix, stack=stack, account_id=account,
                    region=settings.region)
    return Env(stack, settings, naming, session)


def _account(aws: AwsClients) -> str:
    return aws.identity()["Account"]


def _operator(aws: AwsClients) -> str:
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
    """One model package as the tools show it."""

    project: str
    stack: str
    version: int
    arn: str
    status: str
    metrics: dict[str, float]
    source: str
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


def _flatten_metrics(data: Any, prefix: str = "") -> dict[str, float]:
    """A flat ``{name: number}`` map, or SageMaker's ``{group: {name: {"value": n}}}`` report."""
    out: dict[str, float] = {}
    if not isinstance(data, dict):
        return out
    for key, value in data.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            out[f"{prefix}{key}"] = float(value)
        elif isinstance(value, dict) and isinstance(value.get("value"), (int, float)) \
                and not isinstance(value.get("value"), bool):
            out[str(key)] = float(value["value"])
        elif isinstance(value, dict):
            out.update(_flatten_metrics(value))
    return out


def _source_of(meta: dict[str, str]) -> str:
    if meta.get("mlops:sourcePackageArn"):
        return f"promoted from {meta.get('mlops:sourceStack', '?')} v{meta.get('mlops:sourceVersion', '?')}"
    if meta.get("mlops:origin") == "register":
        return f"registered from {meta.get('mlops:registeredFrom', '?')}"
    return "pipeline"


def _to_version(env: Env, project: str, desc: dict[str, Any], s3: Any | None = None) -> ModelVersion:
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
        source=_source_of(meta),
        artifact=str(containers[0].get("ModelDataUrl", "")),
        sha256=meta.get("mlops:artifactSha256"),
        created=created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
        approval=desc.get("ApprovalDescription"),
        metadata=meta,
        inference=dict(desc.get("InferenceSpecification") or {}),
    )


def _metrics_from_report(s3: Any, desc: dict[str, Any]) -> dict[str, float]:
    uri = (((desc.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics")
           or {}).get("S3Uri")
    if not uri:
        return {}
    try:
        bucket, key = _split_s3(uri)
        return _flatten_metrics(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    except Exception:
        return {}


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


def _describe_version(env: Env, project: ProjectModel, version: int) -> dict[str, Any]:
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


# --------------------------------------------------------------------------- S3 helpers


def _split_s3(uri: str) -> tuple[str, str]:
    match = re.match(r"^s3://([^/]+)/(.+)$", uri)
    if not match:
        raise UsageError(f"not an s3://bucket/key URI: {uri!r}")
    return match.group(1), match.group(2)


def _sha256_s3(s3: Any, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in body.iter_chunks(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _exists(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return dict(s3.head_object(Bucket=bucket, Key=key))
    except Exception as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def check_artifact(s3: Any, uri: str, sha256: str | None) -> tuple[bool, str]:
    """Does the artifact exist and hash to the checksum recorded at registration?"""
    if not sha256:
        return False, "no checksum recorded at registration (mlops:artifactSha256)"
    if not uri:
        return False, "no artifact (ModelDataUrl) on the package"
    bucket, key = _split_s3(uri)
    try:
        actual = _sha256_s3(s3, bucket, key)
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NoSuchBucket", "AccessDenied"):
            return False, f"artifact {uri} missing ({error_code(exc)})"
        raise
    if actual != sha256:
        return False, f"artifact {uri} sha256 {actual[:12]}… != recorded {sha256[:12]}…"
    return True, f"{uri.rsplit('/', 1)[-1]} sha256 {sha256[:12]}… matches the registered checksum"


def _kms(env: Env) -> dict[str, str]:
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": env.key_arn()}


def _copy(env: Env, src_uri: str, dst_key: str, sha256: str) -> str:
    """Copy an object into the environment's artifacts bucket (re-encrypted with its key),
    unless an object with the same checksum is already there; returns the new URI."""
    s3 = env.client("s3")
    head = _exists(s3, env.bucket, dst_key)
    uri = f"s3://{env.bucket}/{dst_key}"
    if head and (head.get("Metadata") or {}).get("sha256") == sha256 \
            and _sha256_s3(s3, env.bucket, dst_key) == sha256:
        return uri
    bucket, key = _split_s3(src_uri)
    source = {"Bucket": bucket, "Key": key}
    args = {**_kms(env), "Metadata": {"sha256": sha256}, "MetadataDirective": "REPLACE"}
    size = int((_exists(s3, bucket, key) or {}).get("ContentLength") or 0)
    if size > COPY_LIMIT:
        extra = {k: v for k, v in args.items() if k != "MetadataDirective"}
        s3.copy(source, env.bucket, dst_key, ExtraArgs=extra)
    else:
        s3.copy_object(CopySource=source, Bucket=env.bucket, Key=dst_key, **args)
    actual = _sha256_s3(s3, env.bucket, dst_key)
    if actual != sha256:
        raise OpsError(f"copy of {src_uri} to {uri} has sha256 {actual}, expected {sha256}")
    return uri


def _artifact_key(project: str, sha256: str, name: str) -> str:
    return f"models/{project}/{sha256}/{name}"


def _put_metrics(env: Env, project: str, sha256: str, metrics: dict[str, float]) -> str:
    body = json.dumps(metrics, sort_keys=True).encode()
    key = _artifact_key(project, sha256, f"metrics-{hashlib.sha256(body).hexdigest()[:12]}.json")
    env.client("s3").put_object(Bucket=env.bucket, Key=key, Body=body,
                                ContentType="application/json", **_kms(env))
    return f"s3://{env.bucket}/{key}"


# --------------------------------------------------------------------------- packages


def _find_by(env: Env, group: str, key: str, value: str) -> list[dict[str, Any]]:
    """Descriptions of the packages in ``group`` whose metadata ``key`` equals ``value``."""
    found = []
    for summary in _summaries(env, group):
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


def _model_metrics(uri: str) -> dict[str, Any]:
    return {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": uri}}}


# --------------------------------------------------------------------------- register


def read_metrics(path: Path) -> dict[str, float]:
    """A flat ``{"auc": 0.91}`` map; UsageError naming the file on bad input."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such metrics file") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not data:
        raise UsageError(f"{path}: must be a JSON object of metric name -> number")
    out: dict[str, float] = {}
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{path}: {name}: must be a number (got {value!r})")
        if not re.match(r"^[A-Za-z0-9_.:/=+@-]{1,100}$", str(name)):
            raise UsageError(f"{path}: {name!r}: not a metric name")
        out[str(name)] = float(value)
    return out


def register_model(root: Path, project: str, stack: str, artifact: str, metrics: Path | dict[str, float],
                   image: str | None = None, *, aws: AwsClients | None = None) -> ModelVersion:
    """Register a model trained elsewhere, as the pipeline's register step does.

    The artifact (local path or s3:// URI) is stored in the stack's artifacts bucket, its
    SHA-256 recorded, metrics attached; the new version is PendingManualApproval.
    """
    values = read_metrics(metrics) if isinstance(metrics, Path) else dict(metrics)
    proj = _project(root, project)
    local: Path | None = None
    if not artifact.startswith("s3://"):
        local = Path(artifact)
        if not local.is_file():
            raise UsageError(f"{artifact}: no such artifact file")
    else:
        _split_s3(artifact)
    env = environment(root, stack, aws)
    env.require_bucket()
    group = env.require_group(proj)
    s3 = env.client("s3")
    if local is not None:
        sha = _sha256_file(local)
        name = local.name
        key = _artifact_key(project, sha, name)
        head = _exists(s3, env.bucket, key)
        if not (head and (head.get("Metadata") or {}).get("sha256") == sha):
            from boto3.s3.transfer import TransferConfig

            s3.upload_file(str(local), env.bucket, key,
                           ExtraArgs={**_kms(env), "Metadata": {"sha256": sha}},
                           Config=TransferConfig(use_threads=False))
        if _sha256_s3(s3, env.bucket, key) != sha:
            raise OpsError(f"uploaded artifact s3://{env.bucket}/{key} does not match {artifact}")
        uri = f"s3://{env.bucket}/{key}"
    else:
        bucket, src_key = _split_s3(artifact)
        try:
            sha = _sha256_s3(s3, bucket, src_key)
        except Exception as exc:
            if error_code(exc) in ("NoSuchKey", "NoSuchBucket", "404"):
                raise UsageError(f"{artifact}: no such object") from None
            raise
        uri = _copy(env, artifact, _artifact_key(project, sha, src_key.rsplit("/", 1)[-1]), sha)
    metrics_uri = _put_metrics(env, project, sha, values)
    operator = _operator(env.aws)
    request_id = uuid.uuid4().hex
    meta = {
        "mlops:origin": "register",
        "mlops:registeredFrom": artifact[-256:],
        "mlops:artifactSha256": sha,
        "mlops:requestId": request_id,
        "mlops:operator": operator[-256:],
        "mlops:gitCommit": _git_commit(root),
        "mlops:registeredAt": audit.now(),
        **{f"{METRIC}{k}": repr(v) for k, v in values.items()},
    }
    request = {
        "ModelPackageDescription": f"{project} registered from {artifact}"[:1024],
        "InferenceSpecification": _inference_spec(image or DEFAULT_IMAGE.format(
            region=env.settings.region), uri),
        "ModelApprovalStatus": "PendingManualApproval",
        "ModelMetrics": _model_metrics(metrics_uri),
        "CustomerMetadataProperties": meta,
    }
    desc = _create_package(env, group, request, "mlops:requestId", request_id)
    version = _to_version(env, project, desc)
    audit.append(env.aws, env.audit_target(), {
        "event": "registered", "project": project, "stack": stack, "version": version.version,
        "packageArn": version.arn, "artifact": uri, "artifactSha256": sha, "metrics": values,
        "registeredFrom": artifact, "operator": operator, "gitCommit": meta["mlops:gitCommit"],
    })
    return version


# --------------------------------------------------------------------------- approve / reject


def _decide(root: Path, project: str, stack: str, version: int, approve: bool,
            reason: str | None, aws: AwsClients | None) -> ModelVersion:
    proj = _project(root, project)
    env = environment(root, stack, aws)
    env.require_group(proj)
    desc = _describe_version(env, proj, version)
    operator = _operator(env.aws)
    current = _to_version(env, project, desc)
    if approve:
        ok, detail = _artifact_ok_for_approval(env, current)
        if not ok:
            raise OpsError(f"refusing to approve {project} v{version} in {stack}: {detail}")
    at = audit.now()
    status = "Approved" if approve else "Rejected"
    verb = "approved" if approve else "rejected"
    text = f"{verb} by {operator}" + (f": {reason}" if reason else "")
    desc = _update_status(env, desc, status, text, {
        f"mlops:{verb}By": operator[-256:], f"mlops:{verb}At": at,
    })
    result = _to_version(env, project, desc, env.client("s3"))
    audit.append(env.aws, env.audit_target(), {
        "event": verb, "project": project, "stack": stack, "version": version,
        "packageArn": result.arn, "previousStatus": current.status, "status": status,
        "reason": reason or "", "operator": operator, "time": at,
    })
    return result


def _artifact_ok_for_approval(env: Env, version: ModelVersion) -> tuple[bool, str]:
    """Never Approved with a missing or mismatched artifact (no checksum: existence only)."""
    s3 = env.client("s3")
    if version.sha256:
        return check_artifact(s3, version.artifact, version.sha256)
    if not version.artifact:
        return False, "the package has no artifact"
    bucket, key = _split_s3(version.artifact)
    if _exists(s3, bucket, key) is None:
        return False, f"artifact {version.artifact} missing"
    return True, "artifact exists (no checksum recorded)"


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


def _firing_alarms(env: Env, prefix: str) -> list[str]:
    cw = env.client("cloudwatch")
    firing: list[str] = []
    for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix):
        for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            if alarm.get("StateValue") == "ALARM":
                firing.append(str(alarm["AlarmName"]))
    return sorted(firing)


@contextmanager
def _lock(env: Env, name: str, owner: str, wait: float,
          notify: Callable[[str], None] | None = None) -> Iterator[None]:
    """A lease in the target bucket, taken with ``IfNoneMatch="*"`` (only one writer wins)."""
    s3 = env.client("s3")
    key = f"locks/promotion/{name}.json"
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait

    def holder() -> dict[str, Any] | None:
        try:
            return dict(json.loads(s3.get_object(Bucket=env.bucket, Key=key)["Body"].read()))
        except Exception as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise

    def release() -> None:
        try:
            current = holder()
            if current and current.get("token") == token:
                s3.delete_object(Bucket=env.bucket, Key=key)
        except Exception:  # best effort: the lease expires on its own
            pass

    try:
        while True:
            body = json.dumps({"token": token, "owner": owner,
                               "expires": time.time() + LOCK_LEASE_SECONDS}).encode()
            try:
                s3.put_object(Bucket=env.bucket, Key=key, Body=body, IfNoneMatch="*",
                              **_kms(env))
            except Exception as exc:
                if error_code(exc) not in ("PreconditionFailed", "412",
                                           "ConditionalRequestConflict"):
                    raise
            current = holder()
            if current and current.get("token") == token:
                break
            if current and float(current.get("expires", 0)) < time.time():
                s3.delete_object(Bucket=env.bucket, Key=key)  # the lease of a dead run
                continue
            if time.monotonic() > deadline:
                who = (current or {}).get("owner", "another run")
                until = time.strftime("%H:%M:%S", time.gmtime(float((current or {}).get(
                    "expires", 0))))
                raise OpsError(f"promotion lock s3://{env.bucket}/{key} is held by {who} "
                               f"until {until} UTC; re-run after that")
            if notify is not None and current:
                notify(f"waiting for the promotion lock s3://{env.bucket}/{key} held by "
                       f"{current.get('owner', 'another run')}")
                notify = None  # once
            time.sleep(LOCK_POLL_SECONDS)
    except BaseException:
        release()
        raise
    try:
        yield
    finally:
        release()


def promote(root: Path, project: str, version: int, source: str, target: str, *,
            dry_run: bool = False, pin: bool = True, aws: AwsClients | None = None,
            pins_root: Path | None = None, lock_wait: float = LOCK_WAIT_SECONDS,
            notify: Callable[[str], None] | None = None) -> PromotionResult:
    """Promote ``version`` of ``project`` from stack ``source`` to stack ``target`` through gates.

    Changes nothing unless every gate passes. Idempotent: an existing target package with the
    same source ARN is reused (and completed if an earlier run stopped half-way). ``pins_root``
    holds the stack files to pin (default ``root``); ``notify`` hears about waiting for a lock.
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
    desc = _describe_version(src, proj, version)
    pkg = _to_version(src, project, desc, src.client("s3"))
    alarm_prefix = f"{src.naming.stem}-{project}"
    threshold = proj.threshold_for(target, dst.tier)
    gate_input = GateInput(
        project=project, source_stack=source, target_stack=target, target_tier=dst.tier,
        allow_from=list(dst.settings.promotion.allow_from),
        auto_approve=dst.settings.promotion.auto_approve,
        status=pkg.status, metrics=pkg.metrics, metric=proj.metric, threshold=threshold,
        threshold_source=f"{proj.source}: model.approval.thresholds.{target}",
        check_artifact=lambda: check_artifact(src.client("s3"), pkg.artifact, pkg.sha256),
        firing_alarms=lambda: _firing_alarms(src, alarm_prefix),
        alarm_prefix=alarm_prefix,
    )
    result = PromotionResult(project, version, source, target, run_gates(gate_input),
                             dry_run=dry_run)
    name = pkg.artifact.rsplit("/", 1)[-1] or "model.tar.gz"
    dst_key = _artifact_key(project, pkg.sha256 or "unknown", name)
    initial = "Approved" if dst.settings.promotion.auto_approve else "PendingManualApproval"
    result.planned = [
        f"copy {pkg.artifact} -> s3://{dst.bucket}/{dst_key} (SSE-KMS {dst.naming.key_alias})",
        f"create model package in {dst_group} from {pkg.arn} ({initial})",
        f"audit record in s3://{dst.bucket}/{audit.PREFIX}/{project}/ and an EventBridge event",
    ]
    if pin:
        result.planned.append(f"pin {project} in stacks/Pulumi.{target}.yaml (mlops:models)")
    if not result.passed:
        return result
    if dry_run:
        existing = _find_by(dst, dst_group, "mlops:sourcePackageArn", pkg.arn)
        if existing:
            result.planned = [f"nothing: already promoted as {existing[0]['ModelPackageArn']}"]
        result.outcome = "planned"
        return result

    operator = _operator(dst.aws)
    commit = _git_commit(root)
    existing = _find_by(dst, dst_group, "mlops:sourcePackageArn", pkg.arn)
    if existing:
        target_desc, outcome = _complete(dst, pkg, existing[0], dst_key)
    else:
        with _lock(dst, f"{project}/{hashlib.sha256(pkg.arn.encode()).hexdigest()[:24]}",
                   operator, lock_wait, notify):
            existing = _find_by(dst, dst_group, "mlops:sourcePackageArn", pkg.arn)
            if existing:
                target_desc, outcome = _complete(dst, pkg, existing[0], dst_key)
            else:
                target_desc = _create_promoted(dst, dst_group, pkg, dst_key, source, operator,
                                               commit)
                target_desc, _ = _complete(dst, pkg, target_desc, dst_key, fresh=True)
                outcome = "promoted"
    promoted = _to_version(dst, project, target_desc)
    result.outcome = outcome
    result.target_arn = promoted.arn
    result.target_version = promoted.version
    result.target_status = promoted.status
    result.artifact = promoted.artifact
    result.audit_key = audit.append(dst.aws, dst.audit_target(), {
        "event": "promoted", "project": project, "stack": target, "version": promoted.version,
        "packageArn": promoted.arn, "status": promoted.status, "artifact": promoted.artifact,
        "artifactSha256": pkg.sha256, "source": {
            "stack": source, "version": version, "packageArn": pkg.arn,
            "artifact": pkg.artifact},
        "gates": [g.to_dict() for g in result.gates], "operator": operator,
        "gitCommit": commit, "time": promoted.metadata.get("mlops:promotedAt") or audit.now(),
    }, idempotency=f"promoted:{dst_group}:{pkg.arn}")
    if pin:
        result.pinned = write_pin(pins_root or root, target, project, promoted.version,
                                  promoted.arn)
    return result


def _create_promoted(dst: Env, group: str, pkg: ModelVersion, dst_key: str, source: str,
                     operator: str, commit: str) -> dict[str, Any]:
    """Copy the artifact, then create the target package (PendingManualApproval) pointing at it."""
    assert pkg.sha256  # the artifact gate passed
    uri = _copy(dst, pkg.artifact, dst_key, pkg.sha256)
    metrics_uri = _put_metrics(dst, pkg.project, pkg.sha256, pkg.metrics)
    meta = {
        "mlops:artifactSha256": pkg.sha256,
        "mlops:sourcePackageArn": pkg.arn,
        "mlops:sourceVersion": str(pkg.version),
        "mlops:sourceStack": source,
        "mlops:gitCommit": commit,
        "mlops:operator": operator[-256:],
        "mlops:promotedAt": audit.now(),
        **{f"{METRIC}{k}": repr(v) for k, v in pkg.metrics.items()},
    }
    request = {
        "ModelPackageDescription": f"{pkg.project} v{pkg.version} promoted from {source}",
        "InferenceSpecification": _spec_pointing_at(pkg, uri),
        "ModelApprovalStatus": "PendingManualApproval",
        "ModelMetrics": _model_metrics(metrics_uri),
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
    """Delete a duplicate package; where that is not possible (moto), reject and mark it."""
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


def _complete(dst: Env, pkg: ModelVersion, desc: dict[str, Any], dst_key: str, *,
              fresh: bool = False) -> tuple[dict[str, Any], str]:
    """Finish a target package an earlier run left half-done: artifact, then approval.

    The artifact is verified (and copied again if missing or different) right before a package
    is approved, so no package is Approved with a missing or mismatched artifact. ``fresh``: the
    package was just created from an artifact verified moments ago.
    """
    assert pkg.sha256
    outcome = "unchanged"
    version = _to_version(dst, pkg.project, desc)
    approve_it = dst.settings.promotion.auto_approve and version.status == "PendingManualApproval"
    if not fresh or approve_it:
        ok, _ = check_artifact(dst.client("s3"), version.artifact, pkg.sha256)
        if not ok:  # _copy verifies the checksum of what it wrote, or raises
            _copy(dst, pkg.artifact, _split_s3(version.artifact)[1] if version.artifact
                  else dst_key, pkg.sha256)
            outcome = "completed"
    if approve_it:
        desc = _update_status(dst, desc, "Approved", "auto-approved on promotion "
                              "(promotion.autoApprove: true)", {"mlops:approvedBy": "promotion"})
        outcome = "completed"
    return desc, outcome
