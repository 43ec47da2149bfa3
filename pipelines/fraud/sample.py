"""Sample data for fraud: card transactions shaped like the `transactions` feature group.

`mlops pipelines seed fraud --stack dev` writes them into the group's offline store, so the
pipeline runs out of the box. Fraud follows a logistic model of merchant risk, amount, card
presence, distance and night-time hours (about 7% of transactions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def transactions(rows: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.5, 1.0, rows)
    risk = rng.uniform(0, 1, rows)
    hour = rng.integers(0, 24, rows)
    present = rng.integers(0, 2, rows)
    distance = rng.exponential(10, rows)
    logit = -11 + 3 * (3 * risk + 0.004 * amount - 1.2 * present + 0.03 * distance + (hour < 6))
    fraud = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({
        "transaction_id": [f"t{i:06d}" for i in range(rows)],
        "event_time": "2026-01-01T00:00:00Z", "amount": amount, "merchant_risk": risk,
        "hour_of_day": hour, "card_present": present, "distance_from_home_km": distance,
        "is_fraud": fraud, "write_time": "2026-01-01", "api_invocation_time": "2026-01-01",
        "is_deleted": False,
    })


# Feature group -> generator(rows, seed) of its offline-store records.
SAMPLES = {"transactions": transactions}
