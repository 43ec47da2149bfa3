"""Local runs of the example projects, end to end on this machine (a folder standing in for S3)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pandas as pd
import pytest
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from mlops.local import launch
from mlops.local.job import NotRunnableLocally
from mlops.local.run import CACHED, FAILED, NOT_STARTED, SKIPPED, SUCCEEDED, plan
from mlops.local.storage import DirStore
from tests.conftest import run_cli

WORKSPACE = "s3://mlops-dev-pipeline-workspace-123456789012-eu-west-1"


@pytest.fixture
def data(tmp_root: Path, tmp_path: Path) -> Path:
    """A folder standing in for S3, seeded with both examples' sample data."""
    folder = tmp_path / "s3"
    folder.mkdir()
    for project in ("churn", "fraud"):
        launch.seed(tmp_root, project, "dev", data_dir=folder)
    return folder


def statuses(report) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {s.name: s.status for s in report.steps}


def booster_of(store: DirStore, artifact: str) -> xgb.Booster:
    with tarfile.open(fileobj=io.BytesIO(store.read(artifact))) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        booster = xgb.Booster()
        booster.load_model(bytearray(member.read()))
    return booster


@pytest.mark.slow  # runs a whole pipeline end to end
def test_churn_runs_end_to_end_and_registers_what_it_measured(tmp_root: Path, data: Path) -> None:
    report = launch.start(tmp_root, "churn", "dev", data_dir=data)
    assert report.status == SUCCEEDED
    assert statuses(report) == {"Trigger": SUCCEEDED, "CoolDown": SUCCEEDED,
                                "Preprocess": SUCCEEDED, "Train": SUCCEEDED,
                                "Evaluate": SUCCEEDED, "CheckAuc": SUCCEEDED,
                                "Register": SUCCEEDED, "AucBelowThreshold": SKIPPED}
    request = json.loads((report.folder / "register-Register.json").read_text())
    assert request["ModelApprovalStatus"] == "PendingManualApproval"
    assert request["ModelPackageGroupName"] == "mlops-dev-churn"
    store = DirStore(data)
    report_uri = request["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    recorded = json.loads(store.read(report_uri))["metrics"]["auc"]["value"]
    artifact = request["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert artifact.endswith(f"pipelines-{report.run_id}-Train/output/model.tar.gz")
    # The artifact is a real XGBoost model: its AUC on the held-out split is the recorded one.
    test = pd.read_csv(io.BytesIO(store.read(
        f"{WORKSPACE}/churn/runs/{report.run_id}/test/test.csv")), header=None)
    scores = booster_of(store, artifact).predict(xgb.DMatrix(test.iloc[:, 1:].to_numpy()))
    assert roc_auc_score(test.iloc[:, 0], scores) == pytest.approx(recorded)
    assert recorded > 0.8  # the sample data has a signal worth promoting
    # The drift baseline of the train split is registered with the version.
    baseline_uri = request["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]
    assert baseline_uri == f"{WORKSPACE}/churn/runs/{report.run_id}/baseline/baseline.json"
    baseline = json.loads(store.read(baseline_uri))
    columns = json.loads(store.read(f"{WORKSPACE}/churn/runs/{report.run_id}/test/columns.json"))
    assert [f["name"] for f in baseline["features"]] == columns
    assert len(columns) == test.shape[1] - 1
    for step in ("Preprocess", "Train", "Evaluate", "Register"):
        assert (report.folder / f"{step}.log").is_file()


@pytest.mark.slow  # runs a whole pipeline end to end
def test_a_condition_that_fails_takes_the_else_branch(tmp_root: Path, data: Path) -> None:
    report = launch.start(tmp_root, "churn", "dev", data_dir=data,
                          params=["ApprovalThreshold=0.999"])
    assert report.status == "Failed"
    assert statuses(report)["Register"] == SKIPPED
    assert statuses(report)["AucBelowThreshold"] == FAILED
    assert report.failure is not None
    assert report.failure.detail == "AUC below the approval threshold 0.999"
    assert not (report.folder / "register-Register.json").exists()


@pytest.mark.slow  # runs a whole pipeline end to end
def test_a_parameter_override_reaches_the_step(tmp_root: Path, data: Path) -> None:
    report = launch.start(tmp_root, "churn", "dev", data_dir=data, params=["NumRound=7"],
                          use_cache=False)
    train = next(s for s in report.steps if s.name == "Train")
    booster = booster_of(DirStore(data), train.outputs[0])
    assert booster.num_boosted_rounds() == 7
    assert "(7 rounds)" in (report.folder / "Train.log").read_text()


@pytest.mark.slow  # runs a whole pipeline end to end
def test_a_second_run_reuses_cached_steps(tmp_root: Path, data: Path) -> None:
    first = launch.start(tmp_root, "churn", "dev", data_dir=data)
    second = launch.start(tmp_root, "churn", "dev", data_dir=data)
    assert statuses(second)["Preprocess"] == statuses(second)["Train"] == CACHED
    assert statuses(second)["Evaluate"] == SUCCEEDED  # no CacheConfig on Evaluate
    train = next(s for s in second.steps if s.name == "Train")
    assert f"pipelines-{first.run_id}-Train" in train.outputs[0]  # the first run's model
    assert train.detail == f"from run {first.run_id}"
    again = launch.start(tmp_root, "churn", "dev", data_dir=data, use_cache=False)
    assert statuses(again)["Train"] == SUCCEEDED


def test_a_script_that_exits_non_zero_stops_the_run(tmp_root: Path, data: Path, monkeypatch,
                                                    capsys) -> None:
    script = tmp_root / "pipelines" / "churn" / "code" / "preprocess.py"
    script.write_text(script.read_text().replace(
        "def main() -> None:\n", "def main() -> None:\n    print('no customers today')\n"
                                 "    raise SystemExit(3)\n"))
    code, out, err = run_cli(monkeypatch, capsys, tmp_root, "pipelines", "run", "churn",
                             "--local", "--data", str(data))
    assert code == 1
    assert "  | no customers today" in err
    assert err.strip().splitlines()[-1].startswith(
        "error: run ") and "failed at step Preprocess (Processing) (exit code 3)" in err
    assert "Traceback" not in err
    assert "NotStarted" in out  # what came after never ran


def test_an_unsupported_step_is_refused_before_anything_runs(tmp_root: Path, data: Path,
                                                             monkeypatch, capsys) -> None:
    pipeline = tmp_root / "pipelines" / "churn" / "pipeline.py"
    pipeline.write_text(pipeline.read_text().replace(
        "training_image=xgb_image", 'training_image="123456789012.dkr.ecr.eu-west-1.amazonaws'
                                    '.com/my-trainer:1"'))
    before = sorted(p for p in data.rglob("*") if p.is_file())
    code, out, err = run_cli(monkeypatch, capsys, tmp_root, "pipelines", "run", "churn",
                             "--local", "--data", str(data))
    assert code == 2
    assert err.strip() == ("error: step Train: not runnable locally: image 123456789012.dkr.ecr."
                           "eu-west-1.amazonaws.com/my-trainer:1 (local training runs the "
                           "built-in XGBoost algorithm, sagemaker-xgboost)")
    assert sorted(p for p in data.rglob("*") if p.is_file()) == before  # nothing staged
    assert not (tmp_root / ".cache" / "runs").exists()


def test_unknown_step_types_are_named() -> None:
    definition = {"Steps": [
        {"Name": "Prep", "Type": "Processing", "Arguments": {"AppSpecification": {
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/x.py"]}}},
        {"Name": "Tune", "Type": "Tuning", "Arguments": {}}]}
    with pytest.raises(NotRunnableLocally, match="step Tune: type Tuning is not runnable locally"):
        plan(definition)


def test_run_needs_local_and_takes_only_declared_parameters(tmp_root: Path, data: Path,
                                                            monkeypatch, capsys) -> None:
    code, _, err = run_cli(monkeypatch, capsys, tmp_root, "pipelines", "run", "churn")
    assert code == 2 and "give --local" in err
    code, _, err = run_cli(monkeypatch, capsys, tmp_root, "pipelines", "run", "churn", "--local",
                           "--data", str(data), "--param", "Depth=3")
    assert code == 2 and err.strip().startswith("error: --param Depth: no such parameter")
    code, _, err = run_cli(monkeypatch, capsys, tmp_root, "pipelines", "run", "churn", "--local",
                           "--data", str(data), "--param", "NumRound=many")
    assert (code, err.strip()) == (2, "error: --param NumRound=many: not a value of type Integer")
    code, _, err = run_cli(monkeypatch, capsys, tmp_root, "pipelines", "run", "churn", "--local",
                           "--data", str(data / "nope"))
    assert code == 2 and "no such folder" in err


def test_what_comes_after_a_failure_is_listed_not_started(tmp_root: Path, data: Path) -> None:
    script = tmp_root / "pipelines" / "churn" / "code" / "evaluate.py"
    script.write_text("raise SystemExit(1)\n")
    report = launch.start(tmp_root, "churn", "dev", data_dir=data)
    assert statuses(report)["Evaluate"] == FAILED
    assert statuses(report)["CheckAuc"] == NOT_STARTED


@pytest.mark.slow  # provisions dev into moto first
def test_churn_registers_into_the_sandbox_registry(tmp_root: Path, moto_backend) -> None:
    from mlops.ops.aws import AwsClients
    from mlops.ops.models import list_versions
    from mlops.sandbox.engine import apply_stack
    from tests.conftest import boto_session

    assert not apply_stack(tmp_root, "dev").failed
    aws = AwsClients(region="eu-west-1", boto_session=boto_session())
    launch.seed(tmp_root, "churn", "dev", aws=aws)
    report = launch.start(tmp_root, "churn", "dev", aws=aws)
    assert report.status == SUCCEEDED, report.failure
    [version] = list_versions(tmp_root, "churn", "dev", aws=aws)
    assert version.status == "PendingManualApproval"
    assert version.metadata["mlops:pipelineRun"] == report.run_id
    s3 = aws.client("s3")
    bucket, key = version.artifact.removeprefix("s3://").split("/", 1)
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"  # written as the bucket policy demands
    evaluation = json.loads(s3.get_object(
        Bucket="mlops-dev-pipeline-workspace-123456789012-eu-west-1",
        Key=f"churn/runs/{report.run_id}/evaluation/evaluation.json")["Body"].read())
    assert version.metrics["auc"] == pytest.approx(evaluation["metrics"]["auc"]["value"])
    # moto keeps DriftCheckBaselines; the baseline it names exists, encrypted, one entry a column.
    from mlops.ops.packages import baseline_uri

    uri = baseline_uri(aws.client("sagemaker").describe_model_package(
        ModelPackageName=version.arn))
    assert uri == (f"s3://mlops-dev-pipeline-workspace-123456789012-eu-west-1/churn/runs/"
                   f"{report.run_id}/baseline/baseline.json")
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    obj = s3.get_object(Bucket=bucket, Key=key)
    key_arn = aws.client("kms").describe_key(KeyId="alias/mlops-dev")["KeyMetadata"]["Arn"]
    assert (obj["ServerSideEncryption"], obj["SSEKMSKeyId"]) == ("aws:kms", key_arn)
    baseline = json.loads(obj["Body"].read())
    test = s3.get_object(Bucket=bucket, Key=f"churn/runs/{report.run_id}/test/test.csv")
    width = pd.read_csv(io.BytesIO(test["Body"].read()), header=None).shape[1]
    assert len(baseline["features"]) == width - 1 and baseline["score"]["count"] > 0


@pytest.mark.slow  # runs a whole pipeline end to end
def test_fraud_runs_end_to_end_with_transform_and_quality_check(tmp_root: Path, data: Path) -> None:
    from sklearn.metrics import average_precision_score

    report = launch.start(tmp_root, "fraud", "dev", data_dir=data)
    assert report.status == SUCCEEDED, report.failure
    assert statuses(report)["QualityBelowThreshold"] == SKIPPED
    store = DirStore(data)
    runs = f"{WORKSPACE}/fraud/runs/{report.run_id}"
    # The batch transform wrote "label,score" per holdout line (label joined from the input).
    [scores] = store.keys(f"{runs}/scores")
    rows = [line.split(",") for line in store.read(scores).decode().splitlines()]
    holdout = store.read(f"{runs}/holdout/holdout.csv").decode().splitlines()
    assert len(rows) == len(holdout) and all(len(r) == 2 for r in rows)
    assert [r[0] for r in rows] == [line.split(",")[0] for line in holdout]
    y, p = [float(r[0]) for r in rows], [float(r[1]) for r in rows]
    evaluation = json.loads(store.read(f"{runs}/evaluation/evaluation.json"))["metrics"]
    assert evaluation["pr_auc"]["value"] == pytest.approx(average_precision_score(y, p))
    # The QualityCheck baseline travels with the registered model.
    request = json.loads((report.folder / "register-Register.json").read_text())
    baseline = request["DriftCheckBaselines"]["ModelQuality"]
    statistics = json.loads(store.read(baseline["Statistics"]["S3Uri"]))
    assert statistics["dataset"]["item_count"] == len(rows)
    assert "binary_classification_metrics" in statistics
    assert baseline["Constraints"]["S3Uri"].endswith("/model-quality/constraints.json")
