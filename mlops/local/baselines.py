"""What a SageMaker QualityCheck step writes: the baseline (``statistics.json``,
``constraints.json``) that the Model Monitor analyzer computes for a dataset, computed here with
pandas, numpy and scikit-learn.

The step's processing-job ``Environment`` says what to compute: ``analysis_type`` (MODEL_QUALITY,
or DATA_QUALITY, the analyzer's default), ``dataset_format`` (csv with or without a header:
columns ``_c0.._cN`` as Spark names them; json, lines or not; parquet) and, for model quality,
``problem_type`` and the ``*_attribute`` columns. Every file below the dataset folder is read as
``dataset_format`` says, whatever its name (so batch-transform ``*.out`` files are CSV); names
starting with ``.`` or ``_`` are skipped, as Spark skips them.

Model quality: the metrics of the Model Monitor documentation, from scikit-learn. A binary
prediction is 1 when the probability is greater than ``probability_threshold_attribute`` (0.5 by
default; Clarify's rule). Standard deviations as the documentation says Model Monitor computes
them: from 200 records on, the sample standard deviation of the metric over 5 random samples of
80% of the records (without replacement, numpy seed 0); below 200, ``"NaN"``. Suggested
constraints take the baseline value as threshold: ``LessThanThreshold`` where higher is better,
``GreaterThanThreshold`` for error rates and errors.

Data quality: Deequ's type inference per column, statistics and suggested constraints in the
analyzer's schema. The analyzer's KLL sketch is not reproduced: distribution buckets are a
10-bucket fixed-width numpy histogram between min and max with exact counts, and the sketch
holds the values themselves (up to 2048, what an uncompacted KLL sketch holds) or evenly spaced
quantiles. docs/sandbox.md ("Local runs: QualityCheck") lists every difference.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from mlops.errors import UsageError

DATA_QUALITY, MODEL_QUALITY = "DATA_QUALITY", "MODEL_QUALITY"
BINARY, MULTICLASS, REGRESSION = "BinaryClassification", "MulticlassClassification", "Regression"
LESS, GREATER = "LessThanThreshold", "GreaterThanThreshold"

STD_MIN_RECORDS, STD_SAMPLES, STD_FRACTION, SEED = 200, 5, 0.8, 0
BUCKETS, KLL_K, KLL_C = 10, 2048, 0.64
HISTOGRAM_MAX_VALUES = 1000  # Deequ's maxDetailBins
DOMAIN_MAX_DISTINCT, DOMAIN_MAX_SINGLETONS = 120, 0.1  # Deequ's categorical range rule
MONITORING_CONFIG: dict[str, Any] = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {"perform_comparison": "Enabled", "comparison_threshold": 0.1,
                                 "comparison_method": "Robust"},
}
_NUMBER = r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
_INTEGRAL = r"[-+]?\d+"
_FBETAS = (("f0_5", 0.5), ("f1", 1.0), ("f2", 2.0))


class CheckError(UsageError):
    """The check cannot run on this input; the message names the environment key or the file."""


class UnsupportedCheck(CheckError):
    """An analysis type, problem type or dataset format the local check does not compute."""


@dataclass(frozen=True)
class CheckResult:
    """Where the baseline was written, and what it says in brief."""

    analysis_type: str
    problem_type: str | None
    item_count: int
    statistics: Path
    constraints: Path
    metrics: Mapping[str, float] = field(default_factory=dict)  # model quality: metric -> value
    features: int = 0  # data quality: columns profiled

    @property
    def summary(self) -> str:
        if self.analysis_type == DATA_QUALITY:
            return f"{DATA_QUALITY}: {self.features} features over {self.item_count} records"
        shown = ", ".join(f"{k} {v:.4f}" for k, v in self.metrics.items() if k in _HEADLINE)
        return f"{MODEL_QUALITY} {self.problem_type}: {self.item_count} records, {shown}"

    def __str__(self) -> str:
        return self.summary


def run_check(environment: Mapping[str, str], dataset_dir: Path, output_dir: Path, *,
              now: datetime | None = None) -> CheckResult:
    """Compute the baseline of every data file below ``dataset_dir`` as ``environment`` asks and
    write ``statistics.json`` and ``constraints.json`` into ``output_dir``."""
    analysis = environment.get("analysis_type") or DATA_QUALITY
    if analysis not in (DATA_QUALITY, MODEL_QUALITY):
        raise UnsupportedCheck(f"QualityCheck environment analysis_type={analysis!r}: not supported "
                               f"locally ({DATA_QUALITY}, {MODEL_QUALITY})")
    frame = read_dataset(environment, Path(dataset_dir))
    if analysis == DATA_QUALITY:
        statistics, constraints = data_quality(frame)
        result_metrics: dict[str, float] = {}
        problem = None
    else:
        problem = environment.get("problem_type") or ""
        statistics, constraints, result_metrics = model_quality(environment, frame, now=now)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = output_dir / "statistics.json", output_dir / "constraints.json"
    for path, document in zip(paths, (statistics, constraints), strict=True):
        path.write_text(json.dumps(_json_safe(document), indent=2, allow_nan=False) + "\n")
    return CheckResult(analysis, problem, int(statistics["dataset"]["item_count"]), *paths,
                       metrics=result_metrics, features=len(statistics.get("features", [])))


# -- reading ----------------------------------------------------------------------------------


def read_dataset(environment: Mapping[str, str], folder: Path) -> pd.DataFrame:
    """Every data file below ``folder`` as one frame of text values (None where missing)."""
    kind, option = _dataset_format(environment.get("dataset_format"))
    if not folder.is_dir():
        raise CheckError(f"QualityCheck dataset_source: {folder} does not exist")
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.stat().st_size > 0
             and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)]
    if not files:
        raise CheckError(f"QualityCheck dataset_source: no data files below {folder}")
    frames = [_read_file(path, kind, option) for path in files]
    for path, frame in zip(files[1:], frames[1:], strict=True):
        if list(frame.columns) != list(frames[0].columns) and kind == "csv":
            raise CheckError(f"QualityCheck dataset_source: {path} has columns {list(frame.columns)}, "
                             f"{files[0]} has {list(frames[0].columns)}")
    frame = pd.concat(frames, ignore_index=True).astype(object)
    frame = frame.where(frame.notna(), None)
    if frame.empty:
        raise CheckError(f"QualityCheck dataset_source: no records below {folder}")
    return frame


def _dataset_format(raw: str | None) -> tuple[str, bool]:
    """("csv", header) | ("json", lines) | ("parquet", False) from the environment's JSON."""
    key = "QualityCheck environment dataset_format"
    if not raw:
        raise CheckError(f"{key} is not set")
    try:
        spec = json.loads(raw)
    except json.JSONDecodeError:
        raise UnsupportedCheck(f"{key}={raw!r}: not JSON") from None
    kinds = sorted(spec) if isinstance(spec, dict) else []
    if len(kinds) != 1 or kinds[0] not in ("csv", "json", "parquet"):
        raise UnsupportedCheck(f"{key}={raw!r}: not supported locally (csv, json, parquet)")
    options = spec[kinds[0]] or {}
    if kinds[0] == "parquet":
        return "parquet", False
    name = "header" if kinds[0] == "csv" else "lines"
    flag = _flag(options.get(name, kinds[0] == "json"))
    position = options.get("output_columns_position", "START")
    if flag is None or (kinds[0] == "csv" and position not in ("START", "END")):
        raise UnsupportedCheck(f"{key}={raw!r}: {name} must be true or false and "
                               "output_columns_position START or END")
    return kinds[0], flag


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(str(value).lower())


def _read_file(path: Path, kind: str, option: bool) -> pd.DataFrame:
    try:
        if kind == "csv":
            frame = pd.read_csv(path, header=0 if option else None, dtype=str, keep_default_na=False,
                                na_values=[""])
            if not option:
                frame.columns = [f"_c{i}" for i in range(len(frame.columns))]
            return frame
        if kind == "parquet":
            return pd.read_parquet(path).astype(object).map(_text)
        text = path.read_text()
        records = ([json.loads(line) for line in text.splitlines() if line.strip()] if option
                   else json.loads(text))
        records = records if isinstance(records, list) else [records]
        if not all(isinstance(r, dict) for r in records):
            raise ValueError("a record is not a JSON object")
        return pd.DataFrame([{k: _text(v) for k, v in r.items()} for r in records], dtype=object)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise CheckError(f"QualityCheck dataset_source: cannot read {path} as {kind}: "
                         f"{str(exc).splitlines()[0]}") from None


def _text(value: Any) -> str | None:
    """A typed value (JSON, Parquet) as the text Deequ infers its type from."""
    value = value.tolist() if hasattr(value, "tolist") else value
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return value if isinstance(value, str) else json.dumps(value, default=str)


# -- data quality -----------------------------------------------------------------------------


def data_quality(frame: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
    """Statistics and suggested constraints of every column, in the analyzer's schema."""
    statistics, constraints = [], []
    for name in frame.columns:
        present = frame[name].dropna().astype(str).str.strip()
        common = {"num_present": len(present), "num_missing": len(frame) - len(present)}
        kind = infer_type(present)
        feature: dict[str, Any] = {"name": str(name), "inferred_type": kind}
        constraint: dict[str, Any] = {**feature, "completeness": len(present) / len(frame)}
        if kind in ("Integral", "Fractional"):
            values = pd.to_numeric(present).to_numpy(dtype=float)
            feature["numerical_statistics"] = {"common": common, **_numbers(values)}
            constraint["num_constraints"] = {"is_non_negative": bool(values.min() >= 0)}
        else:
            feature["string_statistics"], domain = _strings(present, common)
            if domain:
                constraint["string_constraints"] = {"domains": domain}
        statistics.append(feature)
        constraints.append(constraint)
    return ({"version": 0.0, "dataset": {"item_count": len(frame)}, "features": statistics},
            {"version": 0.0, "features": constraints, "monitoring_config": MONITORING_CONFIG})


def infer_type(values: pd.Series) -> str:
    """Deequ's rule: Unknown when nothing is present, String when any value is not a number,
    Fractional when any number is not integral, else Integral."""
    if values.empty:
        return "Unknown"
    if not values.str.fullmatch(_NUMBER).all():
        return "String"
    return "Integral" if values.str.fullmatch(_INTEGRAL).all() else "Fractional"


def _numbers(values: np.ndarray) -> dict[str, Any]:
    low, high = float(values.min()), float(values.max())
    if high > low:
        counts, edges = np.histogram(values, bins=BUCKETS, range=(low, high))
    else:
        counts, edges = np.array([len(values)]), np.array([low, high])
    buckets = [{"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]),
                "count": float(counts[i])} for i in range(len(counts))]
    return {"mean": float(values.mean()), "sum": float(values.sum()), "std_dev": float(values.std()),
            "min": low, "max": high,
            "distribution": {"kll": {"buckets": buckets, "sketch": _sketch(values)}}}


def _sketch(values: np.ndarray) -> dict[str, Any]:
    """The values (an uncompacted KLL sketch holds them all), or, past k values, evenly spaced
    quantiles at the level whose weight 2**h makes them count for all values."""
    if len(values) <= KLL_K:
        levels = [values.tolist()]
    else:
        height = math.ceil(math.log2(len(values) / KLL_K))
        size = round(len(values) / 2**height)
        levels = [[] for _ in range(height)] + [np.quantile(values, (np.arange(size) + 0.5) / size).tolist()]
    return {"parameters": {"c": KLL_C, "k": float(KLL_K)}, "data": levels}


def _strings(present: pd.Series, common: dict[str, int]) -> tuple[dict[str, Any], list[str]]:
    counts = sorted(present.value_counts().items(), key=lambda item: (-item[1], item[0]))
    buckets = [{"value": value, "count": float(count)} for value, count in counts[:HISTOGRAM_MAX_VALUES]]
    singletons = sum(1 for _, count in counts if count == 1)
    small = 0 < len(counts) <= DOMAIN_MAX_DISTINCT and singletons / len(counts) <= DOMAIN_MAX_SINGLETONS
    statistics = {"common": common, "distinct_count": float(len(counts)),
                  "distribution": {"categorical": {"buckets": buckets}}}
    return statistics, sorted(value for value, _ in counts) if small else []


# -- model quality ----------------------------------------------------------------------------


_CONSTRAINTS = {
    BINARY: {**{k: LESS for k in ("recall", "precision", "accuracy", "true_positive_rate",
                                  "true_negative_rate", "auc", "f0_5", "f1", "f2")},
             "false_positive_rate": GREATER, "false_negative_rate": GREATER},
    MULTICLASS: {k: LESS for k in ("accuracy", "weighted_recall", "weighted_precision", "weighted_f0_5",
                                   "weighted_f1", "weighted_f2")},
    REGRESSION: {"mae": GREATER, "mse": GREATER, "rmse": GREATER, "r2": LESS},
}
_SECTIONS = {BINARY: "binary_classification", MULTICLASS: "multiclass_classification",
             REGRESSION: "regression"}
_HEADLINE = ("auc", "f1", "recall", "precision", "weighted_f1", "rmse", "r2")


def model_quality(environment: Mapping[str, str], frame: pd.DataFrame, *, now: datetime | None = None
                  ) -> tuple[dict[str, Any], dict[str, Any], dict[str, float]]:
    """Statistics, suggested constraints and the scalar metrics of a model-quality baseline."""
    problem = environment.get("problem_type") or ""
    if problem not in _SECTIONS:
        raise UnsupportedCheck(f"QualityCheck environment problem_type={problem!r}: not supported "
                               f"locally ({', '.join(_SECTIONS)})")
    columns = {key: _attribute(environment, key, frame)
               for key in ("ground_truth_attribute", "probability_attribute", "inference_attribute")}
    if columns["ground_truth_attribute"] is None:
        raise CheckError("QualityCheck environment ground_truth_attribute is not set")
    if problem != BINARY and columns["inference_attribute"] is None:
        raise CheckError(f"QualityCheck environment inference_attribute is not set ({problem} needs it)")
    used = frame[list(dict.fromkeys(c for c in columns.values() if c is not None))].dropna()
    if used.empty:
        raise CheckError("QualityCheck: no record has every attribute present")
    matrix: dict[str, dict[str, int]] | None = None
    curves: dict[str, Any] = {}
    if problem == BINARY:
        scalars, matrix, curves = _binary(environment, used, columns)
    elif problem == MULTICLASS:
        scalars, matrix = _multiclass(used, columns)
    else:
        truth = _column(environment, used, columns, "ground_truth_attribute")
        predicted = _column(environment, used, columns, "inference_attribute")
        scalars = lambda i: _regression(truth[i], predicted[i])  # noqa: E731
    values = scalars(np.arange(len(used)))
    spread = _spread(scalars, len(used))
    section: dict[str, Any] = {} if matrix is None else {"confusion_matrix": matrix}
    section.update({name: {"value": value, "standard_deviation": spread.get(name, math.nan)}
                    for name, value in values.items()})
    section.update(curves)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    statistics = {"version": 0.0,
                  "dataset": {"item_count": len(used),
                              "evaluation_time": moment.isoformat(timespec="milliseconds")
                              .replace("+00:00", "Z")},
                  f"{_SECTIONS[problem]}_metrics": section}
    constraints = {"version": 0.0, f"{_SECTIONS[problem]}_constraints": {
        name: {"threshold": values[name], "comparison_operator": operator}
        for name, operator in _CONSTRAINTS[problem].items() if not math.isnan(values[name])}}
    return statistics, constraints, values


Scalars = Callable[[np.ndarray], dict[str, float]]


def _attribute(environment: Mapping[str, str], key: str, frame: pd.DataFrame) -> str | None:
    """The column an ``*_attribute`` names (``_c0``, a header name, or ``$.name`` in JSON)."""
    value = environment.get(key)
    if not value:
        return None
    for name in (value, value[2:] if value.startswith("$.") else value):
        if name in frame.columns:
            return str(name)
    raise CheckError(f"QualityCheck environment {key}={value!r}: no such column "
                     f"(columns: {', '.join(map(str, frame.columns))})")


def _column(environment: Mapping[str, str], frame: pd.DataFrame, columns: Mapping[str, str | None],
            key: str) -> np.ndarray:
    name = columns[key]
    numbers = pd.to_numeric(frame[name], errors="coerce")
    if numbers.isna().any():
        bad = frame[name][numbers.isna()].iloc[0]
        raise CheckError(f"QualityCheck environment {key}={environment.get(key)!r}: {bad!r} is not a number")
    return numbers.to_numpy(dtype=float)


def _binary(environment: Mapping[str, str], frame: pd.DataFrame, columns: Mapping[str, str | None]
            ) -> tuple[Scalars, dict[str, dict[str, int]], dict[str, Any]]:
    y = _binary_column(environment, frame, columns, "ground_truth_attribute")
    probability = (_column(environment, frame, columns, "probability_attribute")
                   if columns["probability_attribute"] is not None else None)
    if columns["inference_attribute"] is not None:
        predicted = _binary_column(environment, frame, columns, "inference_attribute")
    elif probability is not None:
        raw = environment.get("probability_threshold_attribute") or "0.5"
        try:
            threshold = float(raw)
        except ValueError:
            raise CheckError(f"QualityCheck environment probability_threshold_attribute={raw!r}: "
                             "not a number") from None
        predicted = np.asarray(probability > threshold, dtype=int)
    else:
        raise CheckError("QualityCheck environment probability_attribute or inference_attribute is not "
                         f"set ({BINARY} needs one)")
    score = probability if probability is not None else predicted.astype(float)
    cells = skm.confusion_matrix(y, predicted, labels=[0, 1])
    matrix = {str(actual): {str(p): int(cells[actual][p]) for p in (0, 1)} for actual in (0, 1)}
    if len(set(y)) == 2:
        fpr, tpr, _ = skm.roc_curve(y, score, drop_intermediate=False)
        precision, recall, _ = skm.precision_recall_curve(y, score, drop_intermediate=False)
    else:
        fpr = tpr = precision = recall = np.array([])
    curves = {"receiver_operating_characteristic_curve": {"false_positive_rates": fpr.tolist(),
                                                          "true_positive_rates": tpr.tolist()},
              "precision_recall_curve": {"precisions": precision[::-1].tolist(),
                                         "recalls": recall[::-1].tolist()}}
    return (lambda i: _binary_scalars(y[i], predicted[i], score[i])), matrix, curves


def _binary_column(environment: Mapping[str, str], frame: pd.DataFrame, columns: Mapping[str, str | None],
                   key: str) -> np.ndarray:
    values = _column(environment, frame, columns, key)
    outside = values[~np.isin(values, (0.0, 1.0))]
    if len(outside):
        raise CheckError(f"QualityCheck environment {key}={environment.get(key)!r}: {BINARY} labels are "
                         f"0 and 1, got {float(outside[0])!r}")
    return values.astype(int)


def _binary_scalars(y: np.ndarray, predicted: np.ndarray, score: np.ndarray) -> dict[str, float]:
    constant = np.ones_like(y)  # Model Monitor's best constant classifier predicts the positive class
    tn, fp, fn, tp = skm.confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    values = {
        "recall": skm.recall_score(y, predicted, zero_division=0.0),
        "precision": skm.precision_score(y, predicted, zero_division=0.0),
        "accuracy": skm.accuracy_score(y, predicted),
        "recall_best_constant_classifier": skm.recall_score(y, constant, zero_division=0.0),
        "precision_best_constant_classifier": skm.precision_score(y, constant, zero_division=0.0),
        "accuracy_best_constant_classifier": skm.accuracy_score(y, constant),
        "true_positive_rate": _ratio(tp, tp + fn),
        "true_negative_rate": _ratio(tn, tn + fp),
        "false_positive_rate": _ratio(fp, fp + tn),
        "false_negative_rate": _ratio(fn, fn + tp),
        "auc": skm.roc_auc_score(y, score) if len(set(y)) == 2 else math.nan,
    }
    for suffix, target in (("", predicted), ("_best_constant_classifier", constant)):
        for name, beta in _FBETAS:
            values[name + suffix] = skm.fbeta_score(y, target, beta=beta, zero_division=0.0)
    return {k: float(v) for k, v in values.items()}


def _multiclass(frame: pd.DataFrame, columns: Mapping[str, str | None]
                ) -> tuple[Scalars, dict[str, dict[str, int]]]:
    y = frame[columns["ground_truth_attribute"]].map(_label).to_numpy(dtype=object)
    predicted = frame[columns["inference_attribute"]].map(_label).to_numpy(dtype=object)
    labels = sorted(set(y) | set(predicted), key=_label_order)
    matrix = skm.confusion_matrix(y, predicted, labels=labels)
    counts = pd.Series(y).value_counts()
    most = min((label for label in labels if counts.get(label, 0) == counts.max()), key=_label_order)

    def scalars(i: np.ndarray) -> dict[str, float]:
        values: dict[str, float] = {}
        for suffix, target in (("", predicted[i]), ("_best_constant_classifier", np.full(len(i), most))):
            values["accuracy" + suffix] = float(skm.accuracy_score(y[i], target))
            values["weighted_recall" + suffix] = float(skm.recall_score(
                y[i], target, labels=labels, average="weighted", zero_division=0.0))
            values["weighted_precision" + suffix] = float(skm.precision_score(
                y[i], target, labels=labels, average="weighted", zero_division=0.0))
            for name, beta in _FBETAS:
                values[f"weighted_{name}{suffix}"] = float(skm.fbeta_score(
                    y[i], target, beta=beta, labels=labels, average="weighted", zero_division=0.0))
        order = [*_CONSTRAINTS[MULTICLASS]]
        return {k: values[k] for k in order + [f"{k}_best_constant_classifier" for k in order]}

    return scalars, {a: {p: int(matrix[r][c]) for c, p in enumerate(labels)} for r, a in enumerate(labels)}


def _label(value: Any) -> str:
    """A class label as the confusion matrix names it: ``1``, not ``1.0``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number.is_integer() else str(number)


def _label_order(label: str) -> tuple[int, float, str]:
    try:
        return 0, float(label), label
    except ValueError:
        return 1, 0.0, label


def _regression(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {"mae": float(skm.mean_absolute_error(truth, predicted)),
            "mse": float(skm.mean_squared_error(truth, predicted)),
            "rmse": float(skm.root_mean_squared_error(truth, predicted)),
            "r2": float(skm.r2_score(truth, predicted)) if len(truth) > 1 else math.nan}


def _spread(scalars: Scalars, size: int) -> dict[str, float]:
    """Each metric's standard deviation over 5 samples of 80% of the records (from 200 records)."""
    if size < STD_MIN_RECORDS:
        return {}
    rng = np.random.default_rng(SEED)
    samples = [scalars(np.sort(rng.choice(size, size=int(size * STD_FRACTION), replace=False)))
               for _ in range(STD_SAMPLES)]
    return {name: float(np.std([s[name] for s in samples], ddof=1)) for name in samples[0]}


def _ratio(part: int, whole: int) -> float:
    return float(part / whole) if whole else 0.0


def _json_safe(value: Any) -> Any:
    """NaN as the analyzer writes it (the string "NaN"); numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value
