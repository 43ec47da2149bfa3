"""The resource types of drift monitoring and retraining: SQS dead-letter queues and their
policies, the raw-data bucket's EventBridge notifications, pipeline-starting event targets, data
quality job definitions and monitoring schedules. Fakes, sandbox handlers (moto) and the
Terraform export."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from common import tokens
from mlops.export.terraform import convert_object, shape_of, to_terraform_plan
from mlops.offline.cloud import Cloud
from mlops.offline.plan import Plan, PlanResource
from mlops.sandbox.handlers import Ctx
from mlops.specs import REGISTRY, NotSimulated

ACCOUNT = "123456789012"
REGION = "eu-west-1"
CLOUD = Cloud(account_id=ACCOUNT, region=REGION)
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/mlops-dev-sagemaker-execution"
PIPELINE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/mlops-dev-churn-training"
QUEUE = "mlops-dev-churn-retrain-dlq"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}"
RULE = "mlops-dev-churn-drift"
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{RULE}"

NEW_TYPES = (tokens.SQS_QUEUE, tokens.SQS_QUEUE_POLICY, tokens.S3_BUCKET_NOTIFICATION,
             tokens.EVENT_TARGET, tokens.SAGEMAKER_DATA_QUALITY_JOB_DEFINITION,
             tokens.SAGEMAKER_MONITORING_SCHEDULE)

QUEUE_INPUTS: dict[str, Any] = {"name": QUEUE, "kmsMasterKeyId": KEY_ARN,
                                "kmsDataKeyReusePeriodSeconds": 300,
                                "messageRetentionSeconds": 1209600,
                                "tags": {"mlops:project": "churn"}}
QUEUE_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "EventsSend", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
    "Action": "sqs:SendMessage", "Resource": QUEUE_ARN,
    "Condition": {"ArnEquals": {"aws:SourceArn": [RULE_ARN]}}}]}
TARGET_INPUTS: dict[str, Any] = {
    "rule": RULE, "targetId": "start-training", "arn": PIPELINE_ARN,
    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/mlops-dev-events-start-pipeline",
    "sagemakerPipelineTarget": {"pipelineParameterLists": [
        {"name": "TriggeredBy", "value": "drift"}, {"name": "Project", "value": "churn"}]},
    "retryPolicy": {"maximumRetryAttempts": 4, "maximumEventAgeInSeconds": 3600},
    "deadLetterConfig": {"arn": QUEUE_ARN}}
DQ_INPUTS: dict[str, Any] = {
    "name": "mlops-dev-churn-data-quality", "roleArn": ROLE_ARN,
    "dataQualityAppSpecification": {
        "imageUri": "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-"
                    "analyzer", "environment": {"publish_cloudwatch_metrics": "Enabled"}},
    "dataQualityBaselineConfig": {
        "constraintsResource": {"s3Uri": "s3://mlops-dev-artifacts/baseline/constraints.json"},
        "statisticsResource": {"s3Uri": "s3://mlops-dev-artifacts/baseline/statistics.json"}},
    "dataQualityJobInput": {"endpointInput": {"endpointName": "mlops-dev-churn"}},
    "dataQualityJobOutputConfig": {"kmsKeyId": KEY_ARN, "monitoringOutputs": {
        "s3Output": {"s3Uri": "s3://mlops-dev-artifacts/monitoring/churn"}}},
    "jobResources": {"clusterConfig": {"instanceType": "ml.m5.xlarge", "instanceCount": 1,
                                       "volumeSizeInGb": 20, "volumeKmsKeyId": KEY_ARN}},
    "networkConfig": {"enableNetworkIsolation": True,
                      "enableInterContainerTrafficEncryption": True,
                      "vpcConfig": {"securityGroupIds": ["sg-0123"], "subnets": ["subnet-0a"]}},
    "stoppingCondition": {"maxRuntimeInSeconds": 1800},
}
SCHEDULE_INPUTS: dict[str, Any] = {
    "name": "mlops-dev-churn-data-quality",
    "monitoringScheduleConfig": {
        "monitoringJobDefinitionName": "mlops-dev-churn-data-quality",
        "monitoringType": "DataQuality",
        "scheduleConfig": {"scheduleExpression": "cron(0 * ? * * *)"}}}


def test_every_new_type_has_a_complete_spec_and_rules():
    for token in NEW_TYPES:
        spec = REGISTRY[token]
        assert spec.problems() == [], token
        assert spec.rules or token == tokens.S3_BUCKET_NOTIFICATION, token
    assert REGISTRY[tokens.S3_BUCKET_NOTIFICATION].unchecked
    assert isinstance(REGISTRY[tokens.SAGEMAKER_MONITORING_SCHEDULE].sandbox, NotSimulated)
    assert "MonitoringSchedule" in REGISTRY[tokens.SAGEMAKER_MONITORING_SCHEDULE].sandbox.reason


# --- fakes ------------------------------------------------------------------------------------

def test_fakes_have_the_outputs_the_program_reads():
    url, outputs = REGISTRY[tokens.SQS_QUEUE].fake(CLOUD, "dlq", QUEUE_INPUTS)
    assert url == f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{QUEUE}"
    assert outputs == {"arn": QUEUE_ARN, "url": url, "name": QUEUE}
    fifo, fifo_outputs = REGISTRY[tokens.SQS_QUEUE].fake(CLOUD, "q", {"name": "x",
                                                                      "fifoQueue": True})
    assert fifo.endswith("/x.fifo") and fifo_outputs["arn"].endswith(":x.fifo")
    assert REGISTRY[tokens.SQS_QUEUE_POLICY].fake(CLOUD, "p", {"queueUrl": url}) == (url, {})
    assert REGISTRY[tokens.S3_BUCKET_NOTIFICATION].fake(CLOUD, "n", {"bucket": "raw"}) == (
        "raw", {})
    physical, dq = REGISTRY[tokens.SAGEMAKER_DATA_QUALITY_JOB_DEFINITION].fake(
        CLOUD, "dq", DQ_INPUTS)
    assert physical == "mlops-dev-churn-data-quality"
    assert dq["arn"] == (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:data-quality-job-definition/"
                         "mlops-dev-churn-data-quality")
    _, schedule = REGISTRY[tokens.SAGEMAKER_MONITORING_SCHEDULE].fake(CLOUD, "s",
                                                                       SCHEDULE_INPUTS)
    assert schedule["arn"].endswith(":monitoring-schedule/mlops-dev-churn-data-quality")


# --- sandbox handlers on moto -----------------------------------------------------------------

@pytest.fixture
def ctx():
    with mock_aws():
        yield Ctx(cloud=CLOUD, stack="dev", default_tags={"mlops:environment": "dev"})


def test_queue_is_created_then_updated(ctx):
    handler = REGISTRY[tokens.SQS_QUEUE].sandbox
    assert callable(handler)
    url, outputs, created = handler(ctx, "dlq", QUEUE_INPUTS)
    assert created and outputs["arn"] == QUEUE_ARN and outputs["url"] == url
    sqs = ctx.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == KEY_ARN
    assert attributes["MessageRetentionPeriod"] == "1209600"
    assert attributes["KmsDataKeyReusePeriodSeconds"] == "300"
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"mlops:environment": "dev",
                                                         "mlops:project": "churn"}
    again, _, created = handler(ctx, "dlq", {**QUEUE_INPUTS, "messageRetentionSeconds": 86400})
    assert again == url and not created
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["MessageRetentionPeriod"] == "86400"


def test_queue_policy_is_set_on_the_queue(ctx):
    url, _, _ = REGISTRY[tokens.SQS_QUEUE].sandbox(ctx, "dlq", QUEUE_INPUTS)  # type: ignore[operator]
    handler = REGISTRY[tokens.SQS_QUEUE_POLICY].sandbox
    assert callable(handler)
    physical, _, created = handler(ctx, "p", {"queueUrl": url, "policy": json.dumps(QUEUE_POLICY)})
    assert physical == url and created
    policy = ctx.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    assert json.loads(policy["Attributes"]["Policy"])["Statement"][0]["Sid"] == "EventsSend"
    # a policy given as an object is sent as its JSON; a second apply finds it there
    assert handler(ctx, "p", {"queueUrl": url, "policy": QUEUE_POLICY})[2] is False


def test_bucket_notification_turns_eventbridge_on(ctx):
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket="raw", CreateBucketConfiguration={"LocationConstraint": REGION})
    handler = REGISTRY[tokens.S3_BUCKET_NOTIFICATION].sandbox
    assert callable(handler)
    assert handler(ctx, "raw-events", {"bucket": "raw", "eventbridge": True}) == ("raw", {}, True)
    # moto keeps the EventBridge configuration (and routes object events by it) but its
    # GetBucketNotificationConfiguration leaves it out: read what it stored
    from moto.s3.models import s3_backends

    stored = s3_backends[ACCOUNT]["aws"].buckets["raw"].notification_configuration
    assert stored.event_bridge == {} and stored.queue == []
    # with a queue as well, the second apply finds the configuration there
    ctx.client("sqs").create_queue(QueueName=QUEUE)
    both = {"bucket": "raw", "eventbridge": True, "queues": [
        {"queueArn": QUEUE_ARN, "events": ["s3:ObjectCreated:*"], "filterPrefix": "in/",
         "id": "to-dlq"}]}
    assert handler(ctx, "raw-events", both)[2] is True
    assert handler(ctx, "raw-events", both)[2] is False
    [queue] = s3.get_bucket_notification_configuration(Bucket="raw")["QueueConfigurations"]
    assert queue["QueueArn"] == QUEUE_ARN and queue["Id"] == "to-dlq"
    assert queue["Filter"] == {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}}
    assert s3_backends[ACCOUNT]["aws"].buckets["raw"].notification_configuration.event_bridge == {}


def test_event_target_passes_pipeline_parameters_retry_and_dead_letter(ctx):
    events = ctx.client("events")
    events.put_rule(Name=RULE, EventPattern=json.dumps({"source": ["aws.cloudwatch"]}))
    handler = REGISTRY[tokens.EVENT_TARGET].sandbox
    assert callable(handler)
    physical, outputs, created = handler(ctx, "drift-start-training", TARGET_INPUTS)
    assert created and outputs == {"targetId": "start-training"}
    [target] = events.list_targets_by_rule(Rule=RULE)["Targets"]
    assert target["Arn"] == PIPELINE_ARN and target["RoleArn"] == TARGET_INPUTS["roleArn"]
    assert target["SageMakerPipelineParameters"] == {"PipelineParameterList": [
        {"Name": "TriggeredBy", "Value": "drift"}, {"Name": "Project", "Value": "churn"}]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"] == {"Arn": QUEUE_ARN}


def test_event_target_input_transformer_keeps_its_path_names(ctx):
    events = ctx.client("events")
    events.put_rule(Name=RULE, EventPattern=json.dumps({"source": ["aws.s3"]}))
    inputs = {"rule": RULE, "targetId": "t", "arn": QUEUE_ARN, "inputTransformer": {
        "inputPaths": {"objectKey": "$.detail.object.key"},
        "inputTemplate": '{"key": <objectKey>}'}}
    REGISTRY[tokens.EVENT_TARGET].sandbox(ctx, "t", inputs)  # type: ignore[operator]
    [target] = events.list_targets_by_rule(Rule=RULE)["Targets"]
    assert target["InputTransformer"] == {"InputPathsMap": {"objectKey": "$.detail.object.key"},
                                          "InputTemplate": '{"key": <objectKey>}'}


def test_data_quality_job_definition_is_created_and_replaced_on_drift(ctx):
    handler = REGISTRY[tokens.SAGEMAKER_DATA_QUALITY_JOB_DEFINITION].sandbox
    assert callable(handler)
    name, outputs, created = handler(ctx, "dq", DQ_INPUTS)
    assert created and name == "mlops-dev-churn-data-quality"
    sm = ctx.client("sagemaker")
    found = sm.describe_data_quality_job_definition(JobDefinitionName=name)
    assert found["JobDefinitionArn"] == outputs["arn"]
    assert found["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert found["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert found["JobResources"]["ClusterConfig"]["VolumeSizeInGB"] == 20
    assert found["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY_ARN
    output = found["DataQualityJobOutputConfig"]
    assert output["KmsKeyId"] == KEY_ARN
    assert output["MonitoringOutputs"] == [{"S3Output": {
        "S3Uri": "s3://mlops-dev-artifacts/monitoring/churn",
        "LocalPath": "/opt/ml/processing/output"}}]
    assert found["DataQualityJobInput"]["EndpointInput"] == {
        "EndpointName": "mlops-dev-churn", "LocalPath": "/opt/ml/processing/input"}
    assert found["DataQualityAppSpecification"]["Environment"] == {
        "publish_cloudwatch_metrics": "Enabled"}
    # unchanged: kept; changed: replaced (same name, new definition)
    assert handler(ctx, "dq", DQ_INPUTS)[2] is False
    drifted = {**DQ_INPUTS, "stoppingCondition": {"maxRuntimeInSeconds": 900}}
    assert handler(ctx, "dq", drifted)[2] is False
    found = sm.describe_data_quality_job_definition(JobDefinitionName=name)
    assert found["StoppingCondition"] == {"MaxRuntimeInSeconds": 900}


def test_moto_really_lacks_monitoring_schedules():
    with mock_aws():
        sm = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="testing",
                          aws_secret_access_key="testing")
        with pytest.raises(NotImplementedError, match="describe_monitoring_schedule"):
            sm.describe_monitoring_schedule(MonitoringScheduleName="x")


# --- Terraform export -------------------------------------------------------------------------

def converted(token: str, inputs: dict[str, Any]) -> dict[str, Any]:
    shape = shape_of(token)
    assert shape is not None
    return convert_object(inputs, shape)


def test_queue_and_policy_export():
    assert shape_of(tokens.SQS_QUEUE).type == "aws_sqs_queue"  # type: ignore[union-attr]
    queue = converted(tokens.SQS_QUEUE, {**QUEUE_INPUTS, "redrivePolicy": {"maxReceiveCount": 3}})
    assert queue["kms_master_key_id"] == KEY_ARN
    assert queue["kms_data_key_reuse_period_seconds"] == 300
    assert queue["message_retention_seconds"] == 1209600
    assert queue["tags"] == {"mlops:project": "churn"}
    assert json.loads(queue["redrive_policy"]) == {"maxReceiveCount": 3}  # JSON text
    policy = converted(tokens.SQS_QUEUE_POLICY, {"queueUrl": "u", "policy": QUEUE_POLICY})
    assert shape_of(tokens.SQS_QUEUE_POLICY).type == "aws_sqs_queue_policy"  # type: ignore[union-attr]
    assert policy["queue_url"] == "u" and json.loads(policy["policy"]) == QUEUE_POLICY


def test_bucket_notification_export():
    shape = shape_of(tokens.S3_BUCKET_NOTIFICATION)
    assert shape is not None and shape.type == "aws_s3_bucket_notification"
    notification = converted(tokens.S3_BUCKET_NOTIFICATION, {
        "bucket": "raw", "eventbridge": True,
        "queues": [{"queueArn": QUEUE_ARN, "events": ["s3:ObjectCreated:*"],
                    "filterPrefix": "in/"}]})
    assert notification == {"bucket": "raw", "eventbridge": True, "queue": [
        {"queue_arn": QUEUE_ARN, "events": ["s3:ObjectCreated:*"], "filter_prefix": "in/"}]}


def test_event_target_export_has_terraform_blocks():
    target = converted(tokens.EVENT_TARGET, TARGET_INPUTS)
    assert target["sagemaker_pipeline_target"] == [{"pipeline_parameter_list": [
        {"name": "TriggeredBy", "value": "drift"}, {"name": "Project", "value": "churn"}]}]
    assert target["retry_policy"] == [{"maximum_retry_attempts": 4,
                                       "maximum_event_age_in_seconds": 3600}]
    assert target["dead_letter_config"] == [{"arn": QUEUE_ARN}]
    assert target["role_arn"] == TARGET_INPUTS["roleArn"] and target["target_id"] == "start-training"
    transformer = converted(tokens.EVENT_TARGET, {"inputTransformer": {
        "inputPaths": {"objectKey": "$.detail.object.key"}, "inputTemplate": "<objectKey>"}})
    assert transformer["input_transformer"] == [{
        "input_paths": {"objectKey": "$.detail.object.key"}, "input_template": "<objectKey>"}]


def test_data_quality_job_definition_export_matches_checkov_paths():
    shape = shape_of(tokens.SAGEMAKER_DATA_QUALITY_JOB_DEFINITION)
    assert shape is not None and shape.type == "aws_sagemaker_data_quality_job_definition"
    dq = converted(tokens.SAGEMAKER_DATA_QUALITY_JOB_DEFINITION, DQ_INPUTS)
    # the paths Checkov inspects: CKV_AWS_367, CKV_AWS_368, CKV_AWS_369
    assert dq["data_quality_job_output_config"][0]["kms_key_id"] == KEY_ARN
    assert dq["job_resources"][0]["cluster_config"][0]["volume_kms_key_id"] == KEY_ARN
    assert dq["network_config"][0]["enable_inter_container_traffic_encryption"] is True
    assert dq["network_config"][0]["enable_network_isolation"] is True
    assert dq["network_config"][0]["vpc_config"] == [{"security_group_ids": ["sg-0123"],
                                                      "subnets": ["subnet-0a"]}]
    assert dq["job_resources"][0]["cluster_config"][0]["volume_size_in_gb"] == 20
    assert dq["data_quality_job_output_config"][0]["monitoring_outputs"] == [
        {"s3_output": [{"s3_uri": "s3://mlops-dev-artifacts/monitoring/churn"}]}]
    assert dq["data_quality_app_specification"][0]["environment"] == {
        "publish_cloudwatch_metrics": "Enabled"}  # a map: keys as written
    assert dq["data_quality_job_input"][0]["endpoint_input"] == [
        {"endpoint_name": "mlops-dev-churn"}]
    assert dq["data_quality_baseline_config"][0]["constraints_resource"] == [
        {"s3_uri": "s3://mlops-dev-artifacts/baseline/constraints.json"}]
    assert dq["stopping_condition"] == [{"max_runtime_in_seconds": 1800}]


def test_monitoring_schedule_export():
    shape = shape_of(tokens.SAGEMAKER_MONITORING_SCHEDULE)
    assert shape is not None and shape.type == "aws_sagemaker_monitoring_schedule"
    schedule = converted(tokens.SAGEMAKER_MONITORING_SCHEDULE, SCHEDULE_INPUTS)
    assert schedule["monitoring_schedule_config"] == [{
        "monitoring_job_definition_name": "mlops-dev-churn-data-quality",
        "monitoring_type": "DataQuality",
        "schedule_config": [{"schedule_expression": "cron(0 * ? * * *)"}]}]
    inline = converted(tokens.SAGEMAKER_MONITORING_SCHEDULE, {"monitoringScheduleConfig": {
        "monitoringType": "DataQuality", "monitoringJobDefinition": {
            "roleArn": ROLE_ARN, "stoppingConditions": [{"maxRuntimeInSeconds": 600}],
            "monitoringAppSpecification": {"imageUri": "i", "containerEntrypoints": ["python3"],
                                           "containerArguments": ["--x"]},
            "monitoringInputs": {"endpointInput": {"endpointName": "e", "localPath": "/in"}},
            "monitoringOutputConfig": {"kmsKeyId": KEY_ARN, "monitoringOutputs": {
                "s3Output": {"s3Uri": "s3://b/p", "localPath": "/out"}}}}}})
    job = inline["monitoring_schedule_config"][0]["monitoring_job_definition"][0]
    assert job["stopping_condition"] == [{"max_runtime_in_seconds": 600}]
    assert job["monitoring_app_specification"][0]["container_entrypoint"] == ["python3"]
    assert job["monitoring_app_specification"][0]["container_arguments"] == ["--x"]
    assert job["monitoring_inputs"][0]["endpoint_input"][0]["local_path"] == "/in"
    assert job["monitoring_output_config"][0]["kms_key_id"] == KEY_ARN
    assert job["monitoring_output_config"][0]["monitoring_outputs"][0]["s3_output"][0][
        "s3_uri"] == "s3://b/p"


def test_plan_with_the_new_types_exports_their_addresses():
    stack = "urn:pulumi:dev::mlops-platform::"
    resources = [PlanResource(urn=f"{stack}{token}::r{i}", type=token, name=f"r{i}",
                              inputs=inputs)
                 for i, (token, inputs) in enumerate([
                     (tokens.SQS_QUEUE, QUEUE_INPUTS), (tokens.EVENT_TARGET, TARGET_INPUTS),
                     (tokens.S3_BUCKET_NOTIFICATION, {"bucket": "raw", "eventbridge": True}),
                     (tokens.SAGEMAKER_DATA_QUALITY_JOB_DEFINITION, DQ_INPUTS),
                     (tokens.SAGEMAKER_MONITORING_SCHEDULE, SCHEDULE_INPUTS)])]
    doc = to_terraform_plan(Plan(stack="dev", project="mlops-platform", resources=resources),
                            REGION, {"mlops:environment": "dev"})
    addresses = {r["address"] for r in doc["planned_values"]["root_module"]["resources"]}
    assert addresses == {"aws_sqs_queue.r0", "aws_cloudwatch_event_target.r1",
                         "aws_s3_bucket_notification.r2",
                         "aws_sagemaker_data_quality_job_definition.r3",
                         "aws_sagemaker_monitoring_schedule.r4"}
