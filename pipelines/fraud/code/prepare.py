"""Fraud preparation: offline-store transactions -> train/validation/holdout CSVs, label first,
no header (the batch transform's input filter drops the label from the holdout before scoring).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(os.environ.get("PROCESSING_ROOT", "/opt/ml/processing"))
LABEL = "is_fraud"
DROP = ["transaction_id", "event_time", "write_time", "api_invocation_time", "is_deleted"]


def read_records(folder: Path) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in sorted(folder.rglob("*.parquet"))]
    frames += [pd.read_csv(p) for p in sorted(folder.rglob("*.csv"))]
    if not frames:
        raise SystemExit(f"no Parquet or CSV files below {folder}")
    df = pd.concat(frames, ignore_index=True)
    if "is_deleted" in df.columns:
        df = df[~df["is_deleted"].astype(bool)]
    return df.drop_duplicates("transaction_id", keep="last")


def engineer(df: pd.DataFrame) -> pd.DataFrame:
    out = df.drop(columns=[c for c in DROP if c in df.columns]).fillna(0.0)
    out["log_amount"] = np.log1p(out["amount"].clip(lower=0))
    out["night"] = out["hour_of_day"].between(0, 5).astype(int)
    return out[[LABEL] + sorted(c for c in out.columns if c != LABEL)]


def write(name: str, frame: pd.DataFrame) -> None:
    folder = ROOT / "output" / name
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / f"{name}.csv", header=False, index=False)
    print(f"{name}: {len(frame)} rows")


def main() -> None:
    table = engineer(read_records(ROOT / "input" / "features"))
    order = np.random.default_rng(7).permutation(len(table))
    n = len(table)
    train, val, hold = np.split(order, [int(n * 0.7), int(n * 0.85)])
    write("train", table.iloc[train])
    write("validation", table.iloc[val])
    write("holdout", table.iloc[hold])


if __name__ == "__main__":
    main()
