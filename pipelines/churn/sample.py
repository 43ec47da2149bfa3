"""Sample data for churn: customer records shaped like the `customers` feature group.

`mlops pipelines seed churn --stack dev` writes them into the group's offline store, so the
pipeline runs out of the box (`mlops pipelines run churn --local`). The label follows a
logistic model of tenure, charges, support calls and contract type, so a trained model has
something real to learn; some customers have an older, superseded record, a few a deletion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def customers(rows: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows)
    charges = rng.uniform(20, 120, rows)
    calls = rng.poisson(2, rows)
    contract = rng.choice(["monthly", "yearly", "two-year"], rows)
    logit = 2.5 * (-1.0 - 0.04 * tenure + 0.02 * charges + 0.5 * calls
                   - 1.0 * (contract != "monthly"))
    churned = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({
        "customer_id": [f"c{i:05d}" for i in range(rows)],
        "event_time": 1.7e9 + rng.uniform(0, 1e6, rows),
        "tenure_months": tenure, "monthly_charges": charges,
        "total_charges": charges * tenure, "support_calls": calls,
        "contract_type": contract, "churned": churned,
        "write_time": "2026-01-01", "api_invocation_time": "2026-01-01", "is_deleted": False,
    })
    old = df.sample(max(rows // 10, 1), random_state=seed).assign(event_time=1.6e9, churned=0)
    gone = df.sample(max(rows // 80, 1), random_state=seed + 1).assign(event_time=1.8e9,
                                                                        is_deleted=True)
    return pd.concat([df, old, gone], ignore_index=True)


# Feature group -> generator(rows, seed) of its offline-store records.
SAMPLES = {"customers": customers}
