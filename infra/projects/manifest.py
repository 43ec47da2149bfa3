"""The project manifest (``pipelines/<project>/project.yaml``): one pydantic model, the single
source of truth for validation, the JSON Schema (``docs/project.schema.json``) and the platform.

Per-stack values (instance type, max runtime, approval thresholds) are maps keyed by stack name,
falling back to the stack's environment tier (``dev`` / ``staging`` / ``prod``).
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from infra.projects import discover
from infra.projects.errors import ProjectError
from infra.validation import describe

PROJECT_FILE = "project.yaml"
EMAIL = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
PROJECT_NAME = discover.PROJECT_NAME.pattern
GROUP_NAME = PROJECT_NAME
# SageMaker: starts and ends with a letter or digit, at most 64 characters.
FEATURE_NAME = r"^[a-zA-Z]([a-zA-Z0-9_]{0,62}[a-zA-Z0-9])?$"
# Columns the offline store adds to every record.
RESERVED_FEATURES = ("is_deleted", "write_time", "api_invocation_time")
PARAMETER_NAME = r"^[A-Za-z][A-Za-z0-9]{0,63}$"
INSTANCE_TYPE = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
STACK_KEY = r"^[a-z][a-z0-9-]*$"
MODULE_FILE = r"^[A-Za-z_][A-Za-z0-9_]*\.py$"
METRIC_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
# EventBridge Scheduler expressions: rate(5 minutes), cron(0 3 * * ? *), at(2026-01-01T00:00:00);
# "none" (like null or no key) means no schedule.
SCHEDULE = (
    r"^(none"
    r"|rate\(\d+ (minute|minutes|hour|hours|day|days)\)"
    r"|cron\(\S+ \S+ \S+ \S+ \S+ \S+\)"
    r"|at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\))$"
)
# A container image pinned by digest: <repository>@sha256:<64 hex digits> (a tag may stand
# before the digest; the digest is what the cluster pulls).
IMAGE_DIGEST = r"^[a-z0-9]+([._/:-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[0-9a-f]{64}$"
HTTP_PATH = r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$"
CPU_QUANTITY = r"^([1-9][0-9]*m|[0-9]+(\.[0-9]{1,3})?)$"
MEMORY_QUANTITY = r"^[1-9][0-9]*(Ki|Mi|Gi|Ti|k|M|G|T)?$"
METRIC_K8S = r"^[a-z][a-z0-9_:]*$"
# What a pattern means, for error messages (a regex is no help to a person).
PATTERN_HELP = {
    EMAIL: "must be an email address like team@example.com",
    PROJECT_NAME: "must be lowercase letters, digits and '-', starting with a letter (max 32)",
    FEATURE_NAME: "must be letters, digits and '_', starting with a letter and not ending "
                  "with '_' (max 64)",
    MODULE_FILE: "must be a Python file name in the project folder, like pipeline.py",
    METRIC_NAME: "must be a metric name: letters, digits and '_', starting with a letter",
    SCHEDULE: "must be an EventBridge Scheduler expression: cron(0 3 * * ? *), rate(1 day) or "
              "at(2026-01-01T00:00:00); null or none for no schedule",
    IMAGE_DIGEST: "must be an image pinned by digest: <repository>@sha256:<64 hex digits>",
    HTTP_PATH: "must be an HTTP path starting with /, like /ping",
    CPU_QUANTITY: "must be a CPU quantity like 500m or 2",
    MEMORY_QUANTITY: "must be a memory quantity like 512Mi or 4Gi",
    METRIC_K8S: "must be a metric name: lowercase letters, digits, '_' and ':'",
}


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


def per_stack(values: dict[str, Any], stack: str, tier: str) -> Any:
    """The value for ``stack``: its own key first, then its environment tier, else None."""
    if stack in values:
        return values[stack]
    return values.get(tier)


def _check_stack_keys(value: dict[str, Any]) -> dict[str, Any]:
    for key in value:
        if not re.match(STACK_KEY, key):
            raise ValueError(f"keys are stack names or tiers (dev, staging, prod); got {key!r}")
    return value


class Feature(_Model):
    """One feature: a name and its SageMaker Feature Store type."""

    name: str = Field(pattern=FEATURE_NAME, description="Feature (column) name.")
    type: Literal["Integral", "Fractional", "String"] = Field(
        description="SageMaker Feature Store type.")

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.lower() in RESERVED_FEATURES:
            raise ValueError(f"{value!r} is a column the offline store adds itself "
                             f"({', '.join(RESERVED_FEATURES)})")
        return value


class TtlDuration(_Model):
    """How long an online-store record lives."""

    value: int = Field(ge=1, le=10000, description="How many units a record lives.")
    unit: Literal["Seconds", "Minutes", "Hours", "Days", "Weeks"] = "Days"


class FeatureGroupSpec(_Model):
    """A feature group: physical name ``<prefix>-<stack>-<project>-<name>``."""

    name: str = Field(pattern=GROUP_NAME, description="Logical name, unique in the project.")
    description: str = Field(default="", max_length=128)
    record_identifier: str = Field(description="The feature that identifies a record.")
    event_time: str = Field(description="The Fractional (epoch) or String (ISO-8601) feature "
                                        "holding the record's event time.")
    features: list[Feature] = Field(min_length=2)
    online: bool = Field(default=False, description="Online store too, where the stack "
                                                    "enables online stores.")
    ttl: TtlDuration | None = Field(default=None, description="Online records expire after "
                                                              "this (online: true only).")

    @model_validator(mode="after")
    def _consistent(self) -> FeatureGroupSpec:
        seen: set[str] = set()
        for i, feature in enumerate(self.features):
            if feature.name.lower() in seen:
                raise _PathError(("features", i, "name"), f"duplicate feature {feature.name!r}")
            seen.add(feature.name.lower())
        types = {f.name: f.type for f in self.features}
        if self.record_identifier not in types:
            raise _PathError(("recordIdentifier",),
                             f"{self.record_identifier!r} is not one of the features")
        if types[self.record_identifier] == "Fractional":
            raise _PathError(("recordIdentifier",), "must be an Integral or String feature")
        if self.event_time not in types:
            raise _PathError(("eventTime",), f"{self.event_time!r} is not one of the features")
        if types[self.event_time] == "Integral":
            raise _PathError(("eventTime",),
                             "must be a Fractional (epoch seconds) or String (ISO-8601) feature")
        if self.ttl is not None and not self.online:
            raise _PathError(("ttl",), "a TTL applies to the online store; set online: true")
        return self

    def schema_lock(self) -> dict[str, Any]:
        """What a deployed group cannot change without being replaced (see docs/projects.md)."""
        return {
            "recordIdentifier": self.record_identifier,
            "eventTime": self.event_time,
            "features": {f.name: f.type for f in self.features},
            "online": self.online,
        }


class PipelineSpec(_Model):
    """The SageMaker pipeline: module with ``build(ctx)``, schedule, parameters, per-stack sizes."""

    module: str = Field(default="pipeline.py", pattern=MODULE_FILE,
                        description="File in the project folder defining build(ctx).")
    description: str = ""
    schedule: str | None = Field(default=None, pattern=SCHEDULE, description=(
        "EventBridge Scheduler expression (cron(...), rate(...), at(...)); null or none: none."))
    parameters: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Pipeline parameters and their defaults (ctx.parameters).")
    instance_type: dict[str, str] = Field(default_factory=dict, description=(
        "Per stack (or tier dev/staging/prod): instance type; default: the stack's first allowed."))
    max_runtime_seconds: dict[str, int] = Field(default_factory=dict, description=(
        "Per stack (or tier): max runtime of each job; default: the stack's limit."))

    @field_validator("schedule")
    @classmethod
    def _no_schedule(cls, value: str | None) -> str | None:
        return None if value == "none" else value

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not re.match(PARAMETER_NAME, name):
                raise ValueError(f"parameter names are alphanumeric, like TrainRatio (got {name!r})")
        return value

    @field_validator("instance_type")
    @classmethod
    def _instance_types(cls, value: dict[str, str]) -> dict[str, str]:
        _check_stack_keys(value)
        for key, itype in value.items():
            if not re.match(INSTANCE_TYPE, str(itype)):
                raise _PathError((key,), f"not a SageMaker instance type like ml.m5.xlarge "
                                         f"(got {itype!r})")
        return value

    @field_validator("max_runtime_seconds")
    @classmethod
    def _runtimes(cls, value: dict[str, int]) -> dict[str, int]:
        _check_stack_keys(value)
        for key, seconds in value.items():
            if not 60 <= seconds <= 2419200:
                raise _PathError((key,), f"must be between 60 and 2419200 seconds (got {seconds})")
        return value


class Approval(_Model):
    """Approval gate: ``metric >= threshold`` of the stack (or its tier)."""

    metric: str = Field(pattern=METRIC_NAME, description="Metric name in the evaluation report.")
    thresholds: dict[str, float] = Field(default_factory=dict, description=(
        "Per stack (or tier): the minimum value of the metric, e.g. prod: 0.80."))

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: dict[str, float]) -> dict[str, float]:
        return _check_stack_keys(value)


class ModelSpec(_Model):
    """Model registry settings (read by model promotion too; keep this shape)."""

    package_group: str | None = Field(default=None, pattern=PROJECT_NAME, description=(
        "Model package group (physical <prefix>-<stack>-<group>); default: the project name."))
    approval: Approval

    def threshold_for(self, stack: str, tier: str) -> float | None:
        """The approval threshold of ``stack``, falling back to its tier; None when unset."""
        value = per_stack(self.approval.thresholds, stack, tier)
        return None if value is None else float(value)


class AlarmSpec(_Model):
    """The CloudWatch alarm on failed pipeline executions."""

    enabled: bool = True
    threshold: int = Field(default=1, ge=1, description="Failed executions that raise the alarm.")
    period_seconds: int = Field(default=3600, ge=60, le=86400, description="A multiple of 60.")
    evaluation_periods: int = Field(default=1, ge=1, le=24)

    @field_validator("period_seconds")
    @classmethod
    def _period(cls, value: int) -> int:
        if value % 60:
            raise ValueError(f"must be a multiple of 60 (got {value})")
        return value


class Autoscaling(_Model):
    """Target tracking on the variant: instances between min and max, invocations per instance."""

    min: int = Field(ge=1, le=100, description="Fewest instances.")
    max: int = Field(ge=1, le=100, description="Most instances.")
    target_invocations_per_instance: int = Field(ge=1, le=100000, description=(
        "SageMakerVariantInvocationsPerInstance (per minute) the policy keeps."))
    scale_in_cooldown_seconds: int = Field(default=300, ge=0, le=3600)
    scale_out_cooldown_seconds: int = Field(default=60, ge=0, le=3600)

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.max < self.min:
            raise _PathError(("max",), f"must be at least min ({self.min}); got {self.max}")
        return self


class Rollout(_Model):
    """How a new version takes traffic: blue/green, all at once, by a canary or linearly."""

    mode: Literal["all-at-once", "canary", "linear"] = "all-at-once"
    size_percent: int | None = Field(default=None, ge=1, le=99, description=(
        "canary: the canary's share of capacity; linear: each step's share."))
    interval_seconds: int = Field(default=300, ge=0, le=3600, description=(
        "canary: how long the canary serves before the rest shifts; linear: between steps."))
    bake_seconds: int = Field(default=600, ge=0, le=3600, description=(
        "How long the alarms are watched on full traffic before the old fleet is removed."))

    @model_validator(mode="after")
    def _size(self) -> Rollout:
        if self.mode == "all-at-once" and self.size_percent is not None:
            raise _PathError(("sizePercent",), "applies to canary and linear rollouts only")
        if self.mode != "all-at-once" and self.size_percent is None:
            raise _PathError(("sizePercent",), f"a {self.mode} rollout needs its size "
                                               "(percent of capacity)")
        return self


class Serverless(_Model):
    """Serverless inference (dev-tier stacks only)."""

    memory_size_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = 2048
    max_concurrency: int = Field(default=5, ge=1, le=200)


class HealthPaths(_Model):
    """The model server's probe paths (a SageMaker-style container answers /ping)."""

    readiness: str = Field(default="/ping", pattern=HTTP_PATH, description="Readiness probe.")
    liveness: str = Field(default="/ping", pattern=HTTP_PATH, description="Liveness probe.")
    startup: str = Field(default="/ping", pattern=HTTP_PATH, description=(
        "Startup probe: liveness and readiness wait until it answers (model loading)."))


class Resources(_Model):
    """CPU and memory of the model server; requests equal limits (Guaranteed QoS)."""

    cpu: str = Field(default="1", pattern=CPU_QUANTITY, description="Like 500m or 2.")
    memory: str = Field(default="2Gi", pattern=MEMORY_QUANTITY, description="Like 512Mi or 4Gi.")


class KubernetesAutoscaling(_Model):
    """A HorizontalPodAutoscaler (autoscaling/v2): replicas between min and max, on CPU
    utilisation or on requests per second (a Pods metric from a metrics adapter)."""

    min: int = Field(ge=1, le=100, description="Fewest replicas.")
    max: int = Field(ge=1, le=100, description="Most replicas.")
    target_cpu_utilization: int | None = Field(default=None, ge=1, le=100, description=(
        "Average CPU utilisation (percent of the request) the autoscaler keeps."))
    target_requests_per_second: int | None = Field(default=None, ge=1, le=100000, description=(
        "Average requests per second per pod the autoscaler keeps (needs a metrics adapter "
        "serving requestsPerSecondMetric)."))
    requests_per_second_metric: str = Field(
        default="http_requests_per_second", pattern=METRIC_K8S,
        description="The Pods metric (custom metrics API) holding requests per second.")
    scale_down_stabilization_seconds: int = Field(default=300, ge=0, le=3600)

    @model_validator(mode="after")
    def _target(self) -> KubernetesAutoscaling:
        if self.max < self.min:
            raise _PathError(("max",), f"must be at least min ({self.min}); got {self.max}")
        if (self.target_cpu_utilization is None) == (self.target_requests_per_second is None):
            raise _PathError(("targetCpuUtilization",), "give exactly one of "
                             "targetCpuUtilization or targetRequestsPerSecond")
        return self


class KubernetesServingSpec(_Model):
    """The model server on the stack's Kubernetes cluster (serving.target: kubernetes).

    An init container (``loaderImage``) copies the pinned artifact from S3 into the pod and
    checks its SHA-256; the server (``image``) serves it. Both images are pinned by digest.
    """

    image: str = Field(pattern=IMAGE_DIGEST, description=(
        "The model server image, pinned by digest (<repository>@sha256:<digest>)."))
    loader_image: str = Field(pattern=IMAGE_DIGEST, description=(
        "The init container that copies the artifact into the pod: runs /bin/sh with the AWS "
        "CLI v2, sha256sum and tar; pinned by digest."))
    port: int = Field(default=8080, ge=1024, le=65535, description=(
        "The port the server listens on (unprivileged)."))
    invocation_path: str = Field(default="/invocations", pattern=HTTP_PATH, description=(
        "Where requests go (mlops endpoints invoke)."))
    health: HealthPaths = Field(default_factory=HealthPaths)
    run_as_user: int = Field(default=10001, ge=10000, le=2147483647, description=(
        "The non-root UID (and GID) the containers run as (10000 or above)."))
    replicas: dict[str, int] = Field(default_factory=dict, description=(
        "Per stack (or tier): replicas without autoscaling (default 1; at least 2 in prod)."))
    autoscaling: dict[str, KubernetesAutoscaling] = Field(default_factory=dict, description=(
        "Per stack (or tier): a HorizontalPodAutoscaler instead of fixed replicas."))
    resources: dict[str, Resources] = Field(default_factory=dict, description=(
        "Per stack (or tier): the server's CPU and memory (requests = limits; default 1 CPU, "
        "2Gi)."))
    model_volume_size: str = Field(default="2Gi", pattern=MEMORY_QUANTITY, description=(
        "Size limit of the emptyDir the artifact is unpacked into (/opt/ml/model)."))
    scratch_size: str = Field(default="1Gi", pattern=MEMORY_QUANTITY, description=(
        "Size limit of the emptyDir scratch space (/tmp)."))

    @field_validator("replicas")
    @classmethod
    def _replicas(cls, value: dict[str, int]) -> dict[str, int]:
        _check_stack_keys(value)
        for key, count in value.items():
            if not 1 <= count <= 100:
                raise _PathError((key,), f"must be between 1 and 100 (got {count})")
        return value

    @field_validator("autoscaling", "resources")
    @classmethod
    def _keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_stack_keys(value)


class ServingSpec(_Model):
    """The version pinned in each stack file, served by a SageMaker endpoint or on the stack's
    Kubernetes cluster (``target``; none before a version is pinned). Every value is per stack,
    falling back to the tier (dev / staging / prod)."""

    target: dict[str, Literal["sagemaker", "kubernetes"]] = Field(
        default_factory=dict, description=(
            "Per stack (or tier): sagemaker (default) or kubernetes (needs serving.kubernetes "
            "and mlops:kubernetes in the stack file)."))
    kubernetes: KubernetesServingSpec | None = Field(default=None, description=(
        "The model server on Kubernetes, where target is kubernetes."))

    variant_name: str = Field(default="AllTraffic", pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})$",
                              description="The production variant; kept across versions.")
    instance_type: dict[str, str] = Field(default_factory=dict, description=(
        "Per stack (or tier): instance type; default: the stack's first allowed."))
    instance_count: dict[str, int] = Field(default_factory=dict, description=(
        "Per stack (or tier): initial instances (default 1; at least 2 in prod)."))
    serverless: dict[str, Serverless] = Field(default_factory=dict, description=(
        "Per dev-tier stack (or dev): serverless inference instead of instances."))
    autoscaling: dict[str, Autoscaling] = Field(default_factory=dict, description=(
        "Per stack (or tier): target tracking on invocations per instance."))
    data_capture_percent: dict[str, int] = Field(default_factory=dict, description=(
        "Per stack (or tier): share of requests captured, 0-100 (default 100)."))
    rollout: dict[str, Rollout] = Field(default_factory=dict, description=(
        "Per stack (or tier): how a new version takes traffic (canary or linear in prod)."))
    latency_slo_ms: dict[str, int] = Field(default_factory=dict, description=(
        "Per stack (or tier): p99 model latency above which the rollback alarm fires "
        "(default 1000)."))
    expects_traffic: dict[str, bool] = Field(default_factory=dict, description=(
        "Per stack (or tier): alarm when an hour passes without invocations."))

    @field_validator("instance_type")
    @classmethod
    def _instance_types(cls, value: dict[str, str]) -> dict[str, str]:
        _check_stack_keys(value)
        for key, itype in value.items():
            if not re.match(INSTANCE_TYPE, str(itype)):
                raise _PathError((key,), f"not a SageMaker instance type like ml.m5.xlarge "
                                         f"(got {itype!r})")
        return value

    @field_validator("instance_count")
    @classmethod
    def _counts(cls, value: dict[str, int]) -> dict[str, int]:
        _check_stack_keys(value)
        for key, count in value.items():
            if not 1 <= count <= 100:
                raise _PathError((key,), f"must be between 1 and 100 (got {count})")
        return value

    @field_validator("data_capture_percent")
    @classmethod
    def _percent(cls, value: dict[str, int]) -> dict[str, int]:
        _check_stack_keys(value)
        for key, percent in value.items():
            if not 0 <= percent <= 100:
                raise _PathError((key,), f"must be between 0 and 100 (got {percent})")
        return value

    @field_validator("latency_slo_ms")
    @classmethod
    def _slo(cls, value: dict[str, int]) -> dict[str, int]:
        _check_stack_keys(value)
        for key, ms in value.items():
            if not 1 <= ms <= 600000:
                raise _PathError((key,), f"must be between 1 and 600000 ms (got {ms})")
        return value

    @field_validator("serverless", "autoscaling", "rollout", "expects_traffic", "target")
    @classmethod
    def _keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_stack_keys(value)

    @model_validator(mode="after")
    def _kubernetes_options(self) -> ServingSpec:
        on_kubernetes = [k for k, v in self.target.items() if v == "kubernetes"]
        if on_kubernetes and self.kubernetes is None:
            raise _PathError(("target", on_kubernetes[0]),
                             "kubernetes serving needs a serving.kubernetes section (image and "
                             "loaderImage at least)")
        return self

    def target_for(self, stack: str, tier: str) -> str:
        """Where ``stack`` serves: its own target, else its tier's, else sagemaker."""
        return per_stack(self.target, stack, tier) or "sagemaker"


class DriftThresholds(_Model):
    """Above these, a feature (or the model's scores) counts as drifted."""

    psi: float = Field(default=0.2, gt=0, le=10, description=(
        "Population stability index of a feature against its baseline."))
    ks: float = Field(default=0.2, gt=0, le=1, description=(
        "Kolmogorov-Smirnov statistic of a numeric feature against its baseline sample."))
    unseen_share: float = Field(default=0.05, gt=0, le=1, description=(
        "Share of a categorical feature's values not seen in training."))
    score_psi: float = Field(default=0.2, gt=0, le=10, description=(
        "Population stability index of the model's scores."))


class Debounce(_Model):
    """M of N: the drift alarm fires when ``datapoints`` of the last ``evaluationPeriods``
    drift checks found drift, so one noisy window does not retrain."""

    datapoints: int = Field(default=2, ge=1, le=24)
    evaluation_periods: int = Field(default=3, ge=1, le=24)

    @model_validator(mode="after")
    def _m_of_n(self) -> Debounce:
        if self.datapoints > self.evaluation_periods:
            raise _PathError(("datapoints",), f"must be at most evaluationPeriods "
                                              f"({self.evaluation_periods}); got {self.datapoints}")
        return self


class Retraining(_Model):
    """What starts the training pipeline again, and how often at most."""

    on_drift: bool = Field(default=True, description="The drift alarm starts it.")
    on_new_data: bool = Field(default=True, description=(
        "A new object under the raw-data bucket's newDataPrefix starts it."))
    new_data_prefix: str | None = Field(default=None, pattern=r"^[A-Za-z0-9!_.*'()/-]+/$",
                                        description="Default: incoming/<project>/.")
    cooldown_hours: int = Field(default=24, ge=0, le=720, description=(
        "A run triggered within this long after the last one ends at once, skipped."))


class MonitoringSpec(_Model):
    """Drift checks of the endpoint's captured traffic against the serving version's baseline,
    and the retraining they trigger (needs a serving section)."""

    backend: Literal["pipeline", "model-monitor"] = Field(default="pipeline", description=(
        "pipeline: the platform's drift-check pipeline (the only one this release builds); "
        "model-monitor is reserved for SageMaker Model Monitor (see docs/drift.md)."))
    schedule: str = Field(default="rate(1 hour)", pattern=SCHEDULE,
                          description="When the drift check runs.")
    period_seconds: int = Field(default=3600, ge=60, le=86400, description=(
        "The drift alarm's period: the schedule's interval (a multiple of 60)."))
    window_hours: int = Field(default=24, ge=1, le=720, description=(
        "How far back each check reads captured traffic."))
    min_records: int = Field(default=100, ge=1, le=10_000_000, description=(
        "Fewer captured records: not enough data, never a drift alarm."))
    thresholds: DriftThresholds = Field(default_factory=DriftThresholds)
    debounce: dict[str, Debounce] = Field(default_factory=dict, description=(
        "Per stack (or tier): M of N drift checks that raise the alarm (default 2 of 3)."))
    ignore_features: list[str] = Field(default_factory=list, description=(
        "Features the check leaves out (identifiers, timestamps)."))
    instance_type: dict[str, str] = Field(default_factory=dict, description=(
        "Per stack (or tier): the drift check's instance type; default: the stack's first "
        "allowed."))
    retrain: Retraining = Field(default_factory=Retraining)

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        if value == "model-monitor":
            raise ValueError(
                "model-monitor is not built by this release: Model Monitor needs its own "
                "baselining job (statistics.json/constraints.json) in the project's pipeline, "
                "and is closed to new AWS customers; use backend: pipeline (docs/drift.md)")
        return value

    @field_validator("period_seconds")
    @classmethod
    def _period(cls, value: int) -> int:
        if value % 60:
            raise ValueError(f"must be a multiple of 60 (got {value})")
        return value

    @field_validator("debounce", "instance_type")
    @classmethod
    def _keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_stack_keys(value)


class ProjectManifest(_Model):
    """``pipelines/<project>/project.yaml``."""

    name: str = Field(pattern=PROJECT_NAME, description="Equals the folder name.")
    owner: str = Field(pattern=EMAIL, description="Owner email (tag mlops:owner).")
    description: str = ""
    feature_groups: list[FeatureGroupSpec] = Field(default_factory=list)
    pipeline: PipelineSpec = Field(default_factory=PipelineSpec)
    model: ModelSpec
    alarms: AlarmSpec = Field(default_factory=AlarmSpec)
    serving: ServingSpec | None = Field(default=None, description=(
        "An endpoint for the version pinned in each stack; no section: no endpoint."))
    monitoring: MonitoringSpec | None = Field(default=None, description=(
        "Drift checks of the endpoint and automatic retraining; needs serving."))

    @model_validator(mode="after")
    def _monitoring_needs_serving(self) -> ProjectManifest:
        if self.monitoring is not None and self.serving is None:
            raise _PathError(("monitoring",), "drift checks read an endpoint's captured traffic: "
                                              "add a serving section, or remove monitoring")
        return self

    @model_validator(mode="after")
    def _unique_groups(self) -> ProjectManifest:
        seen: set[str] = set()
        for i, group in enumerate(self.feature_groups):
            if group.name in seen:
                raise _PathError(("featureGroups", i, "name"),
                                 f"duplicate feature group {group.name!r}")
            seen.add(group.name)
        return self

    @property
    def package_group(self) -> str:
        """The logical package group name (physical: ``Naming.package_group(<this>)``)."""
        return self.model.package_group or self.name

    def instance_type_for(self, stack: str, tier: str) -> str | None:
        return per_stack(self.pipeline.instance_type, stack, tier)

    def max_runtime_for(self, stack: str, tier: str) -> int | None:
        return per_stack(self.pipeline.max_runtime_seconds, stack, tier)


class _PathError(ValueError):
    """A validator blames a key below the one being validated."""

    def __init__(self, path: tuple[str | int, ...], problem: str) -> None:
        super().__init__(problem)
        self.path = path
        self.problem = problem


def schema() -> dict[str, Any]:
    """The JSON Schema of project.yaml (by alias), for editors."""
    doc = ProjectManifest.model_json_schema(by_alias=True)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "mlops-platform project.yaml"
    return doc


def schema_json() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


# --- loading with line numbers -----------------------------------------------------------------


def _line_of(data: Any, path: tuple[str | int, ...]) -> int | None:
    """1-based line of the deepest key of ``path`` found in the round-trip YAML tree."""
    line: int | None = None
    node = data
    for part in path:
        if isinstance(node, CommentedMap) and part in node:
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    if line is None and isinstance(data, CommentedMap):
        line = data.lc.line + 1
    return line


def key_path(path: tuple[str | int, ...]) -> str:
    """``("featureGroups", 0, "name")`` -> ``featureGroups[0].name``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _alias_path(loc: tuple[int | str, ...]) -> tuple[str | int, ...]:
    """pydantic locations use aliases already (by_alias input); drop union/tag segments."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part in ("str", "int", "float", "bool")):
            continue
        out.append(part)
    return tuple(out)


def parse_manifest(text: str, source: str) -> tuple[ProjectManifest, Any]:
    """Parse and validate project.yaml text; raises ProjectError naming file, key and line."""
    try:
        data = YAML(typ="rt", pure=True).load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ProjectError(source, None, mark.line + 1 if mark else None,
                           f"invalid YAML: {exc.problem}") from None
    except YAMLError as exc:
        raise ProjectError(source, None, None, f"invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ProjectError(source, None, 1, "must be a mapping with name, owner and model")
    plain = json.loads(json.dumps(data, default=str))
    try:
        manifest = ProjectManifest.model_validate(plain)
    except ValidationError as exc:
        errors = exc.errors()
        # Report the error that appears first in the file.
        scored = []
        for err in errors:
            path = _alias_path(tuple(err["loc"]))
            original = (err.get("ctx") or {}).get("error")
            if isinstance(original, _PathError):
                path = (*path, *original.path)
            scored.append(((_line_of(data, path) or 0), path, err))
        scored.sort(key=lambda item: item[0])
        line, path, err = scored[0]
        raise ProjectError(source, key_path(path) or None, line or None,
                           describe(err, patterns=PATTERN_HELP)) from None
    return manifest, data


def manifest_line(path: Path, key: tuple[str | int, ...]) -> int | None:
    """Line of ``key`` in a manifest that already parsed (for checks made after parsing)."""
    try:
        data = YAML(typ="rt", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError):
        return None
    return _line_of(data, key) if isinstance(data, CommentedMap) else None


def load_manifest(project_dir: Path, root: Path) -> ProjectManifest:
    """Read ``<project_dir>/project.yaml``; the folder name must equal ``name``."""
    path = project_dir / PROJECT_FILE
    source = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    if not path.is_file():
        raise ProjectError(source, None, None, "no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ProjectError(source, None, None, "not UTF-8 text") from None
    manifest, data = parse_manifest(text, source)
    if manifest.name != project_dir.name:
        raise ProjectError(source, "name", _line_of(data, ("name",)),
                           f"must equal the folder name {project_dir.name!r} "
                           f"(got {manifest.name!r})")
    return manifest
