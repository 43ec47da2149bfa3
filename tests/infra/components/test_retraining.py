"""The Retraining component in the offline Plan: drift check, M-of-N alarm and the triggers
that start the training pipeline with no code in their path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from moto.events.models import EventPattern

from common import tokens
from infra.projects.errors import ProjectError
from mlops.offline.runtime import build_plan
from mlops.offline.schema import schema_problems
from mlops.ops.pins import write_pin
from mlops.policy.evaluate import check_plan

ACCOUNT, REGION = "123456789012", "eu-west-1"
PIPELINE = tokens.SAGEMAKER_PIPELINE


def pinned_plan(root: Path, stack: str = "staging"):  # type: ignore[no-untyped-def]
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/mlops-{stack}-churn/2"
    write_pin(root, stack, "churn", 2, arn)
    return build_plan(root, stack)


def matches(pattern: str, event: dict) -> bool:
    return bool(EventPattern.load(pattern).matches_event(event))


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_nothing_is_monitored_before_a_version_serves(plans, stack: str) -> None:
    plan = plans[stack]
    assert not [r for r in plan.of_type(PIPELINE) if r.inputs["pipelineName"].endswith("-drift")]
    assert not plan.of_type(tokens.SQS_QUEUE)
    assert plan.outputs["driftPipelines"] == {}


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.conftest import make_root

    root = make_root(tmp_path_factory.mktemp("retraining"))
    return root, pinned_plan(root)


def test_the_drift_check_is_a_scheduled_platform_pipeline(staging) -> None:  # type: ignore[no-untyped-def]
    _, plan = staging
    drift = next(r for r in plan.of_type(PIPELINE)
                 if r.inputs["pipelineName"] == "mlops-staging-churn-drift")
    definition = json.loads(drift.inputs["pipelineDefinition"])
    assert [s["Name"] for s in definition["Steps"]] == ["DriftCheck"]
    schedule = next(r for r in plan.of_type(tokens.SCHEDULE)
                    if r.inputs["name"] == "mlops-staging-churn-drift")
    assert schedule.inputs["scheduleExpression"] == "rate(1 hour)"
    assert schedule.inputs["kmsKeyArn"].startswith("arn:aws:kms:")
    assert plan.outputs["driftPipelines"] == {"churn": "mlops-staging-churn-drift"}


def test_the_drift_alarm_is_m_of_n(staging) -> None:  # type: ignore[no-untyped-def]
    _, plan = staging
    alarm = next(r for r in plan.of_type(tokens.METRIC_ALARM)
                 if r.inputs["name"] == "mlops-staging-churn-drift-alarm")
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == (
        "MLOps/staging/Drift", "DriftedFeatures")
    assert alarm.inputs["dimensions"] == {"Project": "churn"}
    assert (alarm.inputs["datapointsToAlarm"], alarm.inputs["evaluationPeriods"]) == (2, 3)
    assert alarm.inputs["treatMissingData"] == "notBreaching"


def test_the_drift_rule_starts_training_on_alarm_only(staging) -> None:  # type: ignore[no-untyped-def]
    _, plan = staging
    rule = plan.named("retraining-churn-drift")
    alarm_arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:mlops-staging-churn-drift-alarm"
    event = {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
             "resources": [alarm_arn],
             "detail": {"alarmName": "mlops-staging-churn-drift-alarm",
                        "state": {"value": "ALARM"}, "previousState": {"value": "OK"}}}
    pattern = rule.inputs["eventPattern"]
    assert matches(pattern, event)
    assert not matches(pattern, {**event, "detail": {**event["detail"], "state": {"value": "OK"}}})
    assert not matches(pattern, {**event, "resources": [alarm_arn + "-other"]})
    target = plan.named("retraining-churn-drift-target")
    assert target.inputs["sagemakerPipelineTarget"] == {"pipelineParameterLists": [
        {"name": "TriggerSource", "value": "drift"},
        {"name": "TriggerDetail", "value": "mlops-staging-churn-drift-alarm"}]}
    assert target.inputs["retryPolicy"] == {"maximumRetryAttempts": 4,
                                            "maximumEventAgeInSeconds": 3600}
    assert target.inputs["deadLetterConfig"]["arn"].endswith(":mlops-staging-churn-retrain-dlq")
    assert target.inputs["arn"].endswith(":pipeline/mlops-staging-churn")


def test_new_data_under_the_prefix_starts_training(staging) -> None:  # type: ignore[no-untyped-def]
    _, plan = staging
    bucket = f"mlops-staging-raw-data-{ACCOUNT}-{REGION}"
    pattern = plan.named("retraining-churn-new-data").inputs["eventPattern"]
    event = {"source": "aws.s3", "detail-type": "Object Created",
             "detail": {"bucket": {"name": bucket}, "object": {"key": "incoming/churn/day.csv"}}}
    assert matches(pattern, event)
    assert not matches(pattern, {**event, "detail": {**event["detail"],
                                                     "object": {"key": "datacapture/churn/x"}}})
    target = plan.named("retraining-churn-new-data-target")
    assert target.inputs["sagemakerPipelineTarget"]["pipelineParameterLists"] == [
        {"name": "TriggerSource", "value": "new-data"},
        {"name": "TriggerDetail", "value": f"s3://{bucket}/incoming/churn/"}]
    [notification] = plan.of_type(tokens.S3_BUCKET_NOTIFICATION)
    assert notification.inputs == {"bucket": bucket, "eventbridge": True}


def test_targets_have_a_least_privilege_role_and_an_encrypted_dlq(staging) -> None:  # type: ignore[no-untyped-def]
    _, plan = staging
    [queue] = plan.of_type(tokens.SQS_QUEUE)
    assert queue.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:")
    assert queue.inputs["messageRetentionSeconds"] == 1209600
    policy = json.loads(plan.named("retraining-churn-events-policy").inputs["policy"])
    [statement] = policy["Statement"]
    assert statement["Action"] == ["sagemaker:StartPipelineExecution"]
    assert statement["Resource"] == [
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/mlops-staging-churn"]
    trust = json.loads(plan.named("retraining-churn-events").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}
    dlq = json.loads(plan.named("retraining-churn-dlq-policy").inputs["policy"])
    assert dlq["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/mlops-staging-churn-retrain-drift",
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/mlops-staging-churn-retrain-new-data"]


def test_the_served_monitored_stack_passes_schema_and_tier_policies(staging) -> None:  # type: ignore[no-untyped-def]
    root, plan = staging
    assert schema_problems(plan) == []
    report = check_plan(root, "staging", "staging", plan)
    assert [(r.rule.id, r.name, r.message) for r in report.mandatory_violations] == []


def test_monitoring_needs_a_serving_section(tmp_root: Path) -> None:
    path = tmp_root / "pipelines" / "churn" / "project.yaml"
    text = path.read_text()
    head, rest = text.split("\nserving:\n", 1)
    path.write_text(head + "\n" + rest[rest.index("\nmonitoring:"):])
    with pytest.raises(ProjectError, match="monitoring.*add a serving section"):
        build_plan(tmp_root, "dev")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_schedule_starts_a_monitored_pipeline_with_trigger_source_schedule(plans, stack) -> None:  # type: ignore[no-untyped-def]
    schedules = {r.inputs["name"]: r.inputs["target"] for r in plans[stack].of_type(tokens.SCHEDULE)}
    churn, fraud = schedules[f"mlops-{stack}-churn"], schedules[f"mlops-{stack}-fraud"]
    assert churn["sagemakerPipelineParameters"] == {
        "pipelineParameters": [{"name": "TriggerSource", "value": "schedule"}]}
    # fraud has no monitoring section: no trigger parameters, none passed (SageMaker would refuse)
    assert "sagemakerPipelineParameters" not in fraud
