"""`mlops drift check`: the platform's drift-check pipeline run here against a served stack in the
sandbox (its step runs in a subprocess, so a real moto server): the endpoint's captured window
against the baseline of the version it serves."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infra.drift.code.baseline import write_baseline
from mlops.ops.pins import write_pin
from tests.conftest import run_cli
from tests.infra.drift.test_baseline import make_baseline, training_frame, training_scores

STACK = "staging"
ENDPOINT = "mlops-staging-churn"
ACCOUNT, REGION = "123456789012", "eu-west-1"
RAW = f"mlops-{STACK}-raw-data-{ACCOUNT}-{REGION}"
ARTIFACTS = f"mlops-{STACK}-model-artifacts-{ACCOUNT}-{REGION}"
# Three hours apart: a one-hour window sees only its own hour's capture.
NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
NORMAL, SHIFTED, SPARSE = NOW, NOW - timedelta(hours=3), NOW - timedelta(hours=6)
MONITORING = """
monitoring:
  windowHours: 1
  minRecords: 100
"""
STATE: dict[str, Any] = {}

pytestmark = pytest.mark.slow  # a sandbox server


def client(service: str):  # type: ignore[no-untyped-def]
    return STATE["server"].client(service)


@pytest.fixture
def served(tmp_root: Path, sandbox, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    """staging applied to the sandbox; churn v1 registered with a baseline, pinned and served."""
    from mlops.sandbox import provision, server

    state, _ = server.start(REGION)
    STATE["server"] = state
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in state.env().items():
        monkeypatch.setenv(name, value)
    manifest = tmp_root / "pipelines" / "churn" / "project.yaml"
    text = manifest.read_text()
    manifest.write_text(text[:text.index("monitoring:")] + MONITORING.lstrip("\n"))
    assert not provision.provision(tmp_root, STACK, state).failed
    s3, sm = client("s3"), client("sagemaker")
    key = client("kms").describe_key(KeyId=f"alias/mlops-{STACK}")["KeyMetadata"]["Arn"]
    sse = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key}
    path = tmp_root / "baseline.json"
    write_baseline(path, make_baseline())
    s3.put_object(Bucket=ARTIFACTS, Key="runs/r1/baseline/baseline.json", Body=path.read_bytes(),
                  **sse)
    s3.put_object(Bucket=ARTIFACTS, Key="runs/r1/model.tar.gz", Body=b"trained", **sse)
    arn = sm.create_model_package(
        ModelPackageGroupName=f"mlops-{STACK}-churn", ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": "img", "ModelDataUrl":
                                                f"s3://{ARTIFACTS}/runs/r1/model.tar.gz"}],
                                "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]},
        DriftCheckBaselines={"ModelDataQuality": {"Statistics": {
            "ContentType": "application/json",
            "S3Uri": f"s3://{ARTIFACTS}/runs/r1/baseline/baseline.json"}}},
    )["ModelPackageArn"]
    write_pin(tmp_root, STACK, "churn", 1, arn)
    sm.create_model(ModelName=f"{ENDPOINT}-v1", PrimaryContainer={"ModelPackageName": arn},
                    ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/mlops-staging-sagemaker")
    sm.create_endpoint_config(EndpointConfigName=f"{ENDPOINT}-v1", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": f"{ENDPOINT}-v1",
        "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=f"{ENDPOINT}-v1")
    return tmp_root


def capture(when: datetime, rows: int, shift: float = 0.0, seed: int = 1) -> None:
    """``rows`` requests captured as SageMaker writes them, in the hour of ``when``."""
    frame = training_frame(rows, seed)
    frame["tenure_months"] += shift
    scores = training_scores(frame)
    lines = []
    for i in range(rows):
        row = frame.iloc[i:i + 1].to_csv(header=False, index=False).strip()
        lines.append(json.dumps({"captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": row,
                              "encoding": "CSV"},
            "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
                               "data": f"{scores[i]:.6f}", "encoding": "CSV"}},
            "eventMetadata": {"eventId": str(uuid.uuid4()),
                              "inferenceTime": when.isoformat()}, "eventVersion": "0"}))
    key = (f"datacapture/churn/{ENDPOINT}/AllTraffic/{when:%Y/%m/%d/%H}/"
           f"{when:%M-%S}-000-{uuid.uuid4()}.jsonl")
    client("s3").put_object(Bucket=RAW, Key=key, Body="\n".join(lines).encode())


def drift(monkeypatch, capsys, root: Path, at: datetime, *args: str  # type: ignore[no-untyped-def]
          ) -> tuple[int, str, str]:
    return run_cli(monkeypatch, capsys, root, "drift", "check", "churn", "--stack", STACK,
                   "--at", at.isoformat(), *args)


def test_drift_check_against_the_served_version(served: Path, monkeypatch, capsys) -> None:
    capture(NORMAL, 300)
    capture(SHIFTED, 300, shift=15.0)
    capture(SPARSE, 20, shift=15.0)

    code, stdout, stderr = drift(monkeypatch, capsys, served, NORMAL)
    assert code == 0, stderr
    assert "churn in staging: no-drift (300 records" in stdout
    assert "report: s3://" in stdout and stdout.rstrip().endswith("report.html")
    data = client("cloudwatch").get_metric_statistics(
        Namespace="MLOps/staging/Drift", MetricName="DriftedFeatures",
        Dimensions=[{"Name": "Project", "Value": "churn"}], StartTime=NORMAL.replace(minute=0),
        EndTime=NORMAL.replace(minute=59), Period=3600, Statistics=["Maximum"])["Datapoints"]
    assert [d["Maximum"] for d in data] == [0.0]

    code, stdout, stderr = drift(monkeypatch, capsys, served, SHIFTED, "--json")
    assert code == 1, stderr
    report = json.loads(stdout)
    assert report["status"] == "drift"
    drifted = {f["name"] for f in report["features"] if f["drifted"]}
    assert "tenure_months" in drifted and "monthly_charges" not in drifted
    bucket, key = report["reportUri"].removeprefix("s3://").split("/", 1)
    stored = client("s3").get_object(Bucket=bucket, Key=key)
    assert stored["ServerSideEncryption"] == "aws:kms"
    assert json.loads(stored["Body"].read())["status"] == "drift"
    assert report["htmlUri"].endswith("/report.html")

    # too few records: never a false alarm, whatever they look like
    code, stdout, _ = drift(monkeypatch, capsys, served, SPARSE, "--json")
    assert code == 0
    assert json.loads(stdout)["status"] == "not-enough-data"

    for args, message in [
        (("--at", "yesterday"), "--at 'yesterday': not an ISO-8601 time"),
    ]:
        code, _, stderr = run_cli(monkeypatch, capsys, served, "drift", "check", "churn",
                                  "--stack", STACK, *args)
        assert code == 2 and message in stderr and "Traceback" not in stderr
    code, _, stderr = run_cli(monkeypatch, capsys, served, "drift", "check", "churn", "--stack",
                              "dev")
    assert code == 2 and "churn is not served in stack dev" in stderr
    code, _, stderr = run_cli(monkeypatch, capsys, served, "drift", "check", "fraud", "--stack",
                              STACK)
    assert code == 2 and "pipelines/fraud/project.yaml: no monitoring section" in stderr
