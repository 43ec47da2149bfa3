"""Triggered executions really run in the sandbox.

moto records a started pipeline execution and calls it Succeeded at once, running nothing. When
EventBridge delivers to a training pipeline target (``mlops.sandbox.events``), the execution is
run here instead with the local runner, as the local run of that execution (its ARN, id and
parameters), and its status in moto follows: Executing while it runs, then Succeeded or Failed.
Runs of one pipeline go one at a time; a cool-down skip ends Succeeded.

Call :func:`register` once in the sandbox server process, after the server starts.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def project_of(root: Path, pipeline_name: str) -> tuple[str, str] | None:
    """``(project, stack)`` of a training pipeline named ``<prefix>-<stack>-<project>``; None
    for any other pipeline (a drift check, another platform's)."""
    from infra.projects.discover import project_names
    from mlops.offline.runtime import load_settings
    from mlops.offline.stackfile import available_stacks

    projects = set(project_names(root))
    for stack in available_stacks(root):
        try:
            settings, _ = load_settings(root, stack)
        except Exception:  # noqa: BLE001 (a broken stack file is not this pipeline's)
            continue
        stem = f"{settings.name_prefix}-{stack}-"
        project = pipeline_name.removeprefix(stem)
        if pipeline_name.startswith(stem) and project in projects:
            return project, stack
    return None


def _execution(execution_arn: str) -> Any | None:
    """moto's record of the execution (this process's backend), or None."""
    from moto.sagemaker.models import sagemaker_backends

    parts = execution_arn.split(":", 5)
    if len(parts) < 6 or "/execution/" not in parts[5]:
        return None
    region, account = parts[3], parts[4]
    name = parts[5].removeprefix("pipeline/").split("/execution/")[0]
    pipeline = sagemaker_backends[account][region].pipelines.get(name)
    return None if pipeline is None else pipeline.pipeline_executions.get(execution_arn)


def set_status(execution_arn: str, status: str, reason: str | None = None) -> bool:
    """Set the execution's status (and last-modified time) in moto; False if moto lacks it."""
    from moto.core.utils import utcnow

    execution = _execution(execution_arn)
    if execution is None:
        return False
    execution.pipeline_execution_status = status
    execution.pipeline_execution_failure_reason = reason
    execution.last_modified_time = utcnow()
    return True


def _lock(pipeline_name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(pipeline_name, threading.Lock())


def run_triggered(root: Path, pipeline_name: str, execution_arn: str,
                  parameters: Mapping[str, str], endpoint_url: str | None, *,
                  aws: Any | None = None) -> Any | None:
    """Run the execution with the local runner and set its final status in moto.

    Returns the run's report, or None when the pipeline is not a project's training pipeline
    (left as moto made it). A run that cannot start (bad input) or fails ends Failed.
    """
    from mlops.local import launch

    found = project_of(root, pipeline_name)
    if found is None:
        return None
    project, stack = found
    with _lock(pipeline_name):
        set_status(execution_arn, "Executing")
        try:
            report = launch.start(root, project, stack, endpoint_url=endpoint_url, aws=aws,
                                  execution_arn=execution_arn, parameters=dict(parameters))
        except Exception as exc:  # noqa: BLE001 (UsageError included: the run fails, recorded)
            set_status(execution_arn, "Failed", f"{type(exc).__name__}: {exc}"[:1000])
            print(f"[mlops] {execution_arn}: could not run: {exc}", file=sys.stderr, flush=True)
            return None
        reason = None
        if report.failure is not None:
            reason = f"step {report.failure.name}: {report.failure.detail}"[:1000]
        set_status(execution_arn, "Succeeded" if report.status == "Succeeded" else "Failed",
                   reason)
        shown = f" ({report.detail})" if report.detail else ""
        print(f"[mlops] {execution_arn}: {report.status}{shown}", file=sys.stderr, flush=True)
        return report


def _root() -> Path:
    configured = os.environ.get("MLOPS_ROOT")
    return Path(configured) if configured else Path(__file__).resolve().parents[2]


def register(root: Path | None = None, endpoint_url: str | None = None) -> Callable[[], None]:
    """Run every pipeline execution EventBridge starts, in a background thread; returns what
    unregisters it.

    ``root`` defaults to $MLOPS_ROOT, else this checkout; ``endpoint_url`` (the server's own
    address) to $AWS_ENDPOINT_URL, else the running sandbox's.
    """
    from mlops.sandbox import events

    base = root or _root()

    def started(pipeline_name: str, execution_arn: str, parameters: dict[str, str]) -> None:
        if project_of(base, pipeline_name) is None:
            return
        set_status(execution_arn, "Executing")  # before moto's "Succeeded" is seen
        endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or _sandbox_endpoint()
        threading.Thread(target=run_triggered, name=f"triggered-{execution_arn[-12:]}",
                         args=(base, pipeline_name, execution_arn, parameters, endpoint),
                         daemon=True).start()

    return events.on_pipeline_started(started)


def _sandbox_endpoint() -> str | None:
    from mlops.sandbox.server import read_state

    state = read_state()
    return state.endpoint if state is not None else None
