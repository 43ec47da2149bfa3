"""A local run: the steps of a rendered definition in dependency order, each by its executor.

Before anything runs, every step (condition branches included) must be of a type with an
executor and pass its check (the built-in XGBoost image, a Python entrypoint...); otherwise
the run is refused naming the step (:class:`~mlops.local.job.NotRunnableLocally`). Steps run
one at a time, in definition order among those whose dependencies (``DependsOn``, and every
``Steps.<name>`` a step refers to) have finished. A Condition runs its IfSteps or its
ElseSteps; the other branch is skipped. A failed step stops the run. Steps with
``CacheConfig.Enabled`` reuse a finished earlier run's properties when their cache key (the
attributes SageMaker uses for that step type) is the same and has not expired, and (unlike
SageMaker, which does not look) what that run wrote is still there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops.errors import UsageError
from mlops.local import processing, register, training, transform
from mlops.local import trigger as platform_trigger
from mlops.local.expressions import ExpressionError, Scope
from mlops.local.job import Check, Executor, NotRunnableLocally, RunEnv, StepFailed, StepRun

# Step type -> (executor, check before the run). Condition and Fail steps steer the run itself.
EXECUTORS: dict[str, tuple[Executor | None, Check | None]] = {
    "Processing": (processing.run_processing, processing.check_processing),
    "QualityCheck": (processing.run_quality_check, processing.check_quality),
    "Training": (training.run_training, training.check_training),
    "Model": (transform.run_create_model, transform.check_model),
    "Transform": (transform.run_transform, None),
    "RegisterModel": (register.run_register, None),
    "Condition": (None, None),
    "Fail": (None, None),
}
# What SageMaker compares to decide that a cached step can be reused, per step type.
CACHE_KEYS: dict[str, tuple[str, ...]] = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "QualityCheck": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": ("AlgorithmSpecification", "CheckpointConfig", "DebugHookConfig",
                 "DebugRuleConfigurations", "Environment", "HyperParameters", "InputDataConfig"),
    "Transform": ("DataProcessing", "Environment", "ModelName", "TransformInput"),
}
QUALITY_CHECK_KEYS = ("CheckType", "SkipCheck", "RegisterNewBaseline", "ModelPackageGroupName",
                      "SuppliedBaselineStatistics", "SuppliedBaselineConstraints")
CACHE_FILE = "step-cache.json"

SUCCEEDED, CACHED, FAILED, SKIPPED, NOT_STARTED = (
    "Succeeded", "Cached", "Failed", "Skipped", "NotStarted")


@dataclass
class Planned:
    """A step of the definition with what it waits for."""

    name: str
    type: str
    raw: Mapping[str, Any]
    depends_on: set[str]
    branch_of: str | None = None  # the Condition step whose IfSteps/ElseSteps hold it


@dataclass
class StepOutcome:
    """What happened to one step."""

    name: str
    type: str
    status: str = NOT_STARTED
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)
    detail: str = ""
    exit_code: int | None = None
    log_tail: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    """The run: its id, status and each step's outcome, in the order they were decided."""

    run_id: str
    pipeline: str
    folder: Path
    parameters: dict[str, Any]
    steps: list[StepOutcome]
    status: str = "Executing"
    failure: StepOutcome | None = None
    detail: str = ""  # "skipped: cool-down: ..." when the platform's Trigger step skipped it

    def to_dict(self) -> dict[str, Any]:
        return {"runId": self.run_id, "pipeline": self.pipeline, "status": self.status,
                "detail": self.detail,
                "folder": str(self.folder), "parameters": self.parameters,
                "steps": [asdict(s) for s in self.steps]}


def _references(value: Any) -> Iterator[str]:
    """Names of the steps an expression anywhere in ``value`` refers to."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in ("IfSteps", "ElseSteps"):
                continue
            if key == "Get" and isinstance(item, str) and item.startswith("Steps."):
                yield item.split(".")[1]
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def plan(definition: Mapping[str, Any]) -> list[Planned]:
    """Every step with its dependencies, checked as runnable here (NotRunnableLocally)."""
    planned: list[Planned] = []

    def add(steps: Any, branch_of: str | None) -> None:
        for raw in steps or []:
            name, kind = str(raw.get("Name")), str(raw.get("Type"))
            if kind not in EXECUTORS:
                raise NotRunnableLocally(
                    f"step {name}: type {kind} is not runnable locally (runnable: "
                    f"{', '.join(sorted(EXECUTORS))})")
            check = EXECUTORS[kind][1]
            if check is not None:
                check(raw)
            depends = set(raw.get("DependsOn") or []) | set(_references(raw))
            if branch_of:
                depends.add(branch_of)
            planned.append(Planned(name, kind, raw, depends - {name}, branch_of))
            if kind == "Condition":
                arguments = raw.get("Arguments") or {}
                add(arguments.get("IfSteps"), name)
                add(arguments.get("ElseSteps"), name)

    add(definition.get("Steps"), None)
    names = {p.name for p in planned}
    for step in planned:
        unknown = step.depends_on - names
        if unknown:
            raise UsageError(f"step {step.name}: depends on {', '.join(sorted(unknown))}, "
                             "which the definition does not have")
    return planned


def parameter_values(definition: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """Parameter defaults with ``--param`` overrides, each typed as the definition declares."""
    declared = {str(p["Name"]): p for p in definition.get("Parameters") or []}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise UsageError(f"--param {unknown[0]}: no such parameter (parameters: "
                         f"{', '.join(sorted(declared)) or 'none'})")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name not in overrides:
            values[name] = spec.get("DefaultValue")
            continue
        text, kind = overrides[name], str(spec.get("Type", "String"))
        try:
            if kind == "Integer":
                values[name] = int(text)
            elif kind == "Float":
                values[name] = float(text)
            elif kind == "Boolean":
                if text.lower() not in ("true", "false"):
                    raise ValueError(text)
                values[name] = text.lower() == "true"
            else:
                values[name] = text
        except ValueError:
            raise UsageError(f"--param {name}={text}: not a value of type {kind}") from None
    return values


_DURATION = re.compile(r"^P?(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                       r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$", re.IGNORECASE)


def expire_after(text: str | None) -> dt.timedelta | None:
    """A CacheConfig ExpireAfter (ISO 8601 duration: P30D, PT1H, 30d, T16m); None: never."""
    if not text:
        return None
    match = _DURATION.match(text.strip())
    if not match or not any(match.groups()):
        raise UsageError(f"CacheConfig.ExpireAfter {text!r} is not an ISO 8601 duration")
    years, months, weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return dt.timedelta(days=365 * years + 30 * months + 7 * weeks + days, hours=hours,
                        minutes=minutes, seconds=seconds)


class StepCache:
    """Finished steps of earlier runs of one project, by cache key (a JSON file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.entries: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    @staticmethod
    def key(env: RunEnv, step: Planned, evaluated: Mapping[str, Any]) -> str:
        arguments = evaluated.get("Arguments") or {}
        attributes = {k: arguments.get(k) for k in CACHE_KEYS.get(step.type, ())}
        if step.type == "QualityCheck":
            attributes.update({k: evaluated.get(k) for k in QUALITY_CHECK_KEYS})
        text = json.dumps([env.pipeline_name, env.store.description, step.type, step.name,
                           attributes], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def hit(self, key: str, now: dt.datetime) -> dict[str, Any] | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        expiry = expire_after(entry.get("expireAfter"))
        finished = dt.datetime.fromisoformat(entry["finishedAt"])
        return entry if expiry is None or now - finished <= expiry else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        self.entries[key] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.entries, indent=2, sort_keys=True, default=str)
                             + "\n", encoding="utf-8")


def new_run_id() -> str:
    """An id shaped like a pipeline execution's (12 lowercase letters and digits)."""
    return secrets.token_hex(6)


def execute(definition: Mapping[str, Any], env: RunEnv, parameters: Mapping[str, Any], *,
            use_cache: bool = True,
            on_step: Callable[[StepOutcome], None] | None = None,
            on_start: Callable[[Planned], None] | None = None) -> RunReport:
    """Run every step of ``definition`` (planned and checked by the caller with :func:`plan`)."""
    steps = plan(definition)
    started = dt.datetime.now(dt.UTC)
    pipeline_arn = env.arn("pipeline", env.pipeline_name)
    execution = {
        "PipelineExecutionId": env.run_id, "PipelineName": env.pipeline_name,
        "PipelineArn": pipeline_arn,
        "PipelineExecutionArn": env.execution_arn or f"{pipeline_arn}/execution/{env.run_id}",
        "StartDateTime": started.isoformat(), "CurrentDateTime": started.isoformat(),
    }
    scope = Scope(parameters=dict(parameters), execution=execution, read=env.store.read)
    for step in steps:
        if step.type == "Processing" and step.raw.get("PropertyFiles"):
            scope.property_files[step.name] = {
                f["PropertyFileName"]: f for f in step.raw["PropertyFiles"]}
    cache = StepCache(env.folder.parent / CACHE_FILE)
    report = RunReport(env.run_id, env.pipeline_name, env.folder, dict(parameters), [])
    outcomes = {s.name: StepOutcome(s.name, s.type) for s in steps}
    taken: dict[str, bool] = {}  # Condition -> the branch it took (True: IfSteps)
    done: set[str] = set()
    env.folder.mkdir(parents=True, exist_ok=True)

    def decided(outcome: StepOutcome) -> None:
        report.steps.append(outcome)
        if on_step is not None:
            on_step(outcome)

    def skipped(step: Planned) -> bool:
        if step.branch_of is not None and step.branch_of in taken:
            branch = (definition_branch(steps, step) == "IfSteps")
            return branch != taken[step.branch_of]
        return any(outcomes[d].status == SKIPPED for d in step.depends_on)

    pending = list(steps)
    while pending:
        ready = next((s for s in pending if s.depends_on <= done), None)
        if ready is None:  # a cycle: the definition names steps that wait for each other
            names = ", ".join(s.name for s in pending)
            raise UsageError(f"steps {names} wait for each other (a dependency cycle)")
        pending.remove(ready)
        outcome = outcomes[ready.name]
        done.add(ready.name)
        if skipped(ready):
            outcome.status = SKIPPED
            decided(outcome)
            continue
        if on_start is not None:
            on_start(ready)
        clock = time.monotonic()
        try:
            _run_one(ready, outcome, env, scope, cache, taken, use_cache)
        except (StepFailed, ExpressionError) as exc:
            outcome.status, outcome.detail = FAILED, str(exc)
            if isinstance(exc, StepFailed):
                outcome.exit_code, outcome.log_tail = exc.exit_code, exc.log_tail
        outcome.seconds = time.monotonic() - clock
        decided(outcome)
        if outcome.status == FAILED:
            report.status, report.failure = "Failed", outcome
            for rest in pending:
                decided(outcomes[rest.name])  # NotStarted
            break
    else:
        report.status = "Succeeded"
        report.detail = next((o.detail for o in report.steps if o.status == SUCCEEDED
                              and o.detail.startswith(platform_trigger.SKIPPED_DETAIL)), "")
    (env.folder / "run.json").write_text(json.dumps(report.to_dict(), indent=2, default=str)
                                         + "\n", encoding="utf-8")
    return report


def definition_branch(steps: list[Planned], step: Planned) -> str:
    """``IfSteps`` or ``ElseSteps``: where the step sits in its Condition."""
    condition = next(s for s in steps if s.name == step.branch_of)
    arguments = condition.raw.get("Arguments") or {}
    names = {str(s.get("Name")) for s in arguments.get("IfSteps") or []}
    return "IfSteps" if step.name in names else "ElseSteps"


def _run_one(step: Planned, outcome: StepOutcome, env: RunEnv, scope: Scope, cache: StepCache,
             taken: dict[str, bool], use_cache: bool) -> None:
    if step.type == "Condition":
        conditions = (step.raw.get("Arguments") or {}).get("Conditions") or []
        holds = all(scope.condition(c) for c in conditions)
        taken[step.name] = holds
        scope.properties[step.name] = {"Outcome": "True" if holds else "False"}
        outcome.status = SUCCEEDED
        outcome.detail = "true: IfSteps" if holds else "false: ElseSteps"
        return
    if step.type == "Fail":
        message = scope.evaluate((step.raw.get("Arguments") or {}).get("ErrorMessage", ""))
        raise StepFailed(str(message))
    evaluated = {k: scope.evaluate(v) for k, v in step.raw.items()
                 if k not in ("PropertyFiles", "DependsOn")}
    config = step.raw.get("CacheConfig") or {}
    cacheable = bool(config.get("Enabled")) and step.type in CACHE_KEYS
    key = StepCache.key(env, step, evaluated) if cacheable else None
    now = dt.datetime.now(dt.UTC)
    entry = cache.hit(key, now) if key and use_cache else None
    if entry is not None and not all(env.store.keys(uri) for uri in entry["outputs"]):
        entry = None  # what the earlier run wrote is gone (a restarted sandbox): run again
    if entry is not None:
        scope.properties[step.name] = entry["properties"]
        outcome.status, outcome.outputs = CACHED, list(entry["outputs"])
        outcome.detail = f"from run {entry['runId']}"
        return
    executor = (platform_trigger.run_trigger if platform_trigger.is_trigger(step.raw)
                else EXECUTORS[step.type][0])
    assert executor is not None
    workdir = env.folder / "work" / step.name
    run = StepRun(step.name, step.type, evaluated, dict(evaluated.get("Arguments") or {}),
                  workdir, env.folder / f"{step.name}.log", env)
    workdir.mkdir(parents=True, exist_ok=True)
    result = executor(run)
    scope.properties[step.name] = result.properties
    outcome.status, outcome.outputs, outcome.detail = SUCCEEDED, result.outputs, result.detail
    if key is not None:
        cache.put(key, {"runId": env.run_id, "finishedAt": now.isoformat(),
                        "expireAfter": config.get("ExpireAfter"),
                        "properties": result.properties, "outputs": result.outputs})
