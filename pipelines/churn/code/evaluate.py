"""Churn evaluation: AUC of the trained XGBoost model on the test split, and the drift baseline.

Reads ``<root>/model/model.tar.gz`` (the training job's artifact, holding ``xgboost-model``),
``<root>/test/*.csv`` (label first, no header) with ``<root>/test/columns.json`` (the feature
names in model-input order) and ``<root>/train/*.csv``; writes
``<root>/evaluation/evaluation.json`` shaped ``{"metrics": {"auc": {"value": ...}, ...}}`` for
the pipeline's property file, and ``<root>/baseline/baseline.json``: the platform's baseline of
the train features and of the model's scores on them (``compute_baseline`` of the platform step
code mounted at ``<root>/input/platform``), registered with the model as its drift baseline.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import tarfile
from pathlib import Path

import pandas as pd
import xgboost as xgb
from sklearn.metrics import accuracy_score, roc_auc_score

ROOT = Path(os.environ.get("PROCESSING_ROOT", "/opt/ml/processing"))
PLATFORM = ROOT / "input" / "platform"  # the platform's shared step code (baseline.py)


def load_model(folder: Path) -> xgb.Booster:
    archive = folder / "model.tar.gz"
    if archive.is_file():
        # The "data" filter where this Python has it (3.12, and security releases before).
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        with tarfile.open(archive) as tar:
            tar.extractall(folder, **safe)  # noqa: S202 (our own training artifact)
    path = folder / "xgboost-model"
    booster = xgb.Booster()
    try:  # from bytes: XGBoost detects the format (binary, JSON, UBJSON) from the content
        booster.load_model(bytearray(path.read_bytes()))
    except xgb.core.XGBoostError:
        with path.open("rb") as fh:  # older built-in containers pickle the booster
            booster = pickle.load(fh)  # noqa: S301 (our own training artifact)
    return booster


def read_split(folder: Path) -> pd.DataFrame:
    """Every CSV of a split (label first, no header), in file order."""
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise SystemExit(f"no CSV files in {folder}")
    return pd.concat([pd.read_csv(p, header=None) for p in files], ignore_index=True)


def write_drift_baseline(booster: xgb.Booster, train: pd.DataFrame, columns: list[str]) -> Path:
    """The baseline of the train features (named, in model-input order) and of their scores."""
    sys.path.insert(0, str(PLATFORM))
    from baseline import compute_baseline, write_baseline

    features = train.iloc[:, 1:]
    if features.shape[1] != len(columns):
        raise SystemExit(f"columns.json names {len(columns)} features, the train split has "
                         f"{features.shape[1]}")
    features.columns = columns
    scores = booster.predict(xgb.DMatrix(features.to_numpy()))
    return write_baseline(ROOT / "baseline" / "baseline.json", compute_baseline(features, scores))


def main() -> None:
    booster = load_model(ROOT / "model")
    test = read_split(ROOT / "test")
    y, x = test.iloc[:, 0].to_numpy(), test.iloc[:, 1:].to_numpy()
    scores = booster.predict(xgb.DMatrix(x))
    report = {"metrics": {
        "auc": {"value": float(roc_auc_score(y, scores))},
        "accuracy": {"value": float(accuracy_score(y, scores >= 0.5))},
        "rows": {"value": int(len(y))},
    }}
    out = ROOT / "evaluation"
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    columns = json.loads((ROOT / "test" / "columns.json").read_text())
    path = write_drift_baseline(booster, read_split(ROOT / "train"), columns)
    print(f"baseline: {path} ({len(columns)} features)")


if __name__ == "__main__":
    main()
