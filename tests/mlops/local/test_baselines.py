"""The QualityCheck baseline: model quality and data quality in the Model Monitor format, checked
against the documented example, scikit-learn and pandas on the same data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from mlops.errors import EXIT_USAGE, classify
from mlops.local.baselines import CheckError, UnsupportedCheck, run_check

NO_HEADER = json.dumps({"csv": {"header": False, "output_columns_position": "START"}})
HEADER = json.dumps({"csv": {"header": True, "output_columns_position": "START"}})
FRAUD = {  # the fraud example's QualityCheck environment
    "analysis_type": "MODEL_QUALITY",
    "dataset_format": NO_HEADER,
    "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
    "ground_truth_attribute": "_c0",
    "probability_attribute": "_c1",
    "probability_threshold_attribute": "0.5",
    "problem_type": "BinaryClassification",
    "output_path": "/opt/ml/processing/output",
    "publish_cloudwatch_metrics": "Disabled",
}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def csv_text(*columns: Any) -> str:
    return "".join(",".join(str(v) for v in row) + "\n" for row in zip(*columns, strict=True))


def check(tmp_path: Path, environment: dict[str, str], **kwargs: Any) -> tuple[dict, dict]:
    result = run_check(environment, tmp_path / "in", tmp_path / "out", **kwargs)
    return json.loads(result.statistics.read_text()), json.loads(result.constraints.read_text())


def scored(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    return y, np.round(np.clip(0.45 * y + 0.6 * rng.random(n), 0, 1), 4)


def test_binary_known_confusion_matrix_reproduces_the_documented_example(tmp_path: Path) -> None:
    """The Model Monitor guide's example: TN 1, FP 2, FN 0, TP 1 (worked by hand)."""
    write(tmp_path / "in", "scored.csv", "label,prediction\n0,0\n0,1\n0,1\n1,1\n")
    env = {**FRAUD, "dataset_format": HEADER, "ground_truth_attribute": "label",
           "inference_attribute": "prediction", "probability_attribute": ""}
    statistics, constraints = check(tmp_path, env)
    m = statistics["binary_classification_metrics"]
    assert statistics["dataset"]["item_count"] == 4
    assert m["confusion_matrix"] == {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}}
    expected = {"recall": 1.0, "precision": 1 / 3, "accuracy": 0.5,
                "recall_best_constant_classifier": 1.0, "precision_best_constant_classifier": 0.25,
                "accuracy_best_constant_classifier": 0.25, "true_positive_rate": 1.0,
                "true_negative_rate": 1 / 3, "false_positive_rate": 2 / 3, "false_negative_rate": 0.0,
                "f0_5": 0.3846153846153846, "f1": 0.5, "f2": 0.7142857142857143,
                "f0_5_best_constant_classifier": 0.29411764705882354, "f1_best_constant_classifier": 0.4,
                "f2_best_constant_classifier": 0.625}
    for name, value in expected.items():
        assert m[name]["value"] == pytest.approx(value), name
        assert m[name]["standard_deviation"] == "NaN", name  # fewer than 200 records
    c = constraints["binary_classification_constraints"]
    assert constraints["version"] == 0.0
    assert c["recall"] == {"threshold": 1.0, "comparison_operator": "LessThanThreshold"}
    assert c["false_positive_rate"] == {"threshold": pytest.approx(2 / 3),
                                        "comparison_operator": "GreaterThanThreshold"}
    assert c["false_negative_rate"]["comparison_operator"] == "GreaterThanThreshold"
    assert set(c) == {"recall", "precision", "accuracy", "true_positive_rate", "true_negative_rate", "auc",
                      "f0_5", "f1", "f2", "false_positive_rate", "false_negative_rate"}


def test_fraud_environment_matches_scikit_learn_on_the_same_scores(tmp_path: Path) -> None:
    y, score = scored(600)
    write(tmp_path / "in", "scores/holdout.csv.out", csv_text(y, score))
    result = run_check(FRAUD, tmp_path / "in", tmp_path / "out")
    m = json.loads(result.statistics.read_text())["binary_classification_metrics"]
    predicted = (score > 0.5).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, predicted).ravel()
    assert m["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    assert m["auc"]["value"] == pytest.approx(skm.roc_auc_score(y, score))
    assert m["f1"]["value"] == pytest.approx(skm.f1_score(y, predicted))
    assert m["precision"]["value"] == pytest.approx(skm.precision_score(y, predicted))
    assert m["recall"]["value"] == pytest.approx(tp / (tp + fn))
    assert m["false_positive_rate"]["value"] == pytest.approx(fp / (fp + tn))
    assert m["precision_best_constant_classifier"]["value"] == pytest.approx(y.mean())
    roc = m["receiver_operating_characteristic_curve"]
    fpr, tpr, _ = skm.roc_curve(y, score, drop_intermediate=False)
    assert roc["false_positive_rates"] == pytest.approx(fpr.tolist())
    assert roc["true_positive_rates"][0] == 0.0 and roc["true_positive_rates"][-1] == 1.0
    pr = m["precision_recall_curve"]
    assert pr["recalls"][0] == 0.0 and pr["recalls"][-1] == 1.0 and np.all(np.diff(pr["recalls"]) >= 0)
    assert result.item_count == 600 and result.metrics["auc"] == pytest.approx(m["auc"]["value"])
    assert result.summary.startswith("MODEL_QUALITY BinaryClassification: 600 records, ")


def test_standard_deviation_is_over_five_samples_of_eighty_percent(tmp_path: Path) -> None:
    y, score = scored(300)
    write(tmp_path / "in", "part.csv", csv_text(y, score))
    statistics, _ = check(tmp_path, FRAUD)
    rng = np.random.default_rng(0)
    samples = [np.sort(rng.choice(300, size=240, replace=False)) for _ in range(5)]
    accuracy = [skm.accuracy_score(y[i], score[i] > 0.5) for i in samples]
    m = statistics["binary_classification_metrics"]
    assert m["accuracy"]["standard_deviation"] == pytest.approx(np.std(accuracy, ddof=1))
    assert m["auc"]["standard_deviation"] > 0
    again, _ = check(tmp_path, FRAUD)
    assert again["binary_classification_metrics"] == m  # deterministic


def test_probability_above_the_threshold_predicts_positive(tmp_path: Path) -> None:
    write(tmp_path / "in", "s.csv", csv_text([1, 1, 0], [0.5, 0.51, 0.3]))
    m = check(tmp_path, FRAUD)[0]["binary_classification_metrics"]
    assert m["confusion_matrix"] == {"0": {"0": 1, "1": 0}, "1": {"0": 1, "1": 1}}
    lower = {**FRAUD, "probability_threshold_attribute": "0.2"}
    m = check(tmp_path, lower)[0]["binary_classification_metrics"]
    assert m["confusion_matrix"] == {"0": {"0": 0, "1": 1}, "1": {"0": 0, "1": 2}}


def test_output_columns_at_the_end_keep_positional_names(tmp_path: Path) -> None:
    y, score = scored(50)
    features = np.arange(50)
    write(tmp_path / "in", "s.csv", csv_text(features, features * 2, score, y))
    at_end = json.dumps({"csv": {"header": False, "output_columns_position": "END"}})
    env = {**FRAUD, "dataset_format": at_end, "ground_truth_attribute": "_c3", "probability_attribute": "_c2"}
    m = check(tmp_path, env)[0]["binary_classification_metrics"]
    assert m["auc"]["value"] == pytest.approx(skm.roc_auc_score(y, score))
    bad = {**env, "dataset_format": at_end.replace("END", "MIDDLE")}
    with pytest.raises(UnsupportedCheck, match="output_columns_position START or END"):
        check(tmp_path, bad)


def test_header_names_the_attributes_and_every_file_is_read(tmp_path: Path) -> None:
    y, score = scored(40)
    write(tmp_path / "in", "a.csv", "truth,p\n" + csv_text(y[:25], score[:25]))
    write(tmp_path / "in", "deeper/b.csv", "truth,p\n" + csv_text(y[25:], score[25:]))
    write(tmp_path / "in", "_SUCCESS", "not data\n")
    write(tmp_path / "in", ".hidden", "not,data\n")
    write(tmp_path / "in", "empty.csv", "")
    env = {**FRAUD, "dataset_format": HEADER, "ground_truth_attribute": "truth", "probability_attribute": "p"}
    statistics, _ = check(tmp_path, env)
    assert statistics["dataset"]["item_count"] == 40
    assert statistics["binary_classification_metrics"]["auc"]["value"] == pytest.approx(
        skm.roc_auc_score(y, score))


def test_json_lines_give_the_same_baseline_as_csv(tmp_path: Path) -> None:
    y, score = scored(30)
    write(tmp_path / "csv/in", "s.csv", csv_text(y, score))
    write(tmp_path / "json/in", "s.jsonl", "".join(json.dumps({"label": int(a), "score": float(b)}) + "\n"
                                                   for a, b in zip(y, score, strict=True)))
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    from_csv, _ = check(tmp_path / "csv", FRAUD, now=at)
    env = {**FRAUD, "dataset_format": json.dumps({"json": {"lines": True}}),
           "ground_truth_attribute": "label", "probability_attribute": "$.score"}
    from_json, _ = check(tmp_path / "json", env, now=at)
    assert from_json == from_csv
    assert from_csv["dataset"]["evaluation_time"] == "2026-01-02T03:04:05.000Z"


def test_regression_matches_scikit_learn(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    truth = np.round(rng.normal(10, 3, 250), 3)
    predicted = np.round(truth + rng.normal(0, 1, 250), 3)
    write(tmp_path / "in", "r.csv", "y,yhat\n" + csv_text(truth, predicted))
    env = {"analysis_type": "MODEL_QUALITY", "problem_type": "Regression", "dataset_format": HEADER,
           "ground_truth_attribute": "y", "inference_attribute": "yhat"}
    statistics, constraints = check(tmp_path, env)
    m = statistics["regression_metrics"]
    assert m["mae"]["value"] == pytest.approx(skm.mean_absolute_error(truth, predicted))
    assert m["mse"]["value"] == pytest.approx(skm.mean_squared_error(truth, predicted))
    assert m["rmse"]["value"] == pytest.approx(np.sqrt(skm.mean_squared_error(truth, predicted)))
    assert m["r2"]["value"] == pytest.approx(skm.r2_score(truth, predicted))
    assert m["rmse"]["standard_deviation"] > 0
    c = constraints["regression_constraints"]
    assert c["rmse"]["comparison_operator"] == "GreaterThanThreshold"
    assert c["r2"] == {"threshold": pytest.approx(m["r2"]["value"]),
                       "comparison_operator": "LessThanThreshold"}


def test_multiclass_matches_scikit_learn(tmp_path: Path) -> None:
    truth = ["cat"] * 5 + ["dog"] * 3 + ["bird"] * 2
    predicted = ["cat", "cat", "cat", "dog", "bird", "dog", "dog", "cat", "bird", "cat"]
    write(tmp_path / "in", "m.csv", "label,pred\n" + csv_text(truth, predicted))
    env = {"analysis_type": "MODEL_QUALITY", "problem_type": "MulticlassClassification",
           "dataset_format": HEADER, "ground_truth_attribute": "label", "inference_attribute": "pred"}
    statistics, constraints = check(tmp_path, env)
    m = statistics["multiclass_classification_metrics"]
    assert m["confusion_matrix"]["cat"] == {"bird": 1, "cat": 3, "dog": 1}
    assert m["confusion_matrix"]["dog"] == {"bird": 0, "cat": 1, "dog": 2}
    assert m["accuracy"]["value"] == pytest.approx(skm.accuracy_score(truth, predicted))
    assert m["weighted_f1"]["value"] == pytest.approx(skm.f1_score(truth, predicted, average="weighted"))
    assert m["weighted_f0_5"]["value"] == pytest.approx(
        skm.fbeta_score(truth, predicted, beta=0.5, average="weighted"))
    assert m["accuracy_best_constant_classifier"]["value"] == pytest.approx(0.5)  # always "cat"
    assert m["weighted_precision_best_constant_classifier"]["value"] == pytest.approx(0.25)
    assert set(constraints["multiclass_classification_constraints"]) == {
        "accuracy", "weighted_recall", "weighted_precision", "weighted_f0_5", "weighted_f1", "weighted_f2"}


def test_data_quality_matches_pandas(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "count": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8],
        "amount": [1.5, -2.25, None, 4.0, 0.5, 3.0, 2.0, None, 7.5, 1.0, 0.0, 2.5],
        "channel": ["web", "shop", "web", "web", "shop", "web", "app", "app", "web", "shop", "app", "web"],
        "note": [f"n{i}" for i in range(12)],
    })
    frame.to_csv(write(tmp_path / "in", "d.csv", ""), index=False)
    result = run_check({"dataset_format": HEADER}, tmp_path / "in", tmp_path / "out")
    statistics = json.loads(result.statistics.read_text())
    constraints = json.loads(result.constraints.read_text())
    features = {f["name"]: f for f in statistics["features"]}
    assert statistics["dataset"] == {"item_count": 12}
    assert [features[n]["inferred_type"] for n in frame.columns] == [
        "Integral", "Fractional", "String", "String"]
    for name in ("count", "amount"):
        stats, described = features[name]["numerical_statistics"], frame[name].describe()
        assert stats["common"] == {"num_present": described["count"], "num_missing": 12 - described["count"]}
        assert stats["mean"] == pytest.approx(described["mean"])
        assert stats["min"] == described["min"] and stats["max"] == described["max"]
        assert stats["sum"] == pytest.approx(frame[name].sum())
        assert stats["std_dev"] == pytest.approx(frame[name].std(ddof=0))
        kll = stats["distribution"]["kll"]
        counts, edges = np.histogram(frame[name].dropna(), bins=10)
        assert [b["count"] for b in kll["buckets"]] == counts.tolist()
        assert [b["lower_bound"] for b in kll["buckets"]] == pytest.approx(edges[:-1].tolist())
        assert sorted(kll["sketch"]["data"][0]) == sorted(frame[name].dropna().tolist())
    channel = features["channel"]["string_statistics"]
    assert channel["distinct_count"] == 3
    assert channel["distribution"]["categorical"]["buckets"] == [
        {"value": "web", "count": 6}, {"value": "app", "count": 3}, {"value": "shop", "count": 3}]
    by_name = {c["name"]: c for c in constraints["features"]}
    assert by_name["count"]["num_constraints"] == {"is_non_negative": True}
    assert by_name["amount"]["num_constraints"] == {"is_non_negative": False}
    assert by_name["amount"]["completeness"] == pytest.approx(10 / 12)
    assert by_name["channel"]["string_constraints"] == {"domains": ["app", "shop", "web"]}
    assert "string_constraints" not in by_name["note"]  # every value unique: no domain
    assert constraints["monitoring_config"]["distribution_constraints"]["comparison_threshold"] == 0.1
    assert result.summary == "DATA_QUALITY: 4 features over 12 records"


def test_data_quality_types_of_headerless_json_and_parquet_data(tmp_path: Path) -> None:
    write(tmp_path / "csv/in", "d.csv", "1,1e-05,true\n2,2,false\n,3.5,x\n")
    statistics, _ = check(tmp_path / "csv", {"dataset_format": NO_HEADER})
    assert [(f["name"], f["inferred_type"]) for f in statistics["features"]] == [
        ("_c0", "Integral"), ("_c1", "Fractional"), ("_c2", "String")]
    assert statistics["features"][0]["numerical_statistics"]["common"]["num_missing"] == 1

    write(tmp_path / "json/in", "d.json", json.dumps([{"a": 1, "b": 1.0, "c": None}, {"a": 2, "b": 2.5}]))
    statistics, _ = check(tmp_path / "json", {"dataset_format": json.dumps({"json": {"lines": False}})})
    assert [f["inferred_type"] for f in statistics["features"]] == ["Integral", "Fractional", "Unknown"]

    (tmp_path / "pq/in").mkdir(parents=True)
    pd.DataFrame({"n": [1, 2, 3], "x": [0.5, None, 1.5], "s": ["a", "b", "a"]}).to_parquet(
        tmp_path / "pq/in/part-0.parquet")
    statistics, _ = check(tmp_path / "pq", {"dataset_format": json.dumps({"parquet": {}})})
    assert [f["inferred_type"] for f in statistics["features"]] == ["Integral", "Fractional", "String"]
    assert statistics["features"][1]["numerical_statistics"]["mean"] == 1.0


def test_sketch_weights_account_for_every_value(tmp_path: Path) -> None:
    values = np.random.default_rng(5).normal(size=5000).round(6)
    write(tmp_path / "in", "v.csv", csv_text(values))
    statistics, _ = check(tmp_path, {"dataset_format": NO_HEADER})
    sketch = statistics["features"][0]["numerical_statistics"]["distribution"]["kll"]["sketch"]
    assert sketch["parameters"] == {"c": 0.64, "k": 2048.0}
    weight = sum(len(level) * 2**h for h, level in enumerate(sketch["data"]))
    assert weight == pytest.approx(5000, rel=0.001)
    assert np.median(sketch["data"][-1]) == pytest.approx(np.median(values), abs=0.01)


def test_missing_or_empty_dataset_folder(tmp_path: Path) -> None:
    with pytest.raises(CheckError, match=r"dataset_source: .*/in does not exist"):
        check(tmp_path, FRAUD)
    write(tmp_path / "in", "_SUCCESS", "")
    with pytest.raises(CheckError, match=r"no data files below .*/in"):
        check(tmp_path, FRAUD)


@pytest.mark.parametrize(("change", "message"), [
    ({"analysis_type": "MODEL_BIAS"},
     "QualityCheck environment analysis_type='MODEL_BIAS': not supported locally "
     "(DATA_QUALITY, MODEL_QUALITY)"),
    ({"problem_type": "Ranking"},
     "QualityCheck environment problem_type='Ranking': not supported locally (BinaryClassification, "
     "MulticlassClassification, Regression)"),
    ({"dataset_format": '{"sagemakerCaptureJson": {}}'},
     "QualityCheck environment dataset_format='{\"sagemakerCaptureJson\": {}}': not supported locally "
     "(csv, json, parquet)"),
    ({"dataset_format": "csv"}, "QualityCheck environment dataset_format='csv': not JSON"),
])
def test_unsupported_checks_name_the_key_and_value(tmp_path: Path, change: dict, message: str) -> None:
    write(tmp_path / "in", "s.csv", "1,0.9\n")
    with pytest.raises(UnsupportedCheck) as raised:
        check(tmp_path, {**FRAUD, **change})
    assert str(raised.value) == message
    assert classify(raised.value) == (EXIT_USAGE, message)


@pytest.mark.parametrize(("change", "text", "message"), [
    ({"probability_attribute": "_c5"}, "1,0.9\n",
     r"probability_attribute='_c5': no such column \(columns: _c0, _c1\)"),
    ({}, "yes,0.9\n", r"ground_truth_attribute='_c0': 'yes' is not a number"),
    ({}, "2,0.9\n", r"ground_truth_attribute='_c0': BinaryClassification labels are 0 and 1, got 2.0"),
    ({"ground_truth_attribute": ""}, "1,0.9\n", "ground_truth_attribute is not set"),
    ({"probability_attribute": ""}, "1,0.9\n", "probability_attribute or inference_attribute is not set"),
    ({"probability_threshold_attribute": "half"}, "1,0.9\n", "probability_threshold_attribute='half': not a"),
    ({"problem_type": "Regression"}, "1,0.9\n", "inference_attribute is not set"),
])
def test_inputs_the_check_cannot_use(tmp_path: Path, change: dict, text: str, message: str) -> None:
    write(tmp_path / "in", "s.csv", text)
    with pytest.raises(CheckError, match=message):
        check(tmp_path, {**FRAUD, **change})


def test_csv_files_with_different_headers_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "in", "a.csv", "x,y\n1,2\n")
    write(tmp_path / "in", "b.csv", "x,z\n1,2\n")
    with pytest.raises(CheckError, match=r"b.csv has columns \['x', 'z'\]"):
        check(tmp_path, {"dataset_format": HEADER})
