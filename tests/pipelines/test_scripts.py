"""The examples' step scripts run for real on small generated data sets."""

from __future__ import annotations

import json
import pickle
import runpy
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from infra.projects.platform_code import platform_code_files
from mlops.local.samples import load_samples
from tests.conftest import ROOT


def churn_records(rows: int = 400) -> pd.DataFrame:
    return load_samples(ROOT / "pipelines" / "churn")["customers"](rows, 0)


def fraud_records(rows: int = 1500) -> pd.DataFrame:
    return load_samples(ROOT / "pipelines" / "fraud")["transactions"](rows, 0)


def write_offline_store(df: pd.DataFrame, folder: Path, parts: int = 3) -> None:
    """Parquet files nested the way an Iceberg offline store lays them out."""
    target = folder / "123456789012" / "sagemaker" / "eu-west-1" / "offline-store" / "fg" / "data"
    target.mkdir(parents=True, exist_ok=True)
    size = -(-len(df) // parts)
    for i in range(parts):
        df.iloc[i * size:(i + 1) * size].to_parquet(target / f"part-{i}.parquet", index=False)


def run_script(path: Path, root: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv("PROCESSING_ROOT", str(root))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runpy.run_path(str(path), run_name="__main__")


def train_like_builtin(train_dir: Path, model_dir: Path, pickled: bool = False) -> xgb.Booster:
    """What the built-in XGBoost algorithm does with a label-first CSV: model.tar.gz holding
    ``xgboost-model`` (saved by XGBoost, or pickled by older containers)."""
    data = pd.concat([pd.read_csv(p, header=None) for p in sorted(train_dir.glob("*.csv"))])
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3},
                        xgb.DMatrix(data.iloc[:, 1:].to_numpy(), label=data.iloc[:, 0]),
                        num_boost_round=30)
    model_dir.mkdir(parents=True, exist_ok=True)
    if pickled:
        (model_dir / "xgboost-model").write_bytes(pickle.dumps(booster))
    else:
        booster.save_model(str(model_dir / "xgboost-model.json"))
        (model_dir / "xgboost-model.json").rename(model_dir / "xgboost-model")
    with tarfile.open(model_dir / "model.tar.gz", "w:gz") as tar:
        tar.add(model_dir / "xgboost-model", arcname="xgboost-model")
    (model_dir / "xgboost-model").unlink()
    return booster


@pytest.mark.parametrize("pickled", [False, True], ids=["saved-model", "pickled-model"])
def test_churn_preprocess_then_evaluate(tmp_path, monkeypatch, pickled):
    code = ROOT / "pipelines" / "churn" / "code"
    records = churn_records()
    write_offline_store(records, tmp_path / "input" / "features")
    run_script(code / "preprocess.py", tmp_path, monkeypatch, TRAIN_RATIO="0.6")

    splits = {s: pd.read_csv(tmp_path / "output" / s / f"{s}.csv", header=None)
              for s in ("train", "validation", "test")}
    live = records["customer_id"].nunique() - 5
    assert sum(len(df) for df in splits.values()) == live  # latest record, deleted ones dropped
    assert splits["train"].shape[1] == 1 + 4 + 3  # label, numeric features, one-hot contract
    assert set(splits["train"].iloc[:, 0].unique()) <= {0, 1}  # label first
    assert splits["train"].shape[1] == splits["test"].shape[1]

    columns = json.loads((tmp_path / "output" / "test" / "columns.json").read_text())
    assert columns == sorted(columns) and len(columns) == splits["train"].shape[1] - 1
    assert {"monthly_charges", "support_calls", "tenure_months", "total_charges"} < set(columns)
    one_hot = [c for c in columns if c.startswith("contract_type_")]
    assert len(one_hot) == 3
    assert not list((tmp_path / "output" / "train").glob("*.json"))  # training reads every file

    booster = train_like_builtin(tmp_path / "output" / "train", tmp_path / "model", pickled)
    for split in ("test", "train"):  # the Evaluate step's inputs
        shutil.copytree(tmp_path / "output" / split, tmp_path / split)
    shared = platform_code_files()
    for path in shared.files:
        target = tmp_path / "input" / "platform" / shared.relative(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    run_script(code / "evaluate.py", tmp_path, monkeypatch)
    report = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    assert 0.5 < report["metrics"]["auc"]["value"] <= 1.0  # the JsonGet path of the gate
    assert report["metrics"]["rows"]["value"] == len(splits["test"])

    baseline = json.loads((tmp_path / "baseline" / "baseline.json").read_text())
    assert baseline["version"] == 1 and baseline["records"] == len(splits["train"])
    assert [f["name"] for f in baseline["features"]] == columns
    kinds = {f["name"]: f["kind"] for f in baseline["features"]}
    assert kinds["tenure_months"] == "numeric"
    assert {kinds[c] for c in one_hot} == {"categorical"}  # one-hot columns
    tenure = next(f for f in baseline["features"] if f["name"] == "tenure_months")
    position = 1 + columns.index("tenure_months")
    assert tenure["mean"] == pytest.approx(splits["train"].iloc[:, position].mean())
    scores = booster.predict(xgb.DMatrix(splits["train"].iloc[:, 1:].to_numpy()))
    assert baseline["score"]["mean"] == pytest.approx(float(scores.mean()), rel=1e-5)


def test_fraud_prepare_score_evaluate(tmp_path, monkeypatch):
    code = ROOT / "pipelines" / "fraud" / "code"
    write_offline_store(fraud_records(), tmp_path / "input" / "features")
    run_script(code / "prepare.py", tmp_path, monkeypatch)
    out = tmp_path / "output"
    splits = {s: pd.read_csv(out / s / f"{s}.csv", header=None)
              for s in ("train", "validation", "holdout")}
    assert sum(len(df) for df in splits.values()) == len(fraud_records())
    assert {df.shape[1] for df in splits.values()} == {splits["train"].shape[1]}
    assert set(splits["holdout"].iloc[:, 0].unique()) <= {0, 1}  # label first

    # The batch transform: input filter $[1:] drops the label, the model scores the features,
    # join_source Input + output filter $[0,-1] write "label,score" lines to holdout.csv.out.
    booster = train_like_builtin(out / "train", tmp_path / "model")
    holdout = splits["holdout"]
    scores = booster.predict(xgb.DMatrix(holdout.iloc[:, 1:].to_numpy()))
    (tmp_path / "input" / "scores").mkdir(parents=True)
    np.savetxt(tmp_path / "input" / "scores" / "holdout.csv.out",
               np.column_stack([holdout.iloc[:, 0], scores]), delimiter=",", fmt=["%d", "%.6f"])
    run_script(code / "evaluate.py", tmp_path, monkeypatch)
    report = json.loads((out / "evaluation" / "evaluation.json").read_text())
    metrics = {name: m["value"] for name, m in report["metrics"].items()}
    assert metrics["rows"] == len(holdout)
    assert metrics["pr_auc"] > metrics["fraud_rate"]  # better than chance: the gate's metric
