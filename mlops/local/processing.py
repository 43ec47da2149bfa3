"""Processing steps: the step's script in a subprocess, its inputs staged as the container sees
them, its outputs uploaded; QualityCheck steps, which are processing jobs of the Model Monitor
analyzer, computed in-process.

The container's ``/opt/ml`` is a folder of the step's working directory. Paths under
``/opt/ml/`` in the entrypoint, arguments and environment are rewritten to it, and
``PROCESSING_ROOT`` names its ``processing`` folder (the examples' and the scaffold's scripts
read it, falling back to ``/opt/ml/processing`` in a real container).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops.local.job import (
    CONTAINER_ROOT,
    NotRunnableLocally,
    StepFailed,
    StepResult,
    StepRun,
    literal,
)
from mlops.local.storage import download, upload

PYTHONS = ("python", "python3")
ANALYZER_IMAGE = "sagemaker-model-monitor-analyzer"


def check_processing(step: Mapping[str, Any]) -> None:
    """Only a Python entrypoint runs here (the script runs with this machine's Python)."""
    spec = (step.get("Arguments") or {}).get("AppSpecification") or {}
    entrypoint = spec.get("ContainerEntrypoint") or []
    first = literal(entrypoint[0]) if entrypoint else None
    if first is None or Path(first).name not in PYTHONS:
        shown = " ".join(str(e) for e in entrypoint) or "(the image's own entrypoint)"
        raise NotRunnableLocally(
            f"step {step.get('Name')}: not runnable locally: entrypoint {shown} of image "
            f"{spec.get('ImageUri')} (a local run runs Python scripts: ContainerEntrypoint "
            "['python3', '/opt/ml/processing/input/code/<script>.py'])")


def _container_value(run: StepRun, value: Any) -> Any:
    """A container path (``/opt/ml/...``) as its local stand-in; other values unchanged."""
    if isinstance(value, str) and value.startswith(CONTAINER_ROOT):
        return str(run.local(value))
    return value


def stage_inputs(run: StepRun) -> None:
    """Every ProcessingInput with an S3 source, into its (local) LocalPath."""
    for item in run.arguments.get("ProcessingInputs") or []:
        source = item.get("S3Input")
        if not source:
            raise StepFailed(f"input {item.get('InputName')}: only S3 inputs "
                             "run locally")
        target = run.local(source["LocalPath"])
        target.mkdir(parents=True, exist_ok=True)
        count = download(run.env.store, source["S3Uri"], target)
        run.write_log(f"[mlops] input {item.get('InputName')}: {count} object(s) from "
                      f"{source['S3Uri']} -> {source['LocalPath']}")
        if count == 0:
            raise StepFailed(f"input {item.get('InputName')}: nothing at "
                             f"{source['S3Uri']} in {run.env.store.description}")


def upload_outputs(run: StepRun) -> tuple[dict[str, Any], list[str]]:
    """Every ProcessingOutput's LocalPath uploaded to its S3 URI; (outputs by name, URIs)."""
    config = run.arguments.get("ProcessingOutputConfig") or {}
    by_name: dict[str, Any] = {}
    written: list[str] = []
    for item in config.get("Outputs") or []:
        target = item["S3Output"]
        folder = run.local(target["LocalPath"])
        folder.mkdir(parents=True, exist_ok=True)
        files = upload(run.env.store, folder, target["S3Uri"], config.get("KmsKeyId"))
        run.write_log(f"[mlops] output {item['OutputName']}: {len(files)} file(s) -> "
                      f"{target['S3Uri']}")
        by_name[item["OutputName"]] = item
        written.append(str(target["S3Uri"]))
    return by_name, written


def run_processing(run: StepRun) -> StepResult:
    """The script in a subprocess with the step's environment and arguments."""
    args = run.arguments
    spec = args.get("AppSpecification") or {}
    stage_inputs(run)
    for item in (args.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        run.local(item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
    entrypoint = [run.env.python] + [_container_value(run, v) for v in spec["ContainerEntrypoint"][1:]]
    command = entrypoint + [str(_container_value(run, a)) for a in spec.get("ContainerArguments") or []]
    environment = {**os.environ, **{k: str(_container_value(run, v))
                                    for k, v in (args.get("Environment") or {}).items()},
                   "PROCESSING_ROOT": str(run.local("/opt/ml/processing")),
                   "PYTHONUNBUFFERED": "1"}
    timeout = (args.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    run.write_log(f"[mlops] $ {' '.join(command)}")
    with run.log.open("a", encoding="utf-8") as log:
        try:
            done = subprocess.run(command, cwd=run.workdir, env=environment, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=float(timeout) if timeout
                                  else None, check=False)
        except subprocess.TimeoutExpired:
            raise StepFailed(f"stopped after MaxRuntimeInSeconds={timeout}",
                             None, run.log_tail()) from None
    if done.returncode != 0:
        raise StepFailed(f"the script exited with {done.returncode}",
                         done.returncode, run.log_tail())
    outputs, written = upload_outputs(run)
    return StepResult(properties=job_properties(run, outputs), outputs=written)


def job_properties(run: StepRun, outputs: dict[str, Any]) -> dict[str, Any]:
    """The properties of a completed processing job (what later steps ``Get``)."""
    args = run.arguments
    job = run.env.job_name(run.name)
    return {
        "ProcessingJobName": job, "ProcessingJobArn": run.env.arn("processing-job", job),
        "ProcessingJobStatus": "Completed", "ExitMessage": "",
        "ProcessingOutputConfig": {"Outputs": outputs,
                                   "KmsKeyId": (args.get("ProcessingOutputConfig") or {})
                                   .get("KmsKeyId")},
        "AppSpecification": args.get("AppSpecification") or {},
        "Environment": args.get("Environment") or {},
    }


def check_quality(step: Mapping[str, Any]) -> None:
    """The Model Monitor analyzer is computed here; other images are not."""
    spec = (step.get("Arguments") or {}).get("AppSpecification") or {}
    image = literal(spec.get("ImageUri")) or ""
    if ANALYZER_IMAGE not in image:
        raise NotRunnableLocally(f"step {step.get('Name')}: not runnable locally: image {image} "
                                 f"(a local QualityCheck computes what {ANALYZER_IMAGE} does)")


def run_quality_check(run: StepRun) -> StepResult:
    """Baseline statistics and constraints where the step says, as the analyzer writes them."""
    from mlops.local.baselines import CheckError
    from mlops.local.baselines import run_check as analyze

    environment = {k: str(v) for k, v in (run.arguments.get("Environment") or {}).items()}
    stage_inputs(run)
    dataset = run.local(environment.get("dataset_source", "/opt/ml/processing/input"))
    output = run.local(environment.get("output_path", "/opt/ml/processing/output"))
    try:
        result = analyze(environment, dataset, output)
    except CheckError as exc:
        raise StepFailed(f"{exc}") from None
    run.write_log(f"[mlops] {environment.get('analysis_type')}: {result}")
    outputs, written = upload_outputs(run)
    location = next(iter(outputs.values()))["S3Output"]["S3Uri"] if outputs else None
    if location is None:
        raise StepFailed("no ProcessingOutput for the baseline")
    statistics, constraints = f"{location}/statistics.json", f"{location}/constraints.json"
    raw = run.raw
    calculated = {"CalculatedBaselineStatistics": statistics,
                  "CalculatedBaselineConstraints": constraints}
    supplied = (_supplied(raw, "SuppliedBaselineStatistics"),
                _supplied(raw, "SuppliedBaselineConstraints"))
    fresh = bool(raw.get("RegisterNewBaseline")) or not all(supplied)
    return StepResult(properties={
        **calculated,
        "BaselineUsedForDriftCheckStatistics": statistics if fresh else supplied[0],
        "BaselineUsedForDriftCheckConstraints": constraints if fresh else supplied[1],
        "ProcessingOutputConfig": {"Outputs": outputs},
    }, outputs=written)


def _supplied(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) and value else None
