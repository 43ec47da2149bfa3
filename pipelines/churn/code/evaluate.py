"""Churn evaluation: AUC of the trained XGBoost model on the test split.

Reads ``<root>/model/model.tar.gz`` (the training job's artifact, holding ``xgboost-model``) and
``<root>/test/*.csv`` (label first, no header); writes ``<root>/evaluation/evaluation.json``
shaped ``{"metrics": {"auc": {"value": ...}, ...}}`` for the pipeline's property file.
"""

from __future__ import annotations

import json
import os
import pickle
import tarfile
from pathlib import Path

import pandas as pd
import xgboost as xgb
from sklearn.metrics import accuracy_score, roc_auc_score

ROOT = Path(os.environ.get("PROCESSING_ROOT", "/opt/ml/processing"))


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


def main() -> None:
    booster = load_model(ROOT / "model")
    test = pd.concat([pd.read_csv(p, header=None) for p in sorted((ROOT / "test").glob("*.csv"))])
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


if __name__ == "__main__":
    main()
