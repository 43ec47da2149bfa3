"""The platform's drift-check pipeline of a monitored project, rendered for one stack.

Rendered with the SageMaker SDK from ``infra/drift/pipeline.py`` like every other pipeline
(offline, through the same render cache: a warm preview does not import the SDK), with the
environment key by its alias ARN, deployed with the key's ARN.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.projects.loader import key_alias_arn
from infra.projects.monitoring import MonitoringPlan
from infra.projects.platform_code import platform_code_files
from infra.projects.render import RENDER_FORMAT, cache_dir, canonical, sdk_versions

if TYPE_CHECKING:
    from infra.config import Settings
    from infra.naming import Naming

DRIFT_MAX_RUNTIME_SECONDS = 3600


def drift_spec(plan: MonitoringPlan, settings: Settings, naming: Naming) -> Any:
    """The DriftPipelineSpec of ``plan`` (values known before deployment)."""
    from infra.drift.pipeline import DriftPipelineSpec

    workspace = f"s3://{naming.bucket('pipeline-workspace')}"
    return DriftPipelineSpec(
        pipeline_name=plan.drift_pipeline, project=plan.project, stack=plan.stack,
        region=naming.region, role_arn=naming.role_arn(naming.execution_role),
        kms_key_arn=key_alias_arn(naming),
        instance_type=plan.instance_type,
        code_uri=platform_code_files().prefix(workspace),
        capture_uri=f"s3://{naming.bucket('raw-data')}/datacapture/{plan.project}",
        report_uri=f"{workspace}/{plan.project}/drift",
        endpoint_name=plan.endpoint_name, window_hours=plan.window_hours,
        min_records=plan.min_records,
        thresholds={"psi": plan.thresholds.psi, "ks": plan.thresholds.ks,
                    "unseen_share": plan.thresholds.unseen_share,
                    "score_psi": plan.thresholds.score_psi},
        ignore_features=plan.ignore_features, metrics_namespace=plan.namespace,
        max_runtime_seconds=min(DRIFT_MAX_RUNTIME_SECONDS, settings.max_runtime_seconds),
    )


def _fresh(spec: Any) -> str:
    from infra.drift.pipeline import build_drift_pipeline, offline_session
    from infra.projects.render import _quiet_sdk

    with _quiet_sdk():
        return canonical(build_drift_pipeline(spec, offline_session(spec)).definition())


def render_drift(spec: Any, root: Path) -> str:
    """The drift-check definition of ``spec``, from the render cache when warm."""
    key = hashlib.sha256("\0".join([
        RENDER_FORMAT, "drift", sdk_versions(), platform_code_files().hash,
        json.dumps(dataclasses.asdict(spec), sort_keys=True, default=str)]).encode()).hexdigest()
    path = cache_dir(root) / f"drift-{key}.json"
    if path.is_file():
        try:
            return canonical(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
    definition = _fresh(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(definition, encoding="utf-8")
    tmp.replace(path)
    return definition


def deployed(definition: str, alias_arn: str) -> Any:
    """A function of the key's ARN: ``definition`` with the alias ARN replaced by it."""

    def swap(node: Any, key_arn: str) -> Any:
        if isinstance(node, dict):
            return {k: swap(v, key_arn) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v, key_arn) for v in node]
        return key_arn if node == alias_arn else node

    return lambda key_arn: canonical(swap(json.loads(definition), key_arn))
