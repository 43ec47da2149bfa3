"""Training steps with SageMaker's built-in XGBoost algorithm, run with the xgboost package.

As the algorithm's container does: the channels (``train``, optional ``validation``) are
staged under ``/opt/ml/input/data/<channel>``; CSV channels are label first without a header,
LibSVM and Parquet are read by XGBoost; the hyperparameters are the step's (strings, as
CreateTrainingJob takes them; ``num_round`` is required); the booster is saved as
``xgboost-model`` and packed into ``model.tar.gz`` at ``<S3OutputPath>/<job name>/output/``.
Other training images cannot run here and are refused before the run starts.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops.local.job import NotRunnableLocally, StepFailed, StepResult, StepRun, literal
from mlops.local.storage import download, join_uri

XGBOOST_IMAGE = "sagemaker-xgboost"
MODEL_FILE = "xgboost-model"
# Hyperparameters the container reads itself rather than passing to xgboost.train.
CONTAINER_KEYS = {"num_round", "early_stopping_rounds", "csv_weights", "save_model_on_termination"}


def is_xgboost(image: str) -> bool:
    """The built-in XGBoost algorithm's image (any account and region)."""
    return XGBOOST_IMAGE in image.rsplit("/", 1)[-1]


def check_training(step: Mapping[str, Any]) -> None:
    image = literal(((step.get("Arguments") or {}).get("AlgorithmSpecification") or {})
                    .get("TrainingImage")) or ""
    if not is_xgboost(image):
        raise NotRunnableLocally(
            f"step {step.get('Name')}: not runnable locally: image {image or '(none)'} "
            f"(local training runs the built-in XGBoost algorithm, {XGBOOST_IMAGE})")


def _number(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


def _matrix(folder: Path, content_type: str | None, channel: str) -> Any:
    """A channel's files as one DMatrix, read the way the container reads them."""
    import numpy as np
    import pandas as pd
    import xgboost as xgb

    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise StepFailed(f"channel {channel}: no files")
    kind = (content_type or "text/libsvm").split(";")[0].strip().lower()
    if kind in ("text/csv", "csv"):
        frame = pd.concat([pd.read_csv(p, header=None) for p in files], ignore_index=True)
        values = frame.to_numpy(dtype=np.float64)
        return xgb.DMatrix(values[:, 1:], label=values[:, 0])
    if kind in ("application/x-parquet", "application/parquet"):
        frame = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
        values = frame.to_numpy(dtype=np.float64)
        return xgb.DMatrix(values[:, 1:], label=values[:, 0])
    if kind in ("text/libsvm", "libsvm", "text/x-libsvm"):
        if len(files) > 1:
            raise StepFailed(f"channel {channel}: one LibSVM file per channel runs locally")
        return xgb.DMatrix(f"{files[0]}?format=libsvm")
    raise StepFailed(f"channel {channel}: content type {content_type} is not one the built-in "
                     "XGBoost algorithm reads (text/csv, text/libsvm, application/x-parquet)")


def run_training(run: StepRun) -> StepResult:
    import xgboost as xgb

    args = run.arguments
    channels: dict[str, Any] = {}
    for channel in args.get("InputDataConfig") or []:
        name = channel["ChannelName"]
        source = channel["DataSource"]["S3DataSource"]
        folder = run.local(f"/opt/ml/input/data/{name}")
        count = download(run.env.store, source["S3Uri"], folder)
        run.write_log(f"[mlops] channel {name}: {count} object(s) from {source['S3Uri']}")
        if count == 0:
            raise StepFailed(f"channel {name}: nothing at {source['S3Uri']}")
        channels[name] = _matrix(folder, channel.get("ContentType"), name)
    if "train" not in channels:
        raise StepFailed("the built-in XGBoost algorithm needs a train channel")
    hyper = {k: str(v) for k, v in (args.get("HyperParameters") or {}).items()}
    if "num_round" not in hyper:
        raise StepFailed("HyperParameters.num_round is required")
    params = {k: _number(v) for k, v in hyper.items() if k not in CONTAINER_KEYS}
    evals = [(channels[c], c) for c in ("train", "validation") if c in channels]
    history: dict[str, dict[str, list[float]]] = {}
    with run.log.open("a", encoding="utf-8") as log:
        booster = xgb.train(
            params, channels["train"], num_boost_round=int(hyper["num_round"]), evals=evals,
            evals_result=history, verbose_eval=False,
            early_stopping_rounds=int(hyper["early_stopping_rounds"])
            if "early_stopping_rounds" in hyper and "validation" in channels else None)
        for data, metrics in history.items():
            for metric, values in metrics.items():
                log.write(f"[{len(values) - 1}]#011{data}-{metric}:{values[-1]:.5f}\n")
    model_dir = run.local("/opt/ml/model")
    model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_dir / f"{MODEL_FILE}.ubj"))  # the format XGBoost detects
    (model_dir / f"{MODEL_FILE}.ubj").rename(model_dir / MODEL_FILE)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(model_dir / MODEL_FILE, arcname=MODEL_FILE)
    output = args["OutputDataConfig"]
    job = run.env.job_name(run.name)
    artifact = join_uri(output["S3OutputPath"], job, "output", "model.tar.gz")
    run.env.store.write(artifact, buffer.getvalue(), output.get("KmsKeyId"))
    run.write_log(f"[mlops] model {artifact} ({booster.num_boosted_rounds()} rounds)")
    # Keyed by name, as property paths read it: FinalMetricDataList['validation:auc'].Value
    final = {f"{data}:{metric}": {"MetricName": f"{data}:{metric}", "Value": values[-1]}
             for data, metrics in history.items() for metric, values in metrics.items()}
    return StepResult(properties={
        "TrainingJobName": job, "TrainingJobArn": run.env.arn("training-job", job),
        "TrainingJobStatus": "Completed", "ModelArtifacts": {"S3ModelArtifacts": artifact},
        "HyperParameters": hyper, "FinalMetricDataList": final,
        "AlgorithmSpecification": args.get("AlgorithmSpecification") or {},
        "OutputDataConfig": output,
    }, outputs=[artifact], detail=", ".join(f"{name} {m['Value']:.4f}" for name, m in final.items()))
