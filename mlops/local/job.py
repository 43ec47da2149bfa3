"""What every step executor of a local run gets and returns, and how a step fails.

An executor runs one step: it receives the step as written, its arguments with every
expression evaluated, a working folder that stands in for the container's ``/opt/ml``, a log
file, and the run's environment (store, registry, names). It returns the step's properties
(what later steps ``Get``) and the locations it wrote, or raises :class:`StepFailed`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops.errors import UsageError
from mlops.local.storage import Store

CONTAINER_ROOT = "/opt/ml/"
LOG_TAIL_LINES = 20


class StepFailed(Exception):  # noqa: N818 (a step's outcome)
    """A step failed; ``str()`` says why, ``exit_code`` and ``log_tail`` come from its process."""

    def __init__(self, message: str, exit_code: int | None = None,
                 log_tail: list[str] | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.log_tail = log_tail or []


class NotRunnableLocally(UsageError):
    """A step (its type, image or entrypoint) cannot run on this machine; refused before the
    run starts."""


@dataclass
class RunEnv:
    """The run a step belongs to."""

    run_id: str
    project: str
    pipeline_name: str
    region: str
    account_id: str
    store: Store
    sagemaker: Any | None  # the registry's client (the sandbox); None with --data
    folder: Path  # .cache/runs/<project>/<run-id>
    python: str = sys.executable
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # CreateModel's models
    aws: Any | None = None  # AwsClients of the run (the Trigger step's); None with --data
    execution_arn: str | None = None  # the execution this run is the local run of, if any

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:{kind}/{name.lower()}"

    def job_name(self, step: str) -> str:
        """The job name SageMaker Pipelines would give the step's job."""
        return f"pipelines-{self.run_id}-{step}"[:63]


@dataclass
class StepRun:
    """One step about to run."""

    name: str
    type: str
    raw: Mapping[str, Any]
    arguments: dict[str, Any]
    workdir: Path
    log: Path
    env: RunEnv

    def local(self, container_path: str) -> Path:
        """The local folder that stands in for a path in the container (``/opt/ml/...``)."""
        if not container_path.startswith(CONTAINER_ROOT):
            raise StepFailed(f"{container_path} is not under {CONTAINER_ROOT}")
        return self.workdir / container_path.lstrip("/")

    def write_log(self, text: str) -> None:
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")

    def log_tail(self) -> list[str]:
        if not self.log.is_file():
            return []
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL_LINES:]


@dataclass
class StepResult:
    """What a step leaves for the ones after it."""

    properties: dict[str, Any]
    outputs: list[str] = field(default_factory=list)  # locations written (for the summary)
    detail: str = ""


Executor = Callable[[StepRun], StepResult]
Check = Callable[[Mapping[str, Any]], None]  # raises NotRunnableLocally for the step as written


def literal(value: Any) -> str | None:
    """A value written as is in the definition (None for an expression)."""
    return value if isinstance(value, str) else None
