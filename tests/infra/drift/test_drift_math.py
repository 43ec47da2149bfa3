"""The drift statistics against reference values, and compare() on seeded traffic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from infra.drift.code.drift_math import (
    UNSEEN,
    Thresholds,
    bin_fractions,
    category_key,
    category_psi,
    compare,
    ks,
    psi,
    unseen_share,
)
from tests.infra.drift.test_baseline import make_baseline, training_frame, training_scores

THRESHOLDS = Thresholds()


def test_psi_equals_the_hand_computed_value() -> None:
    # (0.4-0.5)*ln(0.4/0.5) + (0.4-0.3)*ln(0.4/0.3) + (0.2-0.2)*ln(1)
    # = -0.1*(-0.2231436) + 0.1*0.2876821 + 0 = 0.0223144 + 0.0287682 = 0.0510826
    assert psi([0.5, 0.3, 0.2], [0.4, 0.4, 0.2]) == pytest.approx(0.0510826, abs=1e-7)
    assert psi([0.5, 0.3, 0.2], [0.5, 0.3, 0.2]) == 0.0


def test_psi_floors_zero_shares_at_epsilon() -> None:
    # (0.5-0.5)*0 + (0.25-0.5)*ln(0.25/0.5) + (0.25-0.0001)*ln(0.25/0.0001)
    # = 0.1732868 + 0.2499*7.8240460 = 0.1732868 + 1.9552291 = 2.1285159
    assert psi([0.5, 0.5, 0.0], [0.5, 0.25, 0.25]) == pytest.approx(2.1285159, abs=1e-6)
    assert math.isfinite(psi([1.0, 0.0], [0.0, 1.0]))
    with pytest.raises(ValueError, match="same bins"):
        psi([0.5, 0.5], [1.0])


def test_bin_fractions_keep_the_outer_bins_open() -> None:
    edges = [0.0, 1.0, 2.0, 3.0]
    values = [-5.0, 0.5, 1.0, 1.5, 2.5, 3.0, 99.0, float("nan")]
    # bin 0: -5, 0.5; bin 1: 1.0 (an inner edge belongs to the bin above), 1.5; bin 2: 2.5, 3, 99
    assert list(bin_fractions(values, edges)) == pytest.approx([2 / 7, 2 / 7, 3 / 7])
    assert list(bin_fractions([], edges)) == [0.0, 0.0, 0.0]
    assert list(bin_fractions(["1.5", "x"], edges)) == [0.0, 1.0, 0.0]


def test_ks_is_scipys_two_sample_test() -> None:
    rng = np.random.default_rng(7)
    left, right = rng.normal(0, 1, 400), rng.normal(0.3, 1.2, 300)
    expected = stats.ks_2samp(left, right)
    assert ks(left, right) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))
    assert ks(left, []) == (0.0, 1.0)


def test_category_keys_make_one_category_of_1_and_1_0() -> None:
    assert category_key(1) == category_key(1.0) == category_key("1") == category_key(True) == "1.0"
    assert category_key(" north ") == "north"
    assert category_key(None) == category_key(float("nan")) == "nan"


def test_unseen_share_and_category_psi() -> None:
    categories = {"north": 0.5, "south": 0.5}
    values = ["north", "south", "west", "west"]
    assert unseen_share(categories, values) == 0.5
    assert unseen_share(categories, []) == 0.0
    # shares over north, south, <unseen>: expected (0.5, 0.5, 0->1e-4), actual (0.25, 0.25, 0.5)
    by_hand = 2 * (-0.25 * math.log(0.5)) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert category_psi(categories, values) == pytest.approx(by_hand)
    assert category_psi(categories, ["north", "south"]) == pytest.approx(0.0)


def window(rows: int, seed: int, shift: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    frame = training_frame(rows, seed)
    frame["tenure_months"] += shift
    return frame, training_scores(frame)


def test_an_unshifted_sample_does_not_drift() -> None:
    frame, scores = window(1000, seed=11)
    result = compare(make_baseline(), frame, scores, THRESHOLDS, min_records=100, ignore=set())
    assert result.status == "no-drift" and result.drifted_features == 0
    assert result.records == 1000
    assert all(f.psi < 0.05 for f in result.features)
    numeric = [f for f in result.features if f.kind == "numeric"]
    assert numeric and all(f.ks is not None and f.ks < 0.1 for f in numeric)
    assert result.score is not None and not result.score.drifted


def test_a_shifted_normal_distribution_drifts() -> None:
    frame, scores = window(1000, seed=11, shift=6.0)  # one standard deviation
    result = compare(make_baseline(), frame, scores, THRESHOLDS, min_records=100, ignore=set())
    assert result.status == "drift"
    tenure = result.features[0]
    assert tenure.name == "tenure_months" and tenure.drifted
    assert tenure.psi > 0.2 and tenure.ks is not None and tenure.ks > 0.2
    assert not any(f.drifted for f in result.features[1:])
    assert result.score is not None and result.score.drifted  # the score follows tenure
    assert result.drifted == ["tenure_months", "score"] and result.drifted_features == 2
    data = result.to_dict()
    assert data["status"] == "drift" and data["drifted_features"] == 2
    assert data["features"][0]["name"] == "tenure_months" and data["features"][0]["drifted"]
    assert data["thresholds"] == {"psi": 0.2, "ks": 0.2, "unseen_share": 0.05, "score_psi": 0.2}


def test_unseen_categories_drift() -> None:
    frame, scores = window(1000, seed=12)
    frame.loc[:99, "region"] = "west"  # 10% of a category training never saw
    result = compare(make_baseline(), frame, scores, THRESHOLDS, min_records=100, ignore=set())
    region = result.features[3]
    assert region.kind == "categorical" and region.unseen_share == pytest.approx(0.1)
    assert region.drifted and region.labels[-1] == UNSEEN
    assert region.actual[-1] == pytest.approx(0.1)
    assert [f.name for f in result.features if f.drifted] == ["region"]


def test_one_hot_values_from_csv_text_match_the_baseline() -> None:
    frame, scores = window(500, seed=13)
    frame["contract_type_one_year"] = frame["contract_type_one_year"].map(lambda v: f"{v:g}")
    result = compare(make_baseline(), frame, scores, THRESHOLDS, min_records=100, ignore=set())
    one_hot = result.features[2]
    assert one_hot.unseen_share == 0.0 and not one_hot.drifted


def test_below_min_records_nothing_drifts_and_every_value_is_zero() -> None:
    frame, scores = window(50, seed=14, shift=30.0)  # heavily shifted, but too little of it
    result = compare(make_baseline(), frame, scores, THRESHOLDS, min_records=100, ignore=set())
    assert result.status == "not-enough-data" and result.records == 50
    assert result.drifted_features == 0 and result.drifted == []
    everything = [*result.features, result.score]
    assert all(f is not None and not f.drifted for f in everything)
    assert all(f is not None and f.psi == 0.0 and not (f.ks or 0) > 0 and not (f.unseen_share or 0) > 0
               for f in everything)


def test_ignored_features_are_skipped() -> None:
    frame, scores = window(1000, seed=15, shift=6.0)
    result = compare(make_baseline(), frame, scores, THRESHOLDS, min_records=100,
                     ignore={"tenure_months", "score"})
    assert [f.name for f in result.features] == ["monthly_charges", "contract_type_one_year",
                                                  "region"]
    assert result.ignored == ["tenure_months", "score"] and result.score is None
    assert result.status == "no-drift"


def test_thresholds_decide() -> None:
    frame, scores = window(1000, seed=16, shift=1.0)
    strict = compare(make_baseline(), frame, scores, Thresholds(psi=0.001, ks=0.01), 100, set())
    lenient = compare(make_baseline(), frame, scores, Thresholds(psi=5, ks=1, score_psi=5), 100,
                      set())
    assert strict.features[0].drifted and not lenient.features[0].drifted


def test_a_constant_feature_drifts_on_ks_only() -> None:
    baseline = make_baseline(300)
    constant = {"name": "c", "kind": "numeric", "count": 300, "edges": [2.0, 2.0],
                "fractions": [1.0], "sample": [2.0] * 300, "mean": 2.0, "std": 0.0, "min": 2.0,
                "max": 2.0}
    baseline = {**baseline, "features": [constant]}
    same = compare(baseline, pd.DataFrame({"c": [2.0] * 200}), None, THRESHOLDS, 100, set())
    moved = compare(baseline, pd.DataFrame({"c": [3.0] * 200}), None, THRESHOLDS, 100, set())
    assert same.status == "no-drift" and same.features[0].ks == 0.0
    assert moved.features[0].psi == 0.0 and moved.features[0].ks == 1.0
    assert moved.status == "drift"


def test_an_empty_window_is_not_enough_data() -> None:
    baseline = make_baseline(300)
    empty = pd.DataFrame({f["name"]: [] for f in baseline["features"]})
    result = compare(baseline, empty, np.array([]), THRESHOLDS, min_records=0, ignore=set())
    assert result.status == "not-enough-data" and result.records == 0
    assert all(f.count == 0 and not f.drifted for f in result.features)


def test_missing_sides_are_unavailable_not_errors() -> None:
    baseline = make_baseline(300)
    frame, scores = window(300, seed=17)
    outputs_only = compare(baseline, None, scores, THRESHOLDS, 100, set())
    assert outputs_only.records == 300 and not outputs_only.features_available
    assert outputs_only.features == [] and outputs_only.score_available
    inputs_only = compare(baseline, frame, None, THRESHOLDS, 100, set())
    assert inputs_only.features_available and not inputs_only.score_available
    assert inputs_only.score is None and inputs_only.to_dict()["score"] is None


def test_a_window_without_a_baseline_column_is_an_error() -> None:
    frame, scores = window(200, seed=18)
    with pytest.raises(ValueError, match="region"):
        compare(make_baseline(300), frame.drop(columns=["region"]), scores, THRESHOLDS, 100, set())
