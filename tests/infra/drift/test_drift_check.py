"""The drift-check step on capture files written as SageMaker (and the sandbox) write them."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from moto import mock_aws

from infra.drift.code import drift_check
from infra.drift.code.baseline import write_baseline
from infra.drift.pipeline import code_dir
from tests.infra.drift.test_baseline import make_baseline, training_frame, training_scores

NOW = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
ENDPOINT = "mlops-dev-churn"


def capture_record(rows: pd.DataFrame | None, scores: np.ndarray | None, *, base64_encoded: bool = False,
                   scores_per_line: bool = False) -> dict[str, Any]:
    """One captured request: CSV rows in, comma-joined scores out (or one per line)."""

    def side(mode: str, text: str, content_type: str) -> dict[str, str]:
        if base64_encoded:
            return {"observedContentType": content_type, "mode": mode,
                    "data": base64.b64encode(text.encode()).decode(), "encoding": "BASE64"}
        return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": "CSV"}

    data: dict[str, Any] = {}
    if rows is not None:
        data["endpointInput"] = side("INPUT", rows.to_csv(header=False, index=False).strip(),
                                     "text/csv")
    if scores is not None:
        text = ("\n" if scores_per_line else ",").join(f"{s:.6f}" for s in scores)
        data["endpointOutput"] = side("OUTPUT", text, "text/csv; charset=utf-8")
    return {"captureData": data, "eventVersion": "0",
            "eventMetadata": {"eventId": str(uuid.uuid4()), "inferenceTime": "2026-12-02T10:00:00Z"}}


def write_capture(root: Path, when: datetime, records: list[dict[str, Any]]) -> Path:
    folder = root / "input" / "capture" / ENDPOINT / "AllTraffic" / f"{when:%Y/%m/%d/%H}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{when:%M-%S}-{when.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def traffic(rows: int, seed: int, shift: float = 0.0, per_request: int = 1, **options: Any
            ) -> list[dict[str, Any]]:
    frame = training_frame(rows, seed)
    frame["tenure_months"] += shift
    scores = training_scores(frame)
    return [capture_record(frame.iloc[i:i + per_request], scores[i:i + per_request], **options)
            for i in range(0, rows, per_request)]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_baseline(tmp_path / "input" / "baseline" / "baseline.json", make_baseline())
    return tmp_path


def env(root: Path, **overrides: str) -> dict[str, str]:
    values = {"PROCESSING_ROOT": str(root), "STACK": "dev", "PROJECT": "churn",
              "ENDPOINT": ENDPOINT, "WINDOW_HOURS": "2", "NOW": NOW.isoformat(),
              "MIN_RECORDS": "200", "METRICS_NAMESPACE": "MLOps/dev/Drift",
              "PUBLISH_METRICS": "false"}
    return {**values, **overrides}


def run(root: Path, capsys: pytest.CaptureFixture[str], **overrides: str) -> dict[str, Any]:
    assert drift_check.main(env(root, **overrides)) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1
    return json.loads((root / "output" / "report" / "report.json").read_text())


def images(root: Path) -> list[str]:
    page = (root / "output" / "report" / "report.html").read_text()
    return re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', page)


def test_unshifted_traffic_does_not_drift(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_capture(root, NOW - timedelta(minutes=20), traffic(300, seed=21, per_request=5))
    report = run(root, capsys)
    assert report["status"] == "no-drift" and report["drifted_features"] == 0
    assert report["records"] == 300 and report["files_read"] == 1 and report["malformed"] == 0
    assert report["requests"] == 60
    assert (report["stack"], report["project"], report["endpoint"]) == ("dev", "churn", ENDPOINT)
    assert (report["window_start"], report["window_end"]) == ("2026-12-02T08:30:00Z",
                                                              "2026-12-02T10:30:00Z")
    assert report["score"]["count"] == 300 and not report["score"]["drifted"]
    assert images(root) == ["score"]  # the score is always plotted, undrifted features never


def test_shifted_traffic_drifts_and_each_drifted_feature_is_plotted(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_capture(root, NOW - timedelta(minutes=20), traffic(300, seed=22, shift=8.0))
    report = run(root, capsys)
    assert report["status"] == "drift"
    assert report["drifted"] == ["tenure_months", "score"] and report["drifted_features"] == 2
    assert images(root) == ["tenure_months", "score"]
    page = (root / "output" / "report" / "report.html").read_text()
    assert "<title>Drift check: churn / mlops-dev-churn (dev)</title>" in page
    assert page.count("<tr><td>") == 5  # four features and the score


def test_only_files_of_the_window_hours_count(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_capture(root, NOW - timedelta(minutes=20), traffic(300, seed=23))
    write_capture(root, NOW - timedelta(hours=2), traffic(300, seed=24))  # 08:xx overlaps 08:30
    write_capture(root, NOW - timedelta(hours=3), traffic(300, seed=25, shift=20))  # 07:xx: out
    write_capture(root, NOW + timedelta(hours=1), traffic(300, seed=26, shift=20))  # future: out
    report = run(root, capsys)
    assert report["files_read"] == 2 and report["records"] == 600
    assert report["status"] == "no-drift"


def test_base64_records_and_scores_one_per_line(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_capture(root, NOW, traffic(300, seed=27, per_request=10, base64_encoded=True,
                                     scores_per_line=True))
    report = run(root, capsys)
    assert report["records"] == 300 and report["score"]["count"] == 300
    assert report["malformed"] == 0 and report["status"] == "no-drift"


def test_multi_row_requests(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_capture(root, NOW, traffic(400, seed=28, per_request=40))
    report = run(root, capsys)
    assert report["requests"] == 10 and report["records"] == 400
    assert report["score"]["count"] == 400


def test_rows_of_the_wrong_width_are_malformed(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                             "data": "1.0,2.0\n1,2,0,north,9", "encoding": "CSV"}}}
    write_capture(root, NOW, [*traffic(250, seed=29), bad, {"not": "capture"}])
    report = run(root, capsys)
    assert report["malformed"] == 3 and report["records"] == 250


def test_not_enough_data(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_capture(root, NOW, traffic(50, seed=30, shift=20.0))
    report = run(root, capsys)
    assert report["status"] == "not-enough-data" and report["records"] == 50
    assert report["drifted_features"] == 0 and images(root) == []
    assert all(not f["drifted"] and f["psi"] == 0.0 for f in report["features"])


def test_no_capture_at_all_is_not_enough_data(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = run(root, capsys)
    assert report["status"] == "not-enough-data" and report["files_read"] == 0


def test_input_only_and_output_only_capture(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = training_frame(300, 31)
    write_capture(root, NOW, [capture_record(frame.iloc[i:i + 1], None) for i in range(300)])
    report = run(root, capsys)
    assert report["features_available"] and not report["score_available"]
    assert report["score"] is None and report["records"] == 300

    other = root / "output-only"
    write_baseline(other / "input" / "baseline" / "baseline.json", make_baseline())
    write_capture(other, NOW, [capture_record(None, training_scores(frame))])
    report = run(other, capsys)
    assert not report["features_available"] and report["features"] == []
    assert report["score_available"] and report["records"] == 300


def test_ignored_features_and_thresholds_come_from_the_environment(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_capture(root, NOW, traffic(300, seed=32, shift=8.0))
    report = run(root, capsys, IGNORE_FEATURES="tenure_months, score", PSI_THRESHOLD="0.5")
    assert report["ignored"] == ["tenure_months", "score"] and report["status"] == "no-drift"
    assert report["thresholds"]["psi"] == 0.5


def test_a_malformed_baseline_fails_with_one_line(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = root / "input" / "baseline" / "baseline.json"
    path.write_text('{"version": 7}')
    assert drift_check.main(env(root)) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [f"drift_check: {path}: malformed baseline: version is 7, expected 1"]


def test_a_bad_setting_names_the_variable(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert drift_check.main(env(root, MIN_RECORDS="many")) == 2
    assert "MIN_RECORDS='many' is not a number" in capsys.readouterr().err


def metrics(namespace: str) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    client = boto3.client("cloudwatch", region_name="eu-west-1")
    found = client.list_metrics(Namespace=namespace)["Metrics"]
    return {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
            for m in found}


def test_metrics_are_published_to_cloudwatch(root: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    write_capture(root, NOW, traffic(300, seed=33, shift=8.0))
    with mock_aws():
        run(root, capsys, PUBLISH_METRICS="true")
        found = metrics("MLOps/dev/Drift")
        datapoints = boto3.client("cloudwatch", region_name="eu-west-1").get_metric_statistics(
            Namespace="MLOps/dev/Drift", MetricName="DriftedFeatures",
            Dimensions=[{"Name": "Project", "Value": "churn"}], StartTime=NOW - timedelta(hours=1),
            EndTime=NOW + timedelta(hours=1), Period=3600, Statistics=["Maximum"])["Datapoints"]

    def feature(name: str) -> tuple[tuple[str, str], ...]:
        return (("Feature", name), ("Project", "churn"))

    project = (("Project", "churn"),)
    assert found == {
        ("Records", project), ("DriftedFeatures", project),
        ("PSI", feature("tenure_months")), ("KS", feature("tenure_months")),
        ("PSI", feature("monthly_charges")), ("KS", feature("monthly_charges")),
        ("PSI", feature("contract_type_one_year")), ("UnseenShare", feature("contract_type_one_year")),
        ("PSI", feature("region")), ("UnseenShare", feature("region")),
        ("PSI", feature("score")), ("KS", feature("score")),
    }
    assert [p["Maximum"] for p in datapoints] == [2.0]


def test_not_enough_data_publishes_records_and_zero_drift_only(
        root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    write_capture(root, NOW, traffic(20, seed=34, shift=20.0))
    with mock_aws():
        run(root, capsys, PUBLISH_METRICS="true")
        assert metrics("MLOps/dev/Drift") == {("Records", (("Project", "churn"),)),
                                              ("DriftedFeatures", (("Project", "churn"),))}


def test_put_metric_data_is_batched_by_1000() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.calls: list[int] = []

        def put_metric_data(self, Namespace: str, MetricData: list[Any]) -> None:  # noqa: N803
            self.calls.append(len(MetricData))

    recorder = Recorder()
    data = [{"MetricName": "PSI", "Value": 0.0}] * 2345
    assert drift_check.publish(data, "MLOps/dev/Drift", recorder) == 3
    assert recorder.calls == [1000, 1000, 345]


def test_runs_as_a_script_from_its_folder(root: Path, tmp_path: Path) -> None:
    """What the Processing container does: ``python3 drift_check.py`` with the code folder only."""
    code = tmp_path / "code"
    code.mkdir()
    for name in ("baseline.py", "drift_math.py", "drift_check.py"):
        (code / name).write_text((code_dir() / name).read_text())
    write_capture(root, NOW, traffic(300, seed=35, shift=8.0))
    done = subprocess.run([sys.executable, str(code / "drift_check.py")], env=env(root),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"drift-check churn/{ENDPOINT}: drift, 300 records")
    assert json.loads((root / "output" / "report" / "report.json").read_text())["status"] == "drift"
