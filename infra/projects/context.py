"""The context a project's ``build(ctx)`` receives: everything it may know about one stack.

``pipelines/<project>/pipeline.py`` imports only the SageMaker SDK and this module. Every value
is known before deployment (deterministic names), so a definition renders the same way in
``pulumi up``, ``mlops preview`` and ``mlops pipelines render``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class FeatureGroupRef:
    """A feature group of the project as deployed in this stack."""

    name: str  # physical SageMaker name
    table: str  # Glue table of the offline store (database ``sagemaker_featurestore``)
    record_identifier: str
    event_time: str
    features: tuple[str, ...]
    offline_store_uri: str  # S3 prefix of the offline store (Iceberg data and metadata below)


@dataclass(frozen=True)
class ProjectContext:
    """Per-stack facts for ``build(ctx)``. Treat every field as read-only."""

    project: str
    stack: str
    environment: str  # dev | staging | prod
    region: str
    account_id: str
    pipeline_name: str
    role_arn: str
    kms_key_arn: str
    buckets: dict[str, str]  # purpose -> s3://bucket URI ("raw-data", "feature-store", ...)
    feature_groups: dict[str, FeatureGroupRef]
    feature_store_database: str
    model_package_group: str
    allowed_instance_types: tuple[str, ...]
    instance_type: str
    max_runtime_seconds: int  # the project's value for this stack
    runtime_limit_seconds: int  # the stack's ceiling (mlops:maxRuntimeSeconds)
    network_isolation: bool
    approval_metric: str
    approval_threshold: float | None
    parameters: dict[str, str | int | float | bool]
    code_uri: str  # s3:// prefix holding this project's code/ folder (content-addressed)
    # s3:// prefix holding the platform's shared step code (infra/drift/code, content-addressed:
    # s3://<pipeline-workspace>/_platform/code/<hash12>); see infra.projects.platform_code.
    platform_code_uri: str = ""
    # The SageMaker PipelineSession the renderer prepared (offline, no AWS calls). Not hashed.
    session: Any = field(default=None, compare=False, hash=False, repr=False)

    @property
    def workspace_uri(self) -> str:
        """Where step outputs go: ``s3://<pipeline-workspace>/<project>``."""
        return f"{self.buckets['pipeline-workspace']}/{self.project}"

    @property
    def model_artifacts_uri(self) -> str:
        return f"{self.buckets['model-artifacts']}/{self.project}"

    def code(self, relative: str) -> str:
        """S3 URI of a file (or folder) under the project's ``code/`` folder."""
        return f"{self.code_uri}/{relative.lstrip('/')}"

    def platform_code(self, relative: str = "") -> str:
        """S3 URI of a file of the platform's shared step code (the prefix itself for "")."""
        if not self.platform_code_uri:
            raise ValueError("this context names no platform code prefix (platform_code_uri)")
        relative = relative.lstrip("/")
        return f"{self.platform_code_uri}/{relative}" if relative else self.platform_code_uri

    def output(self, *parts: str) -> str:
        """S3 URI under the project's workspace prefix."""
        return "/".join([self.workspace_uri, *parts])

    def to_json(self) -> str:
        """Canonical JSON of every hashed field (the render cache key uses it)."""
        data = asdict(self)
        data.pop("session", None)
        return json.dumps(data, sort_keys=True, default=str)
