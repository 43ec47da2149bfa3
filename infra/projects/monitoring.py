"""What a project's ``monitoring`` section means in one stack: resolved, checked against it.

A project is monitored where it is served (an endpoint exists only for a pinned version): the
drift check reads that endpoint's captured traffic and compares it with the baseline of the
version the endpoint serves. Values per stack fall back to the tier, then to the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.projects.errors import ProjectError
from infra.projects.manifest import Debounce, DriftThresholds, manifest_line, per_stack
from infra.projects.serving import ServingPlan

if TYPE_CHECKING:
    from infra.config import Settings
    from infra.naming import Naming
    from infra.projects.loader import Project

TRIGGER_SOURCES = ("drift", "new-data", "schedule", "manual")
DRIFT_METRIC = "DriftedFeatures"


def drift_namespace(stack: str) -> str:
    """The CloudWatch namespace of a stack's drift metrics."""
    return f"MLOps/{stack}/Drift"


@dataclass(frozen=True)
class MonitoringPlan:
    """One served project's drift check and retraining triggers in one stack."""

    project: str
    stack: str
    backend: str  # pipeline | model-monitor
    endpoint_name: str
    training_pipeline: str  # the project's pipeline, which retraining starts
    drift_pipeline: str
    schedule: str
    period_seconds: int
    window_hours: int
    min_records: int
    thresholds: DriftThresholds
    debounce: Debounce
    ignore_features: tuple[str, ...]
    instance_type: str
    on_drift: bool
    on_new_data: bool
    new_data_prefix: str
    cooldown_hours: int

    @property
    def namespace(self) -> str:
        return drift_namespace(self.stack)

    @property
    def alarm_name(self) -> str:
        return f"{self.drift_pipeline}-alarm"


def monitoring_for(project: Project, serving: ServingPlan, settings: Settings,
                   naming: Naming) -> MonitoringPlan | None:
    """The drift check ``project`` gets in this stack (None without a monitoring section)."""
    spec = project.manifest.monitoring
    if spec is None:
        return None
    stack, tier = naming.stack, settings.environment
    instance_type = per_stack(spec.instance_type, stack, tier) or settings.allowed_instance_types[0]
    if instance_type not in settings.allowed_instance_types:
        key = ("monitoring", "instanceType", stack if stack in spec.instance_type else tier)
        raise ProjectError(f"{project.source}/project.yaml", ".".join(key),
                           manifest_line(project.path / "project.yaml", key),
                           f"{instance_type} is not allowed in stack {stack} (allowed: "
                           f"{', '.join(settings.allowed_instance_types)})")
    retrain = spec.retrain
    return MonitoringPlan(
        project=project.name, stack=stack, backend=spec.backend,
        endpoint_name=serving.endpoint_name,
        training_pipeline=f"{naming.stem}-{project.name}",
        drift_pipeline=f"{naming.stem}-{project.name}-drift",
        schedule=spec.schedule, period_seconds=spec.period_seconds,
        window_hours=spec.window_hours, min_records=spec.min_records,
        thresholds=spec.thresholds,
        debounce=per_stack(spec.debounce, stack, tier) or Debounce(),
        ignore_features=tuple(spec.ignore_features), instance_type=instance_type,
        on_drift=retrain.on_drift, on_new_data=retrain.on_new_data,
        new_data_prefix=retrain.new_data_prefix or f"incoming/{project.name}/",
        cooldown_hours=retrain.cooldown_hours,
    )


def monitoring_plans(projects: list[Project], served: list[ServingPlan], settings: Settings,
                     naming: Naming) -> list[MonitoringPlan]:
    """The drift checks of a stack: one per served project with a monitoring section."""
    by_name = {p.name: p for p in projects}
    plans = []
    for serving in served:
        plan = monitoring_for(by_name[serving.project], serving, settings, naming)
        if plan is not None:
            plans.append(plan)
    return plans
