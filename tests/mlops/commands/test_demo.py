"""`make demo` as a new user runs it: twice on a fresh sandbox, both exit 0."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pandas as pd
import pytest
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from mlops.commands.demo import STEPS
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # runs make demo


def make_demo(env: dict[str, str]) -> subprocess.CompletedProcess:
    """The Makefile's demo recipe with this interpreter's scripts (STAMP= skips the venv check,
    which `make test` has just done)."""
    command = ["make", "--no-print-directory", "demo", "STAMP=", f"BIN={Path(sys.executable).parent}"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_demo_runs_twice_and_leaves_what_it_says(sandbox) -> None:
    staging_file = (ROOT / "stacks" / "Pulumi.staging.yaml").read_text()
    started = time.monotonic()
    first = make_demo(sandbox)
    first_seconds = time.monotonic() - started
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Traceback" not in first.stderr
    for step in STEPS:
        assert step.title in first.stdout
    assert "v1 is Approved" in first.stdout
    assert "the alert topic delivered it" in first.stdout
    assert "in the sandbox now" in first.stdout
    assert first_seconds < 120

    second = make_demo(sandbox)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "v2 is Approved" in second.stdout
    assert "serving v1, pinned v1, they agree" in first.stdout
    # staging v2 is what the first run's retraining registered; the second promotion is v3
    assert "serving v3, pinned v3, they agree" in second.stdout, "the new pin rolled out"
    assert (ROOT / "stacks" / "Pulumi.staging.yaml").read_text() == staging_file, \
        "the demo pins a copy of the staging stack file, never the checkout's"

    from mlops.sandbox import server

    state = server.read_state()
    assert state is not None, "the demo leaves the sandbox running for a look around"
    stacks = json.loads((Path(sandbox["MLOPS_SANDBOX_DIR"]) / "stacks.json").read_text())
    assert sorted(stacks) == ["dev", "prod", "staging"]
    assert all(info["failed"] == 0 for info in stacks.values())
    dev = stacks["dev"]["outputs"]

    sm, s3, cw = state.client("sagemaker"), state.client("s3"), state.client("cloudwatch")
    packages = sm.list_model_packages(ModelPackageGroupName="mlops-dev-churn")[
        "ModelPackageSummaryList"]
    assert [p["ModelApprovalStatus"] for p in packages] == ["Approved", "Approved"]
    described = sm.describe_model_package(ModelPackageName=packages[0]["ModelPackageArn"])
    artifact = described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    bucket, key = artifact.removeprefix("s3://").split("/", 1)
    assert bucket == dev["buckets"]["model-artifacts"]
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == dev["keyArn"]
    # What the local run registered is the model it trained, with the AUC it measured.
    report = described["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    report_bucket, report_key = report.removeprefix("s3://").split("/", 1)
    auc = json.loads(s3.get_object(Bucket=report_bucket, Key=report_key)["Body"].read())[
        "metrics"]["auc"]["value"]
    run_id = described["CustomerMetadataProperties"]["mlops:pipelineRun"]
    test = pd.read_csv(io.BytesIO(s3.get_object(
        Bucket=dev["buckets"]["pipeline-workspace"],
        Key=f"churn/runs/{run_id}/test/test.csv")["Body"].read()), header=None)
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        booster = xgb.Booster()
        booster.load_model(bytearray(tar.extractfile("xgboost-model").read()))  # type: ignore[union-attr]
    scores = booster.predict(xgb.DMatrix(test.iloc[:, 1:].to_numpy()))
    assert roc_auc_score(test.iloc[:, 0], scores) == pytest.approx(auc)
    assert f"XGBoost test AUC {auc:.3f}" in first.stdout
    routed = [a for a in cw.describe_alarms(AlarmNamePrefix="mlops-dev")["MetricAlarms"]
              if dev["topicArn"] in a["AlarmActions"]]
    assert routed, "an alarm of dev notifies the dev alert topic"
    queue = state.client("sqs").get_queue_url(QueueName="mlops-dev-alerts-demo-inbox")["QueueUrl"]
    assert queue
    for stack, count in (("staging", 3), ("prod", 2)):
        promoted = sm.list_model_packages(ModelPackageGroupName=f"mlops-{stack}-churn")[
            "ModelPackageSummaryList"]
        assert len(promoted) == count, f"each run promoted one version into {stack}"
    retrained = sm.list_model_packages(ModelPackageGroupName="mlops-staging-churn",
                                       ModelApprovalStatus="PendingManualApproval")[
        "ModelPackageSummaryList"]
    assert [p["ModelPackageVersion"] for p in retrained] == [2], \
        "what retraining registered waits for approval; nothing deploys it"
    pipelines = sm.list_pipeline_executions(PipelineName="mlops-dev-churn")[
        "PipelineExecutionSummaries"]
    assert len(pipelines) == 2, "each run submitted the churn pipeline once"
    code = s3.list_objects_v2(Bucket=dev["buckets"]["pipeline-workspace"], Prefix="code/churn/")
    assert code.get("KeyCount", 0) >= 2, "submission uploaded the step code"

    # Staging serves what the second run promoted, and captured what it was sent, encrypted.
    staging = stacks["staging"]["outputs"]
    endpoint = sm.describe_endpoint(EndpointName=staging["endpoints"]["churn"])
    assert endpoint["EndpointStatus"] == "InService"
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["EnableNetworkIsolation"] is True
    served = model["PrimaryContainer"]["ModelPackageName"]
    staged = sm.list_model_packages(ModelPackageGroupName="mlops-staging-churn")[
        "ModelPackageSummaryList"]
    assert served == max(staged, key=lambda p: p["ModelPackageVersion"])["ModelPackageArn"]
    captured = s3.list_objects_v2(Bucket=staging["buckets"]["raw-data"],
                                  Prefix="datacapture/churn/")["Contents"]
    records = 0
    for item in captured:
        obj = s3.get_object(Bucket=staging["buckets"]["raw-data"], Key=item["Key"])
        assert obj["SSEKMSKeyId"] == staging["keyArn"]
        records += len(obj["Body"].read().splitlines())
    # Each drift loop starts its window afresh: the second run's 120 normal and 120 shifted
    # requests, every one captured (staging samples 100%).
    assert records == 240

    # The retraining loop: the first run's drift retrained once; every other trigger (a second
    # alarm, a new data file, the second run's alarms) fell in the cool-down.
    for text in ("no drift", "alarm OK after one drifted check, ALARM after two",
                 "retrained, registered v2 PendingManualApproval", "TriggerSource=new-data"):
        assert text in first.stdout, text
    runs = sm.list_pipeline_executions(PipelineName="mlops-staging-churn")[
        "PipelineExecutionSummaries"]
    sources = sorted(next(p["Value"] for p in sm.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=r["PipelineExecutionArn"])["PipelineParameters"]
        if p["Name"] == "TriggerSource") for r in runs)
    assert sources == ["drift"] * 4 + ["new-data"] * 2
    assert {r["PipelineExecutionStatus"] for r in runs} == {"Succeeded"}
    artifacts = staging["buckets"]["model-artifacts"]
    audit = [json.loads(s3.get_object(Bucket=artifacts, Key=o["Key"])["Body"].read())
             for o in s3.list_objects_v2(Bucket=artifacts, Prefix="audit/churn/triggers/")[
                 "Contents"]]
    [started] = [r for r in audit if r["run"]]
    assert started["source"] == "drift"
    assert started["evidence"]["alarm"] == "mlops-staging-churn-drift-alarm"
    assert sorted(r["outcome"] for r in audit) == ["skipped: cool-down"] * 5 + ["started"]
    started_id = started["execution"].rsplit("/", 1)[-1]
    assert f"skipped: cool-down (execution {started_id} finished" in second.stdout
    html = [o["Key"] for o in s3.list_objects_v2(
        Bucket=staging["buckets"]["pipeline-workspace"], Prefix="churn/drift/")["Contents"]
        if o["Key"].endswith("report.html")]
    assert len(html) == 8, "four hourly checks per run, each with its readable report"
    assert cw.describe_alarms(AlarmNames=["mlops-staging-churn-drift-alarm"])["MetricAlarms"][
        0]["StateValue"] == "OK", "handled, so the next promotion's alarm gate passes"
