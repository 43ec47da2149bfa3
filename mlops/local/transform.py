"""CreateModel and Transform steps: a model of the built-in XGBoost algorithm, and a batch
transform that scores each input file as SageMaker does (records split by line, the step's
``DataProcessing`` filters and join applied, one ``<input file>.out`` per input)."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Mapping
from typing import Any

from mlops.local.job import NotRunnableLocally, StepFailed, StepResult, StepRun, literal
from mlops.local.storage import join_uri, relative_key, split_uri
from mlops.local.training import MODEL_FILE, XGBOOST_IMAGE, is_xgboost


def check_model(step: Mapping[str, Any]) -> None:
    container = (step.get("Arguments") or {}).get("PrimaryContainer") or {}
    image = literal(container.get("Image")) or ""
    if not is_xgboost(image):
        raise NotRunnableLocally(f"step {step.get('Name')}: not runnable locally: image "
                                 f"{image or '(none)'} (local models serve the built-in "
                                 f"XGBoost algorithm, {XGBOOST_IMAGE})")


def run_create_model(run: StepRun) -> StepResult:
    """Record the model (and create it in the sandbox, where there is one)."""
    container = dict(run.arguments.get("PrimaryContainer") or {})
    name = run.env.job_name(run.name)
    run.env.models[name] = container
    if run.env.sagemaker is not None:
        run.env.sagemaker.create_model(ModelName=name, PrimaryContainer=container,
                                       ExecutionRoleArn=run.arguments["ExecutionRoleArn"])
    run.write_log(f"[mlops] model {name}: {container.get('Image')} {container.get('ModelDataUrl')}")
    return StepResult(properties={"ModelName": name, "ModelArn": run.env.arn("model", name),
                                  "PrimaryContainer": container})


def load_booster(run: StepRun, artifact: str) -> Any:
    """The booster inside a training artifact (model.tar.gz holding xgboost-model)."""
    import xgboost as xgb

    try:
        data = run.env.store.read(artifact)
    except FileNotFoundError:
        raise StepFailed(f"model artifact {artifact} is missing") from None
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile(MODEL_FILE)
        if member is None:
            raise StepFailed(f"{artifact} holds no {MODEL_FILE}")
        booster = xgb.Booster()
        booster.load_model(bytearray(member.read()))
    return booster


def run_transform(run: StepRun) -> StepResult:
    import numpy as np
    import xgboost as xgb

    from mlops.local.transform_filters import TransformFilterError, transform_lines

    args = run.arguments
    model = run.env.models.get(str(args.get("ModelName")))
    if model is None:
        raise StepFailed(f"model {args.get('ModelName')} was not created in "
                         "this run (a CreateModel step makes it)")
    booster = load_booster(run, str(model["ModelDataUrl"]))
    source = args["TransformInput"]["DataSource"]["S3DataSource"]
    content_type = args["TransformInput"].get("ContentType", "text/csv")
    if args["TransformInput"].get("SplitType", "None") not in ("Line", "None"):
        raise StepFailed(f"SplitType {args['TransformInput']['SplitType']} "
                         "does not run locally (Line does)")
    output = args["TransformOutput"]

    def predict(rows: list[list[float]]) -> list[float]:
        return [float(s) for s in booster.predict(xgb.DMatrix(np.asarray(rows, dtype=float)))]

    _, prefix = split_uri(source["S3Uri"])
    written = []
    for uri in run.env.store.keys(source["S3Uri"]):
        data = run.env.store.read(uri)
        if args["TransformInput"].get("CompressionType") == "Gzip":
            data = gzip.decompress(data)
        lines = [line for line in data.decode("utf-8").splitlines() if line.strip()]
        try:
            scored = transform_lines(lines, content_type, args.get("DataProcessing") or {}, predict)
        except TransformFilterError as exc:
            raise StepFailed(f"{exc}") from None
        target = join_uri(output["S3OutputPath"], relative_key(split_uri(uri)[1], prefix) + ".out")
        run.env.store.write(target, ("\n".join(scored) + "\n").encode(), output.get("KmsKeyId"))
        run.write_log(f"[mlops] {uri}: {len(lines)} record(s) -> {target}")
        written.append(target)
    if not written:
        raise StepFailed(f"nothing to transform at {source['S3Uri']}")
    job = run.env.job_name(run.name)
    return StepResult(properties={
        "TransformJobName": job, "TransformJobArn": run.env.arn("transform-job", job),
        "TransformJobStatus": "Completed", "ModelName": args.get("ModelName"),
        "TransformOutput": output, "TransformInput": args["TransformInput"],
    }, outputs=[str(output["S3OutputPath"])])
