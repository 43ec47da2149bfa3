"""Fraud quality check: PR-AUC and recall of the batch-transform scores against the labels.

Reads ``<root>/input/scores/*.out`` (one score per line, the transform output) and
``<root>/input/labels/*.csv``; writes ``<root>/output/quality/quality.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_score, recall_score

ROOT = Path(os.environ.get("PROCESSING_ROOT", "/opt/ml/processing"))


def main() -> None:
    scores = np.concatenate([np.loadtxt(p, delimiter=",", ndmin=1)
                             for p in sorted((ROOT / "input" / "scores").glob("*.out"))])
    labels = pd.concat([pd.read_csv(p, header=None)
                        for p in sorted((ROOT / "input" / "labels").glob("*.csv"))])
    y = labels.iloc[:, 0].to_numpy()
    if len(y) != len(scores):
        raise SystemExit(f"{len(scores)} scores for {len(y)} labels")
    predicted = scores >= 0.5
    report = {"metrics": {
        "pr_auc": {"value": float(average_precision_score(y, scores))},
        "recall": {"value": float(recall_score(y, predicted, zero_division=0))},
        "precision": {"value": float(precision_score(y, predicted, zero_division=0))},
        "fraud_rate": {"value": float(y.mean())},
    }}
    out = ROOT / "output" / "quality"
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
