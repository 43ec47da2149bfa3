"""The drift baseline a training run registers with its model version (``baseline.json``).

Step code (numpy/pandas only). Schema version 1::

    {"version": 1, "records": N,
     "features": [<summary per model input column, in column order>],
     "score": <numeric summary of the model's scores, named "score">}

A numeric summary holds ``count`` (non-missing values), ``edges`` (the deciles of the training
values: 11 quantile edges), ``fractions`` (the training shares per bin, summing to 1), ``sample``
(up to ``sample_size`` values drawn without replacement with ``seed``, for KS), ``mean``,
``std`` (population), ``min`` and ``max``. A categorical summary holds ``count`` and
``categories`` (category -> share).

Choices:

- Categorical columns are those named in ``categorical``; when it is None they are inferred:
  object, string, category and bool columns, and numeric columns whose values are all 0 or 1
  (one-hot encoded columns). A numeric column that is all 0 is one-hot too.
- Category keys are strings; numbers are keyed ``str(float(v))`` (so 1, 1.0 and "1" are one
  category), missing values "nan" (see ``drift_math.category_key``).
- Duplicate decile edges (a feature with many equal values) are merged (``numpy.unique``), so a
  feature has between 1 and 10 bins, each with a positive training share except where one value
  sits on an edge. A constant feature has edges ``[v, v]``: one bin, so its PSI is always 0 and
  only KS (the sample is constant) detects a change.
- Missing (NaN) and infinite values are left out of numeric summaries.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn, TypeGuard

import numpy as np
import pandas as pd

if __package__:
    from .drift_math import bin_fractions, category_key, numeric_values
else:  # run as a Processing step: the step's folder is on sys.path
    from drift_math import bin_fractions, category_key, numeric_values  # type: ignore[no-redef]

VERSION = 1
BINS = 10
KINDS = ("numeric", "categorical")


def is_one_hot(series: pd.Series) -> bool:
    """True when every non-missing value of a numeric column is 0 or 1 (and there is one)."""
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return False
    values = series.dropna()
    return bool(len(values)) and bool(values.isin([0, 1]).all())


def infer_categorical(features: pd.DataFrame) -> list[str]:
    """Columns treated as categorical when none are named: text, bool and one-hot columns."""
    found = []
    for name in features.columns:
        series = features[name]
        if (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)
                or isinstance(series.dtype, pd.CategoricalDtype)
                or pd.api.types.is_bool_dtype(series) or is_one_hot(series)):
            found.append(str(name))
    return found


def numeric_summary(name: str, values: Iterable[Any], sample_size: int = 2000, seed: int = 0
                    ) -> dict[str, Any]:
    """Deciles, shares per decile bin, a seeded sample and moments of a numeric column."""
    data = numeric_values(list(values))
    if data.size == 0:
        raise ValueError(f"feature {name!r} has no numeric values")
    edges = np.unique(np.quantile(data, np.linspace(0.0, 1.0, BINS + 1)))
    if edges.size == 1:  # a constant feature: one closed bin [v, v]
        edges = np.array([edges[0], edges[0]])
    rng = np.random.default_rng(seed)
    sample = data if data.size <= sample_size else rng.choice(data, size=sample_size, replace=False)
    return {
        "name": name, "kind": "numeric", "count": int(data.size),
        "edges": [float(e) for e in edges],
        "fractions": [float(f) for f in bin_fractions(data, edges)],
        "sample": [float(v) for v in sample],
        "mean": float(data.mean()), "std": float(data.std()),
        "min": float(data.min()), "max": float(data.max()),
    }


def categorical_summary(name: str, values: Iterable[Any]) -> dict[str, Any]:
    """Category shares of a column (keys as ``category_key`` makes them)."""
    keys = pd.Series([category_key(v) for v in values if not _missing(v)], dtype=object)
    if keys.empty:
        raise ValueError(f"feature {name!r} has no values")
    shares = keys.value_counts(normalize=True, sort=False)
    return {"name": name, "kind": "categorical", "count": int(keys.size),
            "categories": {str(k): float(v) for k, v in sorted(shares.items())}}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(float(value)))


def compute_baseline(features: pd.DataFrame, scores: np.ndarray, categorical: list[str] | None = None,
                     sample_size: int = 2000, seed: int = 0) -> dict[str, Any]:
    """The baseline of a model's training inputs (columns in the model's input order) and of the
    scores the model gives them."""
    if features.empty:
        raise ValueError("the baseline needs at least one training record")
    names = [str(c) for c in features.columns]
    chosen = infer_categorical(features) if categorical is None else list(categorical)
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        raise ValueError(f"categorical columns {unknown} are not among the features")
    summaries = []
    for position, name in enumerate(names):
        column = features.iloc[:, position].tolist()
        if name in chosen:
            summaries.append(categorical_summary(name, column))
        else:
            summaries.append(numeric_summary(name, column, sample_size, seed + position))
    score = numeric_summary("score", np.asarray(scores, dtype=float).ravel(), sample_size, seed)
    return {"version": VERSION, "records": int(len(features)), "features": summaries,
            "score": score}


def write_baseline(path: str | Path, baseline: dict[str, Any]) -> Path:
    """Write ``baseline`` as JSON (validated first) and return the path."""
    target = Path(path)
    validate(baseline, str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(baseline, allow_nan=False) + "\n", encoding="utf-8")
    return target


def read_baseline(path: str | Path) -> dict[str, Any]:
    """Read and validate a baseline; ValueError naming the file when it is malformed."""
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{source}: no baseline file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{source}: malformed baseline: not JSON ({exc})") from None
    validate(data, str(source))
    return data


def validate(data: Any, source: str) -> None:
    """Raise ValueError ``<source>: malformed baseline: <what>`` unless ``data`` is a v1 baseline."""

    def fail(what: str) -> NoReturn:
        raise ValueError(f"{source}: malformed baseline: {what}")

    if not isinstance(data, dict):
        fail("not a JSON object")
    if data.get("version") != VERSION:
        fail(f"version is {data.get('version')!r}, expected {VERSION}")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        fail("'features' must be a non-empty list")
    seen: set[str] = set()
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        if not isinstance(feature, dict) or not isinstance(feature.get("name"), str):
            fail(f"{where} needs a 'name'")
        if feature["name"] in seen:
            fail(f"{where}: duplicate feature {feature['name']!r}")
        seen.add(feature["name"])
        _validate_summary(feature, f"{where} ({feature['name']})", fail)
    score = data.get("score")
    if score is not None:
        if not isinstance(score, dict):
            fail("'score' must be an object")
        _validate_summary({**score, "kind": score.get("kind", "numeric")}, "score", fail)
        if score.get("kind", "numeric") != "numeric":
            fail("score must be numeric")


def _validate_summary(summary: dict[str, Any], where: str, fail: Callable[[str], NoReturn]
                      ) -> None:
    kind = summary.get("kind")
    if kind not in KINDS:
        fail(f"{where}: kind is {kind!r}, expected one of {', '.join(KINDS)}")
    if kind == "categorical":
        categories = summary.get("categories")
        if not isinstance(categories, dict) or not all(
                isinstance(v, int | float) for v in categories.values()):
            fail(f"{where}: 'categories' must map category -> share")
        return
    edges, fractions, sample = summary.get("edges"), summary.get("fractions"), summary.get("sample")
    if not _numbers(edges) or len(edges) < 2 or list(edges) != sorted(edges):
        fail(f"{where}: 'edges' must be at least two ascending numbers")
    if not _numbers(fractions) or len(fractions) != len(edges) - 1:
        fail(f"{where}: 'fractions' must be {len(edges) - 1} numbers (one per bin)")
    if not _numbers(sample):
        fail(f"{where}: 'sample' must be a list of numbers")


def _numbers(value: Any) -> TypeGuard[list[float]]:
    return isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value)
