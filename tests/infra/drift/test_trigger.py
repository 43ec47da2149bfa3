"""The Trigger step's script (infra/drift/code/trigger.py) against moto: the cool-down decision,
the evidence it gathers and the audit record it writes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.drift.code import trigger

REGION = "eu-west-1"
PIPELINE = "mlops-dev-churn"
AUDIT = "mlops-dev-model-artifacts"
RAW = "mlops-dev-raw-data"
PREFIX = "audit/churn/triggers/"
ALARM = "mlops-dev-churn-drift-alarm"


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        clients = {s: boto3.client(s, region_name=REGION)
                   for s in ("sagemaker", "s3", "cloudwatch", "kms", "iam")}
        role = clients["iam"].create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]
        clients["sagemaker"].create_pipeline(
            PipelineName=PIPELINE, RoleArn=role["Arn"],
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}))
        for bucket in (AUDIT, RAW):
            clients["s3"].create_bucket(Bucket=bucket, CreateBucketConfiguration={
                "LocationConstraint": REGION})
        clients["key"] = clients["kms"].create_key()["KeyMetadata"]["Arn"]
        yield clients


def start(aws: dict[str, Any], status: str = "Succeeded") -> str:
    """A pipeline execution in moto (finished at once), then given ``status``."""
    from moto.sagemaker.models import sagemaker_backends

    arn = aws["sagemaker"].start_pipeline_execution(PipelineName=PIPELINE)["PipelineExecutionArn"]
    account = arn.split(":")[4]
    execution = sagemaker_backends[account][REGION].pipelines[PIPELINE].pipeline_executions[arn]
    execution.pipeline_execution_status = status
    return str(arn)


def run(aws: dict[str, Any], tmp_path: Path, execution: str, source: str, detail: str = "", *,
        now: dt.datetime | None = None, cooldown: int = 24) -> dict[str, Any]:
    env = {"PIPELINE_NAME": PIPELINE, "EXECUTION_ARN": execution, "TRIGGER_SOURCE": source,
           "TRIGGER_DETAIL": detail, "COOLDOWN_HOURS": str(cooldown), "AUDIT_BUCKET": AUDIT,
           "AUDIT_PREFIX": PREFIX, "PROJECT": "churn", "STACK": "dev", "KMS_KEY_ID": aws["key"]}
    if now is not None:
        env["NOW"] = now.isoformat()
    root = tmp_path / trigger.execution_id(execution)
    record = trigger.run(env, trigger.Aws(lambda s: aws[s]), root)
    written = json.loads((root / "output" / "trigger" / "trigger.json").read_text())
    assert written == record
    return record


def test_a_manual_run_always_runs_even_while_another_is_in_flight(aws, tmp_path) -> None:
    start(aws, "Executing")
    start(aws)
    record = run(aws, tmp_path, start(aws), "manual")
    assert (record["run"], record["outcome"]) == (True, "started")
    assert record["reason"] == "manual runs are never skipped"


def test_drift_within_the_cool_down_after_a_finished_run_is_skipped(aws, tmp_path) -> None:
    earlier = start(aws)  # no trigger record: it counts as a run
    record = run(aws, tmp_path, start(aws), "drift", ALARM)
    assert (record["run"], record["outcome"]) == (False, "skipped: cool-down")
    assert trigger.execution_id(earlier) in record["reason"]
    assert "within the cool-down of 24 h" in record["reason"]


def test_after_the_cool_down_a_triggered_run_starts(aws, tmp_path) -> None:
    start(aws)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    record = run(aws, tmp_path, start(aws), "schedule", now=later)
    assert (record["run"], record["outcome"]) == (True, "started")
    assert record["evidence"] == {}


def test_a_run_in_flight_skips_a_new_trigger(aws, tmp_path) -> None:
    flying = start(aws, "Executing")
    run(aws, tmp_path, flying, "manual")  # it decided to run
    record = run(aws, tmp_path, start(aws, "Executing"), "new-data", f"s3://{RAW}/incoming/churn/")
    assert record["run"] is False
    assert record["reason"] == f"execution {trigger.execution_id(flying)} is in flight"


def test_of_two_undecided_runs_in_flight_the_later_yields(aws, tmp_path) -> None:
    first, second = start(aws, "Executing"), start(aws, "Executing")
    assert run(aws, tmp_path, first, "drift", ALARM, cooldown=0)["run"] is True
    assert run(aws, tmp_path, second, "drift", ALARM, cooldown=0)["run"] is False


def test_a_skipped_earlier_run_does_not_count(aws, tmp_path) -> None:
    from moto.sagemaker.models import sagemaker_backends

    ran = start(aws)
    account = ran.split(":")[4]
    executions = sagemaker_backends[account][REGION].pipelines[PIPELINE].pipeline_executions
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)
    executions[ran].start_time = executions[ran].last_modified_time = long_ago
    skipped = start(aws)  # finished just now, but skipped by the cool-down
    assert run(aws, tmp_path, skipped, "drift", ALARM, now=long_ago + dt.timedelta(hours=1)
               )["run"] is False
    record = run(aws, tmp_path, start(aws), "drift", ALARM)
    assert record["run"] is True, record["reason"]
    # Skipped and still Executing (its CoolDown step) does not hold a trigger back either.
    executions[skipped].pipeline_execution_status = "Executing"
    assert run(aws, tmp_path, start(aws), "new-data", f"s3://{RAW}/incoming/churn/",
               cooldown=0)["run"] is True


def test_drift_evidence_is_the_alarm_state_and_its_datapoints(aws, tmp_path) -> None:
    cw = aws["cloudwatch"]
    cw.put_metric_alarm(AlarmName=ALARM, MetricName="DriftedFeatures", Namespace="MLOps/dev/Drift",
                        Statistic="Maximum", Period=3600, EvaluationPeriods=3,
                        DatapointsToAlarm=2, Threshold=1,
                        ComparisonOperator="GreaterThanOrEqualToThreshold")
    data = {"version": "1.0", "recentDatapoints": [2.0, 3.0], "threshold": 1.0}
    cw.set_alarm_state(AlarmName=ALARM, StateValue="ALARM",
                       StateReason="Threshold Crossed: 2 out of the last 3 datapoints",
                       StateReasonData=json.dumps(data))
    evidence = run(aws, tmp_path, start(aws), "drift", ALARM)["evidence"]
    assert evidence["alarm"] == ALARM and evidence["found"] is True
    assert evidence["state"] == "ALARM"
    assert evidence["reason"].startswith("Threshold Crossed")
    assert evidence["reasonData"]["recentDatapoints"] == [2.0, 3.0]
    missing = run(aws, tmp_path, start(aws), "drift", "no-such-alarm")["evidence"]
    assert missing == {"alarm": "no-such-alarm", "found": False}


def test_new_data_evidence_is_the_objects_since_the_last_run(aws, tmp_path) -> None:
    s3 = aws["s3"]
    for i in range(25):
        s3.put_object(Bucket=RAW, Key=f"incoming/churn/part-{i:02d}.csv", Body=b"x" * (i + 1))
    s3.put_object(Bucket=RAW, Key="incoming/fraud/other.csv", Body=b"x")
    record = run(aws, tmp_path, start(aws), "new-data", f"s3://{RAW}/incoming/churn/")
    evidence = record["evidence"]
    assert (evidence["bucket"], evidence["prefix"], evidence["since"]) == (
        RAW, "incoming/churn/", None)  # no run before this one
    assert evidence["count"] == 25 and len(evidence["objects"]) == trigger.MAX_OBJECTS
    assert all(o["key"].startswith("incoming/churn/part-") for o in evidence["objects"])
    assert {o["size"] for o in evidence["objects"]} <= set(range(1, 26))
    # After a run, only what arrived since it started is evidence.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=30)
    again = run(aws, tmp_path, start(aws), "new-data", f"s3://{RAW}/incoming/churn/", now=later)
    assert again["evidence"]["count"] == 0 and again["evidence"]["since"] is not None


def test_the_audit_record_is_the_decision_encrypted_and_never_replaced(aws, tmp_path) -> None:
    execution = start(aws)
    record = run(aws, tmp_path, execution, "manual")
    key = f"{PREFIX}{trigger.execution_id(execution)}.json"
    got = aws["s3"].get_object(Bucket=AUDIT, Key=key)
    assert got["ServerSideEncryption"] == "aws:kms"
    assert got["SSEKMSKeyId"] == aws["key"]
    stored = json.loads(got["Body"].read())
    assert stored == record
    assert {k: stored[k] for k in ("schema", "event", "project", "stack", "source", "detail",
                                   "execution", "auditKey")} == {
        "schema": 1, "event": "triggered", "project": "churn", "stack": "dev",
        "source": "manual", "detail": "", "execution": execution, "auditKey": key}
    assert set(stored) >= {"run", "outcome", "reason", "evidence", "at", "time"}
    # A retried step keeps the recorded decision, even where it would now decide otherwise.
    start(aws, "Executing")
    assert run(aws, tmp_path, execution, "drift", ALARM) == record


def test_an_aws_error_exits_1_with_one_line(monkeypatch, capsys, tmp_path) -> None:
    with mock_aws():
        monkeypatch.setenv("PROCESSING_ROOT", str(tmp_path))
        for name, value in {"PIPELINE_NAME": "missing", "EXECUTION_ARN": "arn:x/execution/abc",
                            "TRIGGER_SOURCE": "drift", "COOLDOWN_HOURS": "24",
                            "AUDIT_BUCKET": "no-such-bucket", "AUDIT_PREFIX": PREFIX,
                            "PROJECT": "churn", "STACK": "dev", "AWS_DEFAULT_REGION": REGION
                            }.items():
            monkeypatch.setenv(name, value)
        assert trigger.main() == 1
    err = capsys.readouterr().err
    assert err.startswith("trigger: AWS error: ") and "NoSuchBucket" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_settings_exit_1(monkeypatch, capsys) -> None:
    monkeypatch.delenv("PIPELINE_NAME", raising=False)
    assert trigger.main() == 1
    assert "missing environment: PIPELINE_NAME" in capsys.readouterr().err
