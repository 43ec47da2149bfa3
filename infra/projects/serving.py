"""What a project's ``serving`` section means in one stack: resolved, checked against the stack.

Each value is the stack's own, else its tier's, else the default. A project without a
``serving`` section gets no endpoint; a stack without a pinned version of the project gets none
either (an endpoint cannot exist before its first promoted version), and the preview says why.
Violations (an instance type the stack does not allow, serverless outside dev, fewer than two
instances or an all-at-once rollout in prod, autoscaling bounds that exclude the initial count)
are a ProjectError naming project.yaml, the key and its line.

A project whose ``serving.target`` is ``kubernetes`` in a stack gets a :class:`KubernetesPlan`
instead of SageMaker sizing: the stack must name its cluster (``mlops:kubernetes``, else a
SettingsError naming the stack file and that key) and the pin its artifact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from common.instance_types import has_local_nvme
from infra.config import SettingsError, stack_file
from infra.projects.errors import ProjectError
from infra.projects.manifest import (
    Autoscaling,
    HealthPaths,
    KubernetesAutoscaling,
    Resources,
    Rollout,
    Serverless,
    manifest_line,
    per_stack,
)

if TYPE_CHECKING:
    from infra.config import PinnedModel, Settings
    from infra.naming import Naming
    from infra.projects.loader import Project

DEFAULT_CAPTURE_PERCENT = 100
DEFAULT_LATENCY_SLO_MS = 1000
PROD_MIN_INSTANCES = 2  # Security Hub SageMaker.4: more than one instance, across zones


@dataclass(frozen=True)
class KubernetesPlan:
    """One project's model server on the stack's Kubernetes cluster."""

    namespace: str
    name: str  # the Deployment, Service, ServiceAccount, ... in the namespace: the project name
    image: str
    loader_image: str
    port: int
    invocation_path: str
    health: HealthPaths
    run_as_user: int
    replicas: int  # without autoscaling; the HPA's min otherwise
    autoscaling: KubernetesAutoscaling | None
    resources: Resources
    model_volume_size: str
    scratch_size: str
    artifact_uri: str
    artifact_sha256: str
    zone_spread: str  # whenUnsatisfiable of the zone spread: DoNotSchedule in prod

    @property
    def min_replicas(self) -> int:
        return self.autoscaling.min if self.autoscaling else self.replicas


@dataclass(frozen=True)
class ServingPlan:
    """One project's endpoint in one stack (a SageMaker endpoint, or with ``kubernetes`` a
    Deployment on the stack's cluster)."""

    project: str
    pinned: PinnedModel
    endpoint_name: str
    model_name: str  # per version: <stem>-<project>-v<version>
    variant_name: str
    instance_type: str | None  # None with serverless
    instance_count: int
    serverless: Serverless | None
    autoscaling: Autoscaling | None
    capture_percent: int
    rollout: Rollout
    latency_slo_ms: int
    expects_traffic: bool
    kubernetes: KubernetesPlan | None = None

    @property
    def target(self) -> str:
        return "sagemaker" if self.kubernetes is None else "kubernetes"

    @property
    def volume_key(self) -> bool:
        """Whether the endpoint configuration takes the environment key (not on NVMe types)."""
        return self.instance_type is None or not has_local_nvme(self.instance_type)

    def alarm_name(self, kind: str) -> str:
        """Stable alarm names: the endpoint's rollback alarms must not change between versions
        (a changed alarm list replaces the endpoint)."""
        return f"{self.endpoint_name}-endpoint-{kind}"


@dataclass(frozen=True)
class NotServed:
    """A project with a serving section that gets no endpoint in this stack, and why."""

    project: str
    reason: str


def serving_for(project: Project, settings: Settings, naming: Naming
                ) -> ServingPlan | NotServed | None:
    """The endpoint ``project`` gets in this stack; NotServed without a pinned version; None
    without a serving section."""
    spec = project.manifest.serving
    if spec is None:
        return None
    stack, tier = naming.stack, settings.environment
    pinned = settings.models.get(project.name)
    if pinned is None:
        return NotServed(project.name, f"no version of {project.name} is pinned in "
                                       f"stacks/Pulumi.{stack}.yaml (mlops:models): no endpoint "
                                       f"until one is promoted (mlops models promote ... --to "
                                       f"{stack})")
    source = f"{project.source}/project.yaml"

    def fail(key: tuple[str | int, ...], problem: str) -> ProjectError:
        where = ".".join(str(k) for k in key)
        return ProjectError(source, where, manifest_line(project.path / "project.yaml", key),
                            problem)

    def chosen(field: str, values: dict) -> tuple[str, ...]:
        """The key of the value that applies to this stack (its own, else its tier)."""
        return ("serving", field, stack if stack in values else tier)

    if spec.target_for(stack, tier) == "kubernetes":
        return _on_kubernetes(project, settings, naming, chosen, fail)
    serverless = per_stack(spec.serverless, stack, tier)
    if serverless is not None and tier != "dev":
        raise fail(chosen("serverless", spec.serverless),
                   f"serverless inference is for dev-tier stacks only (stack {stack} is {tier})")
    instance_type = per_stack(spec.instance_type, stack, tier) or settings.allowed_instance_types[0]
    if serverless is None and instance_type not in settings.allowed_instance_types:
        raise fail(chosen("instanceType", spec.instance_type),
                   f"{instance_type} is not allowed in stack {stack} (allowed: "
                   f"{', '.join(settings.allowed_instance_types)})")
    count = per_stack(spec.instance_count, stack, tier) or 1
    if tier == "prod" and serverless is None and count < PROD_MIN_INSTANCES:
        key = chosen("instanceCount", spec.instance_count) if spec.instance_count else (
            "serving",)
        raise fail(key, f"prod serves from at least {PROD_MIN_INSTANCES} instances (stack "
                        f"{stack} would have {count}); set serving.instanceCount.prod")
    scaling = per_stack(spec.autoscaling, stack, tier)
    if scaling is not None:
        key = chosen("autoscaling", spec.autoscaling)
        if serverless is not None:
            raise fail(key, "serverless endpoints scale themselves; remove autoscaling here")
        if not scaling.min <= count <= scaling.max:
            raise fail(key, f"the initial instance count ({count}) must be between min "
                            f"({scaling.min}) and max ({scaling.max})")
        if tier == "prod" and scaling.min < PROD_MIN_INSTANCES:
            raise fail((*key, "min"), f"prod keeps at least {PROD_MIN_INSTANCES} instances "
                                      f"(got {scaling.min})")
    rollout = per_stack(spec.rollout, stack, tier) or Rollout()
    if tier == "prod" and rollout.mode == "all-at-once":
        key = chosen("rollout", spec.rollout) if spec.rollout else ("serving",)
        raise fail(key, "prod rolls out a new version as a canary or linearly, watched by the "
                        "rollback alarms; set serving.rollout.prod")
    capture = per_stack(spec.data_capture_percent, stack, tier)
    slo = per_stack(spec.latency_slo_ms, stack, tier)
    return ServingPlan(
        project=project.name, pinned=pinned, endpoint_name=f"{naming.stem}-{project.name}",
        model_name=f"{naming.stem}-{project.name}-v{pinned.version}",
        variant_name=spec.variant_name,
        instance_type=None if serverless is not None else instance_type,
        instance_count=count, serverless=serverless, autoscaling=scaling,
        capture_percent=DEFAULT_CAPTURE_PERCENT if capture is None else capture,
        rollout=rollout, latency_slo_ms=slo or DEFAULT_LATENCY_SLO_MS,
        expects_traffic=bool(per_stack(spec.expects_traffic, stack, tier)),
    )


def _on_kubernetes(project: Project, settings: Settings, naming: Naming,
                   chosen: Callable[[str, dict], tuple[str, ...]],
                   fail: Callable[[tuple[str | int, ...], str], ProjectError]) -> ServingPlan:
    """The Kubernetes serving of ``project`` in this stack (serving.target is kubernetes)."""
    spec = project.manifest.serving
    assert spec is not None and spec.kubernetes is not None  # the manifest enforces both
    options = spec.kubernetes
    stack, tier = naming.stack, settings.environment
    pinned = settings.models[project.name]
    where = f"{project.source}/project.yaml: {'.'.join(chosen('target', spec.target))}"
    cluster = settings.kubernetes
    if cluster is None:
        raise SettingsError(stack_file(stack), "mlops:kubernetes",
                            f"{project.name} serves on Kubernetes in this stack ({where}) but the "
                            "stack names no cluster: set mlops:kubernetes.eksClusterName or "
                            "mlops:kubernetes.kubeconfig (docs/kubernetes.md)")
    for key, value in (("artifactUri", pinned.artifact_uri),
                       ("artifactSha256", pinned.artifact_sha256)):
        if value is None:
            raise SettingsError(stack_file(stack), f"mlops:models.{project.name}.{key}",
                                "Kubernetes serving loads the pinned artifact itself: the pin "
                                "needs artifactUri and artifactSha256 (mlops models promote "
                                "writes both)")
    assert pinned.artifact_uri is not None and pinned.artifact_sha256 is not None
    scaling = per_stack(options.autoscaling, stack, tier)
    replicas = per_stack(options.replicas, stack, tier) or 1

    def option(name: str, values: dict) -> tuple[str | int, ...]:
        """The key of a serving.kubernetes value that applies to this stack."""
        if not values:
            return ("serving", "kubernetes")
        return ("serving", "kubernetes", name, stack if stack in values else tier)

    if tier == "prod":
        if scaling is not None and scaling.min < PROD_MIN_INSTANCES:
            raise fail((*option("autoscaling", options.autoscaling), "min"),
                       f"prod keeps at least {PROD_MIN_INSTANCES} replicas (got {scaling.min})")
        if scaling is None and replicas < PROD_MIN_INSTANCES:
            raise fail(option("replicas", options.replicas),
                       f"prod serves from at least {PROD_MIN_INSTANCES} replicas (stack {stack} "
                       f"would have {replicas}); set serving.kubernetes.replicas.prod")
    capture = per_stack(spec.data_capture_percent, stack, tier)
    slo = per_stack(spec.latency_slo_ms, stack, tier)
    return ServingPlan(
        project=project.name, pinned=pinned, endpoint_name=f"{naming.stem}-{project.name}",
        model_name=f"{naming.stem}-{project.name}-v{pinned.version}",
        variant_name=spec.variant_name, instance_type=None,
        instance_count=scaling.min if scaling else replicas, serverless=None, autoscaling=None,
        capture_percent=DEFAULT_CAPTURE_PERCENT if capture is None else capture,
        rollout=Rollout(), latency_slo_ms=slo or DEFAULT_LATENCY_SLO_MS,
        expects_traffic=bool(per_stack(spec.expects_traffic, stack, tier)),
        kubernetes=KubernetesPlan(
            namespace=cluster.namespace_for(naming.stem), name=project.name,
            image=options.image, loader_image=options.loader_image, port=options.port,
            invocation_path=options.invocation_path, health=options.health,
            run_as_user=options.run_as_user, replicas=replicas, autoscaling=scaling,
            resources=per_stack(options.resources, stack, tier) or Resources(),
            model_volume_size=options.model_volume_size, scratch_size=options.scratch_size,
            artifact_uri=pinned.artifact_uri, artifact_sha256=pinned.artifact_sha256,
            zone_spread="DoNotSchedule" if tier == "prod" else "ScheduleAnyway"),
    )


def serving_plans(projects: list[Project], settings: Settings, naming: Naming
                  ) -> tuple[list[ServingPlan], list[NotServed]]:
    """The endpoints of a stack, and the served projects that get none yet (with why)."""
    plans: list[ServingPlan] = []
    waiting: list[NotServed] = []
    for project in projects:
        result = serving_for(project, settings, naming)
        if isinstance(result, ServingPlan):
            plans.append(result)
        elif isinstance(result, NotServed):
            waiting.append(result)
    return plans, waiting
