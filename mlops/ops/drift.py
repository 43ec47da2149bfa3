"""`mlops drift check`: the platform's drift-check pipeline of a project, run here.

The definition is the one ``pulumi up`` deploys for the stack (rendered with the SageMaker SDK,
the environment key by its ARN); the local runner runs its one Processing step on this machine
against the stack's S3, SageMaker and CloudWatch (AWS, or the sandbox): it reads the endpoint's
captured traffic, resolves the baseline of the version the endpoint serves, writes the report
and publishes the drift metrics the retraining alarm watches. ``at`` runs it as the schedule
would at that time (the window ends there and the metrics carry that timestamp).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.projects.drift import deployed, drift_spec, render_drift
from infra.projects.loader import load_projects
from infra.projects.monitoring import MonitoringPlan, monitoring_for
from infra.projects.platform_code import platform_code_files
from infra.projects.serving import ServingPlan, serving_for
from mlops.errors import UsageError
from mlops.ops.aws import AwsClients
from mlops.ops.environment import environment

RUNS = Path(".cache") / "runs"


@dataclass(frozen=True)
class DriftCheck:
    """One drift check: the report's content and where it and its HTML page are."""

    project: str
    stack: str
    run_id: str
    status: str  # the local run's: Succeeded | Failed
    report: dict[str, Any]
    report_uri: str
    html_uri: str
    failure: str | None = None

    @property
    def drift(self) -> str:
        """no-drift | drift | not-enough-data (empty when the run failed)."""
        return str(self.report.get("status", ""))


def monitored(root: Path, project: str, settings: Any, naming: Any) -> MonitoringPlan:
    """The project's drift check in this stack; UsageError when it has none (yet)."""
    [loaded] = load_projects(root, [project])
    if loaded.manifest.monitoring is None:
        raise UsageError(f"pipelines/{project}/project.yaml: no monitoring section (the project "
                         "has no drift check)")
    serving = serving_for(loaded, settings, naming)
    if not isinstance(serving, ServingPlan):
        raise UsageError(f"{project} is not served in stack {naming.stack} (nothing is pinned "
                         "there): no endpoint, no traffic to check")
    plan = monitoring_for(loaded, serving, settings, naming)
    assert plan is not None  # the manifest has a monitoring section
    return plan


def check(root: Path, project: str, stack: str, *, at: datetime | None = None,
          aws: AwsClients | None = None) -> DriftCheck:
    """Run the drift check of ``project`` in ``stack`` here; its report."""
    from mlops.local import run as local_run
    from mlops.local.job import RunEnv
    from mlops.local.storage import S3Store, join_uri

    env = environment(root, stack, aws)
    plan = monitored(root, project, env.settings, env.naming)  # before the key: what to check
    env = env.with_key()
    spec = drift_spec(plan, env.settings, env.naming)
    definition = json.loads(deployed(render_drift(spec, root), spec.kms_key_arn)(env.key_arn))
    if at is not None:
        for step in definition["Steps"]:
            step["Arguments"]["Environment"]["NOW"] = at.isoformat()
    store = S3Store(env.client("s3"))
    shared = platform_code_files()
    for path in shared.files:
        store.write(join_uri(spec.code_uri, shared.relative(path)), path.read_bytes(),
                    env.key_arn)
    run_id = local_run.new_run_id()
    run_env = RunEnv(run_id=run_id, project=project, pipeline_name=plan.drift_pipeline,
                     region=env.naming.region, account_id=env.naming.account_id, store=store,
                     sagemaker=env.client("sagemaker"),
                     folder=root / RUNS / f"{project}-drift" / run_id, aws=env.aws)
    report = local_run.execute(definition, run_env,
                               local_run.parameter_values(definition, {}), use_cache=False)
    prefix = f"{spec.report_uri.rstrip('/')}/{run_id}"
    failure = None
    content: dict[str, Any] = {}
    if report.failure is not None:
        tail = " | ".join(report.failure.log_tail[-3:])
        failure = f"{report.failure.name}: {report.failure.detail}" + (f" ({tail})" if tail
                                                                       else "")
    else:
        content = json.loads(store.read(f"{prefix}/report.json"))
    return DriftCheck(project, stack, run_id, report.status, content, f"{prefix}/report.json",
                      f"{prefix}/report.html", failure)
