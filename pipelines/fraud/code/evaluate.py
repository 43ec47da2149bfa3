"""Fraud evaluation: PR-AUC, recall and precision of the scored holdout.

Reads ``<root>/input/scores/*.out``: the batch transform's output, one ``label,score`` line per
holdout row (the label joined from the input record); writes
``<root>/output/evaluation/evaluation.json`` shaped ``{"metrics": {"pr_auc": {"value": ...}}}``
for the pipeline's property file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, precision_score, recall_score

ROOT = Path(os.environ.get("PROCESSING_ROOT", "/opt/ml/processing"))
THRESHOLD = 0.5


def read_scores(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    files = sorted(folder.rglob("*.out"))
    if not files:
        raise SystemExit(f"no batch transform output (*.out) below {folder}")
    rows = np.concatenate([np.loadtxt(p, delimiter=",", ndmin=2) for p in files])
    if rows.shape[1] != 2:
        raise SystemExit(f"expected 'label,score' lines, got {rows.shape[1]} columns")
    return rows[:, 0].astype(int), rows[:, 1]


def main() -> None:
    y, scores = read_scores(ROOT / "input" / "scores")
    predicted = scores >= THRESHOLD
    report = {"metrics": {
        "pr_auc": {"value": float(average_precision_score(y, scores))},
        "recall": {"value": float(recall_score(y, predicted, zero_division=0))},
        "precision": {"value": float(precision_score(y, predicted, zero_division=0))},
        "fraud_rate": {"value": float(y.mean())},
        "rows": {"value": int(len(y))},
    }}
    out = ROOT / "output" / "evaluation"
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
