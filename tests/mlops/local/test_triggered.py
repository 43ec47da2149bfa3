"""Triggered executions of the wrapped churn pipeline run locally against in-process moto: one
that runs end to end, then one the cool-down skips (a success that ran nothing of the project)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops.local import launch
from mlops.local.run import SKIPPED, SUCCEEDED
from mlops.local.storage import DirStore
from mlops.sandbox import triggered

PIPELINE = "mlops-dev-churn"
ALARM = "mlops-dev-churn-drift-alarm"
AUDIT_BUCKET = "mlops-dev-model-artifacts-123456789012-eu-west-1"
PROJECT_STEPS = {"Preprocess", "Train", "Evaluate", "CheckAuc", "Register", "AucBelowThreshold"}


def statuses(report) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {s.name: s.status for s in report.steps}


@pytest.mark.slow  # runs a whole pipeline end to end
def test_a_manual_local_run_with_data_starts_and_records_its_trigger(tmp_root: Path,
                                                                      tmp_path: Path) -> None:
    data = tmp_path / "s3"
    data.mkdir()
    launch.seed(tmp_root, "churn", "dev", data_dir=data)
    report = launch.start(tmp_root, "churn", "dev", data_dir=data)
    assert report.status == SUCCEEDED and report.detail == ""
    assert statuses(report)["Trigger"] == statuses(report)["CoolDown"] == SUCCEEDED
    assert statuses(report)["Register"] == SUCCEEDED
    trigger = next(s for s in report.steps if s.name == "Trigger")
    assert trigger.detail == "started: manual runs are never skipped"
    record = json.loads(DirStore(data).read(
        f"s3://{AUDIT_BUCKET}/audit/churn/triggers/{report.run_id}.json"))
    assert (record["run"], record["source"], record["event"]) == (True, "manual", "triggered")


@pytest.mark.slow  # provisions dev into moto and trains once
def test_triggered_executions_run_then_cool_down(tmp_root: Path, moto_backend,
                                                 monkeypatch) -> None:
    from mlops.ops.aws import AwsClients
    from mlops.sandbox.engine import apply_stack
    from tests.conftest import boto_session

    assert not apply_stack(tmp_root, "dev").failed
    aws = AwsClients(region="eu-west-1", boto_session=boto_session())
    launch.seed(tmp_root, "churn", "dev", aws=aws)
    sagemaker = aws.client("sagemaker")
    seen: list[str] = []
    real_start = launch.start

    def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(sagemaker.describe_pipeline_execution(
            PipelineExecutionArn=kwargs["execution_arn"])["PipelineExecutionStatus"])
        return real_start(*args, **kwargs)

    monkeypatch.setattr(launch, "start", watched)
    drift = {"TriggerSource": "drift", "TriggerDetail": ALARM}

    def execution() -> str:
        return str(sagemaker.start_pipeline_execution(
            PipelineName=PIPELINE, PipelineParameters=[
                {"Name": k, "Value": v} for k, v in drift.items()])["PipelineExecutionArn"])

    first = execution()
    report = triggered.run_triggered(tmp_root, PIPELINE, first, drift, None, aws=aws)
    assert report is not None and report.status == SUCCEEDED, report.failure
    assert report.run_id == first.rsplit("/", 1)[-1]
    assert statuses(report)["Register"] == SUCCEEDED and report.detail == ""
    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=first)
    assert described["PipelineExecutionStatus"] == "Succeeded"

    second = execution()
    report = triggered.run_triggered(tmp_root, PIPELINE, second, drift, None, aws=aws)
    assert report is not None and report.status == SUCCEEDED
    assert report.detail.startswith("skipped: cool-down: execution ")
    assert first.rsplit("/", 1)[-1] in report.detail
    assert statuses(report)["Trigger"] == statuses(report)["CoolDown"] == SUCCEEDED
    project_steps = {k: v for k, v in statuses(report).items() if k not in ("Trigger", "CoolDown")}
    assert set(project_steps) >= PROJECT_STEPS and set(project_steps.values()) == {SKIPPED}
    assert seen == ["Executing", "Executing"]  # while each ran
    assert sagemaker.describe_pipeline_execution(
        PipelineExecutionArn=second)["PipelineExecutionStatus"] == "Succeeded"
    s3 = aws.client("s3")
    records = {}
    for arn in (first, second):
        got = s3.get_object(Bucket=AUDIT_BUCKET,
                            Key=f"audit/churn/triggers/{arn.rsplit('/', 1)[-1]}.json")
        assert got["ServerSideEncryption"] == "aws:kms"
        records[arn] = json.loads(got["Body"].read())
    assert records[first]["outcome"] == "started" and records[first]["execution"] == first
    assert records[second]["outcome"] == "skipped: cool-down"
    assert records[second]["evidence"]["alarm"] == ALARM
    # Nothing of the project ran in the skipped run: it wrote no model, no evaluation.
    workspace = "mlops-dev-pipeline-workspace-123456789012-eu-west-1"
    listed = s3.list_objects_v2(Bucket=workspace, Prefix=f"churn/runs/{report.run_id}/")
    assert [o["Key"] for o in listed.get("Contents", [])] == [
        f"churn/runs/{report.run_id}/trigger/trigger.json"]


def test_only_training_pipelines_of_projects_are_run(tmp_root: Path) -> None:
    assert triggered.project_of(tmp_root, "mlops-dev-churn") == ("churn", "dev")
    assert triggered.project_of(tmp_root, "mlops-prod-fraud") == ("fraud", "prod")
    assert triggered.project_of(tmp_root, "mlops-dev-churn-drift") is None
    assert triggered.project_of(tmp_root, "other-dev-churn") is None
