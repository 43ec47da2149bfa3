"""Drift statistics: pure functions of a baseline and a window of traffic.

Step code: runs in the scikit-learn Processing image, so it imports only numpy, scipy and
pandas (and ``baseline``/``drift_check`` by plain module name).

- PSI (population stability index) is ``sum((a - e) * ln(a / e))`` over bins, where ``e`` and
  ``a`` are the baseline's and the window's shares. A share of 0 would make the logarithm
  infinite, so shares below ``epsilon`` (default 1e-4, one record in ten thousand) are floored at
  ``epsilon``; the floored shares are not renormalised (the effect is below 1e-3 of PSI).
- Numeric bins are the baseline's quantile edges with the outermost bins open: a window value
  below the first edge counts in bin 0, above the last edge in the last bin. A value equal to an
  inner edge belongs to the bin above it (the baseline's own shares are computed the same way).
- KS is scipy's two-sample Kolmogorov-Smirnov test of the window against the baseline sample.
- Categorical features compare category shares: the share of window values whose category the
  baseline never saw ("unseen"), and PSI over the known categories plus one "unseen" bucket.
- Below ``min_records`` records the result is "not-enough-data": every drift value is 0 and
  nothing is marked drifted, so a quiet endpoint never raises a false alarm.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

EPSILON = 1e-4
UNSEEN = "<unseen>"
STATUS_NO_DRIFT = "no-drift"
STATUS_DRIFT = "drift"
STATUS_NOT_ENOUGH_DATA = "not-enough-data"


@dataclass(frozen=True)
class Thresholds:
    """A feature drifts above any of these (strictly greater than)."""

    psi: float = 0.2
    ks: float = 0.2
    unseen_share: float = 0.05
    score_psi: float = 0.2


@dataclass
class FeatureDrift:
    """The drift numbers of one feature (or of the score) over the window."""

    name: str
    kind: str  # numeric | categorical
    count: int  # non-missing window values
    psi: float
    ks: float | None = None  # numeric only
    ks_p_value: float | None = None
    unseen_share: float | None = None  # categorical only
    drifted: bool = False
    # What the plot shows: bin (or category) labels, baseline and window shares per label.
    labels: list[str] = field(default_factory=list)
    expected: list[float] = field(default_factory=list)
    actual: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DriftResult:
    """The outcome of one drift check."""

    status: str
    records: int
    min_records: int
    thresholds: Thresholds
    features: list[FeatureDrift]
    score: FeatureDrift | None
    features_available: bool  # False: the capture held no endpoint input (Output-only mode)
    score_available: bool  # False: no endpoint output (Input-only mode) or no score baseline
    ignored: list[str]

    @property
    def drifted(self) -> list[str]:
        """Names of what drifted: features, then ``score`` when the score drifted."""
        names = [f.name for f in self.features if f.drifted]
        return names + (["score"] if self.score is not None and self.score.drifted else [])

    @property
    def drifted_features(self) -> int:
        """How many drifted, the score counted as one (what the retraining alarm watches)."""
        return len(self.drifted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "records": self.records,
            "min_records": self.min_records,
            "thresholds": asdict(self.thresholds),
            "drifted_features": self.drifted_features,
            "drifted": self.drifted,
            "features_available": self.features_available,
            "score_available": self.score_available,
            "ignored": list(self.ignored),
            "features": [f.to_dict() for f in self.features],
            "score": self.score.to_dict() if self.score is not None else None,
        }


def category_key(value: Any) -> str:
    """The category of a value as the baseline stores it: numbers (and numeric text, as a CSV
    request carries them) as ``str(float(v))`` so 1, 1.0 and "1" are one category; missing
    values as "nan"; other text stripped."""
    if value is None:
        return "nan"
    if isinstance(value, bool | np.bool_):
        return str(float(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return str(float(value))
    text = str(value).strip()
    try:
        return str(float(text))
    except ValueError:
        return text


def psi(expected_fractions: Iterable[float], actual_fractions: Iterable[float],
        epsilon: float = EPSILON) -> float:
    """Population stability index of two share vectors over the same bins."""
    expected = np.maximum(np.asarray(list(expected_fractions), dtype=float), epsilon)
    actual = np.maximum(np.asarray(list(actual_fractions), dtype=float), epsilon)
    if expected.shape != actual.shape:
        raise ValueError(f"psi needs shares over the same bins ({expected.size} != {actual.size})")
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def numeric_values(values: Any) -> np.ndarray:
    """The finite float values of a sequence (text parsed, missing and unparsable dropped)."""
    array = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    return array[np.isfinite(array)]


def bin_fractions(values: Any, edges: Iterable[float]) -> np.ndarray:
    """Shares of ``values`` per bin of ``edges`` (len(edges) - 1 bins, outermost bins open)."""
    edges = np.asarray(list(edges), dtype=float)
    if edges.size < 2:
        raise ValueError("bin edges need at least two values")
    bins = edges.size - 1
    data = numeric_values(values)
    if data.size == 0:
        return np.zeros(bins)
    index = np.searchsorted(edges[1:-1], data, side="right")
    return np.bincount(index, minlength=bins).astype(float) / data.size


def ks(baseline_sample: Any, values: Any) -> tuple[float, float]:
    """(statistic, p-value) of scipy's two-sample KS test; (0.0, 1.0) when a side is empty."""
    left, right = numeric_values(baseline_sample), numeric_values(values)
    if left.size == 0 or right.size == 0:
        return 0.0, 1.0
    result = stats.ks_2samp(left, right)
    return float(result.statistic), float(result.pvalue)


def _keys(values: Any) -> list[str]:
    return [category_key(v) for v in values]


def unseen_share(categories: Mapping[str, float], values: Any) -> float:
    """Share of ``values`` whose category is not in the baseline's ``categories``."""
    keys = _keys(values)
    if not keys:
        return 0.0
    return sum(k not in categories for k in keys) / len(keys)


def category_shares(categories: Mapping[str, float], values: Any) -> tuple[list[str], np.ndarray,
                                                                          np.ndarray]:
    """(labels, baseline shares, window shares) over the known categories plus ``UNSEEN``."""
    labels = [*categories, UNSEEN]
    expected = np.array([float(categories[c]) for c in categories] + [0.0])
    keys = _keys(values)
    actual = np.zeros(len(labels))
    if keys:
        position = {c: i for i, c in enumerate(categories)}
        for key in keys:
            actual[position.get(key, len(labels) - 1)] += 1
        actual /= len(keys)
    return labels, expected, actual


def category_psi(categories: Mapping[str, float], values: Any, epsilon: float = EPSILON) -> float:
    """PSI over the known categories plus an "unseen" bucket (0 for an empty window)."""
    _, expected, actual = category_shares(categories, values)
    return psi(expected, actual, epsilon) if actual.sum() > 0 else 0.0


def _bin_labels(edges: list[float]) -> list[str]:
    labels = []
    for i in range(len(edges) - 1):
        low = "-inf" if i == 0 else f"{edges[i]:.4g}"
        high = "+inf" if i == len(edges) - 2 else f"{edges[i + 1]:.4g}"
        labels.append(f"[{low}, {high})")
    return labels


def numeric_drift(summary: Mapping[str, Any], values: Any, psi_threshold: float,
                  ks_threshold: float | None, enough: bool = True) -> FeatureDrift:
    """Drift of a numeric feature (or the score) against its baseline ``summary``."""
    data = numeric_values(values)
    expected = [float(x) for x in summary["fractions"]]
    actual = bin_fractions(data, summary["edges"])
    drift = FeatureDrift(name=str(summary["name"]), kind="numeric", count=int(data.size), psi=0.0,
                         ks=0.0, ks_p_value=1.0, labels=_bin_labels(list(summary["edges"])),
                         expected=expected, actual=[float(x) for x in actual])
    if enough and data.size:
        drift.psi = psi(expected, actual)
        drift.ks, drift.ks_p_value = ks(summary["sample"], data)
        drift.drifted = drift.psi > psi_threshold or (
            ks_threshold is not None and drift.ks > ks_threshold)
    return drift


def categorical_drift(summary: Mapping[str, Any], values: Any, thresholds: Thresholds,
                      enough: bool = True) -> FeatureDrift:
    """Drift of a categorical feature against its baseline ``summary``."""
    categories = {str(k): float(v) for k, v in summary["categories"].items()}
    present = [v for v in values if not _missing(v)]
    labels, expected, actual = category_shares(categories, present)
    drift = FeatureDrift(name=str(summary["name"]), kind="categorical", count=len(present),
                         psi=0.0, unseen_share=0.0, labels=labels,
                         expected=[float(x) for x in expected], actual=[float(x) for x in actual])
    if enough and present:
        drift.unseen_share = unseen_share(categories, present)
        drift.psi = category_psi(categories, present)
        drift.drifted = drift.unseen_share > thresholds.unseen_share or drift.psi > thresholds.psi
    return drift


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(float(value))
    return isinstance(value, str) and value.strip() == ""


def compare(baseline: Mapping[str, Any], frame: pd.DataFrame | None, scores: np.ndarray | None,
            thresholds: Thresholds, min_records: int, ignore: set[str] | frozenset[str] = frozenset()
            ) -> DriftResult:
    """Compare a window of traffic with the baseline.

    ``frame`` holds the request rows with the baseline's feature names as columns (None when the
    capture held no input); ``scores`` the model's outputs (None when it held no output).
    Records are the frame's rows, or the scores when there is no frame. Features in ``ignore``
    are skipped (listed in ``ignored``).
    """
    records = len(frame) if frame is not None else (len(scores) if scores is not None else 0)
    enough = records > 0 and records >= min_records
    features: list[FeatureDrift] = []
    ignored: list[str] = []
    if frame is not None:
        missing = [f["name"] for f in baseline["features"] if f["name"] not in frame.columns]
        if missing:
            raise ValueError(f"the window has no column for baseline features {missing}")
        for summary in baseline["features"]:
            name = summary["name"]
            if name in ignore:
                ignored.append(name)
                continue
            column = frame[name].tolist()
            if summary["kind"] == "categorical":
                features.append(categorical_drift(summary, column, thresholds, enough))
            else:
                features.append(numeric_drift(summary, column, thresholds.psi, thresholds.ks,
                                              enough))
    score_summary = baseline.get("score")
    score = None
    if "score" in ignore:
        ignored.append("score")
    elif scores is not None and score_summary is not None:
        # The score drifts on PSI only (its KS is reported, not judged).
        score = numeric_drift({**score_summary, "name": "score"}, scores, thresholds.score_psi,
                              None, enough)
    result = DriftResult(status=STATUS_NOT_ENOUGH_DATA, records=records, min_records=min_records,
                         thresholds=thresholds, features=features, score=score,
                         features_available=frame is not None, score_available=score is not None,
                         ignored=ignored)
    if enough:
        result.status = STATUS_DRIFT if result.drifted_features else STATUS_NO_DRIFT
    return result
