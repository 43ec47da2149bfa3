"""The baseline a training run registers: summaries, inference of categorical columns, files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from infra.drift.code.baseline import compute_baseline, infer_categorical, read_baseline, write_baseline
from infra.drift.code.drift_math import bin_fractions

FEATURES = ["tenure_months", "monthly_charges", "contract_type_one_year", "region"]


def training_frame(rows: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Model inputs like churn's: two numeric columns, a one-hot column and a text column."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "tenure_months": rng.normal(24, 6, rows),
        "monthly_charges": rng.normal(70, 20, rows),
        "contract_type_one_year": (rng.random(rows) < 0.3).astype(float),
        "region": rng.choice(["north", "south", "east"], rows, p=[0.5, 0.3, 0.2]),
    })


def training_scores(frame: pd.DataFrame) -> np.ndarray:
    return 1 / (1 + np.exp((frame["tenure_months"].to_numpy() - 24) / 6))


def make_baseline(rows: int = 3000, seed: int = 0) -> dict:
    frame = training_frame(rows, seed)
    return compute_baseline(frame, training_scores(frame))


def test_numeric_summary_has_deciles_shares_sample_and_moments() -> None:
    frame = training_frame()
    baseline = compute_baseline(frame, training_scores(frame), sample_size=500)
    assert baseline["version"] == 1 and baseline["records"] == 3000
    assert [f["name"] for f in baseline["features"]] == FEATURES
    tenure = baseline["features"][0]
    assert tenure["kind"] == "numeric" and tenure["count"] == 3000
    assert len(tenure["edges"]) == 11 and tenure["edges"] == sorted(tenure["edges"])
    assert tenure["edges"][0] == tenure["min"] and tenure["edges"][-1] == tenure["max"]
    assert len(tenure["fractions"]) == 10 and sum(tenure["fractions"]) == pytest.approx(1.0)
    assert all(f == pytest.approx(0.1, abs=0.002) for f in tenure["fractions"])
    assert len(tenure["sample"]) == 500 and set(tenure["sample"]) <= set(frame["tenure_months"])
    assert tenure["mean"] == pytest.approx(frame["tenure_months"].mean())
    assert tenure["std"] == pytest.approx(frame["tenure_months"].std(ddof=0))
    assert baseline["score"]["name"] == "score" and baseline["score"]["kind"] == "numeric"
    assert len(baseline["score"]["fractions"]) == 10


def test_the_sample_is_seeded() -> None:
    frame = training_frame()
    scores = training_scores(frame)
    first = compute_baseline(frame, scores, sample_size=100, seed=3)
    assert first == compute_baseline(frame, scores, sample_size=100, seed=3)
    other = compute_baseline(frame, scores, sample_size=100, seed=4)
    assert first["features"][0]["sample"] != other["features"][0]["sample"]


def test_one_hot_and_text_columns_are_categorical_with_string_keys() -> None:
    frame = training_frame()
    assert infer_categorical(frame) == ["contract_type_one_year", "region"]
    baseline = compute_baseline(frame, training_scores(frame))
    one_hot, region = baseline["features"][2], baseline["features"][3]
    assert one_hot["kind"] == region["kind"] == "categorical"
    assert set(one_hot["categories"]) == {"0.0", "1.0"}
    assert one_hot["categories"]["1.0"] == pytest.approx(frame["contract_type_one_year"].mean())
    assert set(region["categories"]) == {"north", "south", "east"}
    assert sum(region["categories"].values()) == pytest.approx(1.0)


def test_integers_and_floats_are_one_category() -> None:
    frame = pd.DataFrame({"flag": [1, 0, 1, 1]})
    baseline = compute_baseline(frame, np.array([0.1, 0.2, 0.3, 0.4]))
    assert baseline["features"][0]["categories"] == {"0.0": 0.25, "1.0": 0.75}


def test_named_categorical_columns_replace_inference() -> None:
    frame = training_frame(200)
    baseline = compute_baseline(frame, training_scores(frame), categorical=["region"])
    assert [f["kind"] for f in baseline["features"]] == ["numeric", "numeric", "numeric",
                                                          "categorical"]
    with pytest.raises(ValueError, match="'nope'"):
        compute_baseline(frame, training_scores(frame), categorical=["nope"])


def test_duplicate_decile_edges_are_merged() -> None:
    # 70% zeros: the first seven deciles are all 0.
    values = np.concatenate([np.zeros(700), np.arange(1, 301, dtype=float)])
    baseline = compute_baseline(pd.DataFrame({"spend": values}), np.full(1000, 0.5),
                                categorical=[])
    spend = baseline["features"][0]
    assert len(set(spend["edges"])) == len(spend["edges"]) == 5
    assert len(spend["fractions"]) == 4 and spend["fractions"][0] == pytest.approx(0.7)
    assert sum(spend["fractions"]) == pytest.approx(1.0)
    assert list(bin_fractions(values, spend["edges"])) == spend["fractions"]


def test_a_constant_feature_has_one_bin() -> None:
    baseline = compute_baseline(pd.DataFrame({"c": np.full(50, 3.5)}), np.full(50, 0.5),
                                categorical=[])
    constant = baseline["features"][0]
    assert constant["edges"] == [3.5, 3.5] and constant["fractions"] == [1.0]
    assert constant["std"] == 0.0


def test_no_records_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one training record"):
        compute_baseline(pd.DataFrame({"a": []}), np.array([]))


def test_a_baseline_round_trips_through_its_file(tmp_path: Path) -> None:
    baseline = make_baseline(300)
    path = write_baseline(tmp_path / "v1" / "baseline.json", baseline)
    assert read_baseline(path) == baseline


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not JSON"),
    ("[]", "not a JSON object"),
    ('{"version": 2, "features": []}', "version is 2"),
    ('{"version": 1, "features": []}', "'features' must be a non-empty list"),
    ('{"version": 1, "features": [{"name": "a", "kind": "text"}]}', "kind is 'text'"),
    ('{"version": 1, "features": [{"name": "a", "kind": "numeric", "edges": [1, 0],'
     ' "fractions": [1], "sample": []}]}', "ascending"),
    ('{"version": 1, "features": [{"name": "a", "kind": "numeric", "edges": [0, 1],'
     ' "fractions": [0.5, 0.5], "sample": []}]}', "'fractions' must be 1 numbers"),
    ('{"version": 1, "features": [{"name": "a", "kind": "categorical", "categories": [1]}]}',
     "'categories' must map"),
])
def test_a_malformed_baseline_names_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="malformed baseline") as error:
        read_baseline(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)


def test_a_missing_baseline_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=f"{tmp_path / 'baseline.json'}: no baseline file"):
        read_baseline(tmp_path / "baseline.json")


def test_the_file_is_plain_json(tmp_path: Path) -> None:
    path = write_baseline(tmp_path / "baseline.json", make_baseline(100))
    data = json.loads(path.read_text())
    assert data["features"][0]["name"] == "tenure_months"
