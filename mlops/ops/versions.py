"""A model package as the tools show it (:class:`ModelVersion`), with its lineage.

Where things are recorded on a package (``CustomerMetadataProperties``): ``mlops:artifactSha256``
(the artifact's checksum), ``metric:<name>`` (see :mod:`mlops.ops.metrics`), registration
(``mlops:origin=register``, ``mlops:registeredFrom``, ``mlops:requestId``), promotion lineage
(``mlops:sourcePackageArn``, ``mlops:sourceVersion``, ``mlops:sourceStack``), who and from which
commit (``mlops:operator``, ``mlops:gitCommit``) and approvals (``mlops:approvedBy``/``At``,
``mlops:rejectedBy``/``At``; the reason is in ``ApprovalDescription``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mlops.ops import metrics


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


def to_version(stack: str, project: str, desc: dict[str, Any], s3: Any | None = None) -> ModelVersion:
    """A package description as a ModelVersion; with ``s3``, metrics a pipeline registered only
    as a ModelMetrics report are read from that report."""
    meta = {str(k): str(v) for k, v in (desc.get("CustomerMetadataProperties") or {}).items()}
    values = metrics.from_metadata(meta)
    if not values and s3 is not None:
        values = metrics.from_report(s3, desc)
    containers = (desc.get("InferenceSpecification") or {}).get("Containers") or [{}]
    created: Any = desc.get("CreationTime")
    return ModelVersion(
        project=project,
        stack=stack,
        version=int(desc.get("ModelPackageVersion") or 0),
        arn=str(desc["ModelPackageArn"]),
        status=str(desc.get("ModelApprovalStatus") or "Unknown"),
        metrics=values,
        source=lineage(meta),
        artifact=str(containers[0].get("ModelDataUrl", "")),
        sha256=meta.get("mlops:artifactSha256"),
        created=created.isoformat() if hasattr(created, "isoformat") else str(created or ""),
        approval=desc.get("ApprovalDescription"),
        metadata=meta,
        inference=dict(desc.get("InferenceSpecification") or {}),
    )
