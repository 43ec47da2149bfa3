"""Small generated data sets shaped like the examples' offline feature stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def churn_records(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    charges = rng.uniform(20, 120, n)
    calls = rng.poisson(2, n)
    contract = rng.choice(["monthly", "yearly", "two-year"], n)
    logit = -1.0 - 0.04 * tenure + 0.02 * charges + 0.5 * calls - 1.0 * (contract != "monthly")
    churned = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({
        "customer_id": [f"c{i:05d}" for i in range(n)],
        "event_time": 1.7e9 + rng.uniform(0, 1e6, n),
        "tenure_months": tenure, "monthly_charges": charges,
        "total_charges": charges * tenure, "support_calls": calls,
        "contract_type": contract, "churned": churned,
        "write_time": "2026-01-01", "api_invocation_time": "2026-01-01", "is_deleted": False,
    })
    # An older, superseded record for some customers and a deleted one.
    old = df.sample(40, random_state=seed).assign(event_time=1.6e9, churned=0)
    gone = df.sample(5, random_state=seed + 1).assign(event_time=1.8e9, is_deleted=True)
    return pd.concat([df, old, gone], ignore_index=True)


def fraud_records(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.5, 1.0, n)
    risk = rng.uniform(0, 1, n)
    hour = rng.integers(0, 24, n)
    present = rng.integers(0, 2, n)
    distance = rng.exponential(10, n)
    logit = -5 + 3 * risk + 0.004 * amount - 1.2 * present + 0.03 * distance + (hour < 6)
    fraud = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({
        "transaction_id": [f"t{i:06d}" for i in range(n)],
        "event_time": "2026-01-01T00:00:00Z", "amount": amount, "merchant_risk": risk,
        "hour_of_day": hour, "card_present": present, "distance_from_home_km": distance,
        "is_fraud": fraud, "write_time": "2026-01-01", "api_invocation_time": "2026-01-01",
        "is_deleted": False,
    })


def write_offline_store(df: pd.DataFrame, folder: Path, parts: int = 3) -> None:
    """Parquet files nested the way an Iceberg offline store lays them out."""
    target = folder / "123456789012" / "sagemaker" / "eu-west-1" / "offline-store" / "fg" / "data"
    target.mkdir(parents=True, exist_ok=True)
    size = -(-len(df) // parts)
    for i in range(parts):
        df.iloc[i * size:(i + 1) * size].to_parquet(target / f"part-{i}.parquet", index=False)
