"""Churn preprocessing: offline-store records -> train/validation/test CSVs for XGBoost.

Reads every Parquet (or CSV) file below ``<root>/input/features`` (the feature group's offline
store prefix), keeps the latest non-deleted record per customer, one-hot encodes the contract
type and writes label-first, header-less CSVs to ``<root>/output/{train,validation,test}``, and
the feature column names in model-input order to ``<root>/output/test/columns.json`` (not next
to train/validation: the training job reads every file there as data).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(os.environ.get("PROCESSING_ROOT", "/opt/ml/processing"))
STORE_COLUMNS = {"write_time", "api_invocation_time", "is_deleted"}


def read_records(folder: Path) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in sorted(folder.rglob("*.parquet"))]
    frames += [pd.read_csv(p) for p in sorted(folder.rglob("*.csv"))]
    if not frames:
        raise SystemExit(f"no Parquet or CSV files below {folder}")
    return pd.concat(frames, ignore_index=True)


def latest(df: pd.DataFrame, record_id: str, event_time: str) -> pd.DataFrame:
    df = df.sort_values([record_id, event_time]).groupby(record_id, as_index=False).tail(1)
    if "is_deleted" in df.columns:  # a customer whose latest record is a deletion is gone
        df = df[~df["is_deleted"].astype(bool)]
    return df.drop(columns=[c for c in STORE_COLUMNS if c in df.columns])


def features(df: pd.DataFrame, label: str, drop: list[str]) -> pd.DataFrame:
    out = df.drop(columns=[c for c in drop if c in df.columns])
    text = list(out.select_dtypes(include=["object", "string"]).columns)
    out = pd.get_dummies(out, columns=text, dtype=float)
    out = out.fillna(0.0)
    return out[[label] + sorted(c for c in out.columns if c != label)]


def split(df: pd.DataFrame, train_ratio: float, seed: int = 42) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(df))
    n_train = int(len(df) * train_ratio)
    n_val = (len(df) - n_train) // 2
    return {
        "train": df.iloc[order[:n_train]],
        "validation": df.iloc[order[n_train:n_train + n_val]],
        "test": df.iloc[order[n_train + n_val:]],
    }


def main() -> None:
    label = os.environ.get("LABEL", "churned")
    record_id = os.environ.get("RECORD_ID", "customer_id")
    event_time = os.environ.get("EVENT_TIME", "event_time")
    train_ratio = float(os.environ.get("TRAIN_RATIO", "0.7"))
    records = latest(read_records(ROOT / "input" / "features"), record_id, event_time)
    table = features(records, label, [record_id, event_time])
    for name, part in split(table, train_ratio).items():
        target = ROOT / "output" / name
        target.mkdir(parents=True, exist_ok=True)
        part.to_csv(target / f"{name}.csv", header=False, index=False)
        print(f"{name}: {len(part)} rows, {part.shape[1] - 1} features")
    columns = [str(c) for c in table.columns if c != label]
    (ROOT / "output" / "test" / "columns.json").write_text(json.dumps(columns) + "\n")


if __name__ == "__main__":
    main()
