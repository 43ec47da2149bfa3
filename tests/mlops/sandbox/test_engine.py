"""The moto-backed engine, in-process: every resource type, dev inspected with plain boto3."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import MockResourceArgs

from common import tokens
from mlops.offline.cloud import Cloud
from mlops.sandbox.engine import APPLIED, CREATED, FAILED, NOT_SIMULATED, MotoCloud, apply_stack
from mlops.sandbox.handlers import Ctx
from mlops.specs import REGISTRY, NotSimulated
from tests.conftest import ROOT, boto_client

# Types whose spec has a sandbox handler (the others say why they are not simulated).
HANDLED = {t for t, spec in REGISTRY.items() if not isinstance(spec.sandbox, NotSimulated)}

REGION = "eu-west-1"
ACCOUNT = "123456789012"


def client(service: str) -> Any:
    return boto_client(service)


def engine() -> MotoCloud:
    return MotoCloud(Ctx(cloud=Cloud(account_id=ACCOUNT, region=REGION), stack="test",
                         default_tags={"mlops:environment": "test"}))


def register(cloud: MotoCloud, token: str, name: str, inputs: dict) -> tuple[str | None, dict]:
    return cloud.new_resource(MockResourceArgs(typ=token, name=name, inputs=inputs,
                                               provider=None, resource_id=None, custom=True))


# --- every type the platform creates ------------------------------------------------------------

def test_every_type_of_the_shipped_stacks_is_simulated_or_says_why(plans) -> None:
    types = {t for plan in plans.values() for t in plan.type_counts()}
    assert types, "the shipped stacks create resources"
    assert sorted(types - set(REGISTRY)) == []
    for token in types - HANDLED:
        sandbox = REGISTRY[token].sandbox
        assert isinstance(sandbox, NotSimulated) and sandbox.reason, token


KMS_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*", "Resource": "*"}]})
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/r"
BUCKET = "b-123456789012-eu-west-1"
LOGS = "logs-123456789012-eu-west-1"
XGBOOST_IMAGE = f"141502667606.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
CANARY = {"blueGreenUpdatePolicy": {
    "trafficRoutingConfiguration": {"type": "CANARY", "waitIntervalInSeconds": 300.0,
                                    "canarySize": {"type": "CAPACITY_PERCENT", "value": 10.0}},
    "terminationWaitInSeconds": 600.0, "maximumExecutionTimeoutInSeconds": 3600.0},
    "autoRollbackConfiguration": {"alarms": [{"alarmName": "e-5xx"}, {"alarmName": "e-latency"}]}}


def _prereqs(cloud: MotoCloud) -> dict[str, str]:
    """What dependent resources point at, created through the engine itself."""
    _, key = register(cloud, tokens.KMS_KEY, "k", {
        "description": "k", "enableKeyRotation": True, "policy": KMS_POLICY,
        "keyUsage": "ENCRYPT_DECRYPT", "customerMasterKeySpec": "SYMMETRIC_DEFAULT"})
    register(cloud, tokens.S3_BUCKET, "b", {"bucket": BUCKET})
    register(cloud, tokens.S3_BUCKET, "l", {"bucket": LOGS})
    register(cloud, tokens.S3_BUCKET_POLICY, "lp", {"bucket": LOGS, "policy": json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Sid": "Deny", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": f"arn:aws:s3:::{LOGS}/*",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
             "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{LOGS}/*"}]})})
    register(cloud, tokens.IAM_ROLE, "r", {"name": "r", "assumeRolePolicy": TRUST})
    _, topic = register(cloud, tokens.SNS_TOPIC, "t", {"name": "t"})
    register(cloud, tokens.EVENT_RULE, "rule", {
        "name": "rule", "eventPattern": json.dumps({"source": ["aws.sagemaker"]})})
    register(cloud, tokens.SAGEMAKER_MODEL_PACKAGE_GROUP, "g", {
        "modelPackageGroupName": "g"})
    policy = client("iam").create_policy(PolicyName="managed", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
                                                "Resource": "*"}]}))["Policy"]["Arn"]
    _serving_prereqs()
    client("sqs").create_queue(QueueName="pdlq")
    return {"key": key["keyId"], "keyArn": key["arn"], "topic": topic["arn"], "policy": policy}


def _serving_prereqs() -> None:
    """Model pm, its configuration pc, endpoints pe and pe2, and pe2's scalable target."""
    sm = client("sagemaker")
    sm.create_model(ModelName="pm", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={
        "Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/pm/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName="pc", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "pm", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large", "InitialVariantWeight": 1}])
    for endpoint in ("pe", "pe2"):
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName="pc")
    client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId="endpoint/pe2/variant/AllTraffic",
        ScalableDimension=SCALABLE_DIMENSION, MinCapacity=1, MaxCapacity=2)


def _samples(p: dict[str, str]) -> dict[str, tuple[dict, Any]]:
    """token -> (camelCase inputs as Pulumi sends them, check through plain boto3)."""
    s3, sm, aas = client("s3"), client("sagemaker"), client("application-autoscaling")

    def model_reads_back() -> bool:
        model = sm.describe_model(ModelName="m")
        return (model["EnableNetworkIsolation"] is True
                and model["VpcConfig"] == {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
                and model["PrimaryContainer"]["Environment"] == {"log_level": "info"})

    def config_reads_back() -> bool:
        config = sm.describe_endpoint_config(EndpointConfigName="c")
        return (config["KmsKeyId"] == p["keyArn"]
                and config["DataCaptureConfig"]["KmsKeyId"] == p["keyArn"]
                and config["ProductionVariants"][0]["ServerlessConfig"]["MemorySizeInMB"] == 2048)

    def endpoint_reads_back() -> bool:
        endpoint = sm.describe_endpoint(EndpointName="e")
        routing = endpoint["LastDeploymentConfig"]["BlueGreenUpdatePolicy"][
            "TrafficRoutingConfiguration"]
        return endpoint["EndpointConfigName"] == "pc" and routing["CanarySize"]["Value"] == 10

    def policy_reads_back() -> bool:
        [policy] = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
        tracking = policy["TargetTrackingScalingPolicyConfiguration"]
        return (policy["PolicyName"], tracking["TargetValue"], tracking["ScaleInCooldown"]) == (
            "pe2-invocations", 100, 300)

    return {
        tokens.S3_BUCKET_OWNERSHIP: (
            {"bucket": BUCKET, "rule": {"objectOwnership": "BucketOwnerEnforced"}},
            lambda: s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"][
                "Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"),
        tokens.S3_BUCKET_PUBLIC_ACCESS_BLOCK: (
            {"bucket": BUCKET, "blockPublicAcls": True, "blockPublicPolicy": True,
             "ignorePublicAcls": True, "restrictPublicBuckets": True},
            lambda: all(s3.get_public_access_block(Bucket=BUCKET)[
                "PublicAccessBlockConfiguration"].values())),
        tokens.S3_BUCKET_SSE: (
            {"bucket": BUCKET, "rules": [{"bucketKeyEnabled": True,
                                          "applyServerSideEncryptionByDefault": {
                                              "sseAlgorithm": "aws:kms",
                                              "kmsMasterKeyId": p["keyArn"]}}]},
            lambda: s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"][
                "Rules"][0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == p["keyArn"]),
        tokens.S3_BUCKET_VERSIONING: (
            {"bucket": BUCKET, "versioningConfiguration": {"status": "Enabled"}},
            lambda: s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"),
        tokens.S3_BUCKET_LIFECYCLE: (
            {"bucket": BUCKET, "rules": [{
                "id": "r", "status": "Enabled", "filter": {"prefix": ""},
                "noncurrentVersionExpiration": {"noncurrentDays": 7.0},
                "abortIncompleteMultipartUpload": {"daysAfterInitiation": 3.0}}]},
            lambda: s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"][0][
                "NoncurrentVersionExpiration"]["NoncurrentDays"] == 7),
        tokens.S3_BUCKET_LOGGING: (
            {"bucket": BUCKET, "targetBucket": LOGS, "targetPrefix": f"{BUCKET}/"},
            lambda: s3.get_bucket_logging(Bucket=BUCKET)["LoggingEnabled"]["TargetBucket"] == LOGS),
        tokens.S3_BUCKET_OBJECT: (
            {"bucket": BUCKET, "key": "code/train.py", "source": pulumi.StringAsset("print(1)\n"),
             "serverSideEncryption": "aws:kms", "kmsKeyId": p["keyArn"],
             "tags": {"mlops:project": "churn"}},
            lambda: s3.get_object(Bucket=BUCKET, Key="code/train.py")["Body"].read()
            == b"print(1)\n" and len(s3.list_object_versions(Bucket=BUCKET,
                                                               Prefix="code/")["Versions"]) == 1),
        tokens.KMS_ALIAS: (
            {"name": "alias/sample", "targetKeyId": p["key"]},
            lambda: any(a["AliasName"] == "alias/sample" and a["TargetKeyId"] == p["key"]
                        for a in client("kms").list_aliases()["Aliases"])),
        tokens.IAM_ROLE_POLICY: (
            {"role": "r", "name": "inline", "policy": json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                        "Action": "s3:ListBucket",
                                                        "Resource": "*"}]})},
            lambda: client("iam").list_role_policies(RoleName="r")["PolicyNames"] == ["inline"]),
        tokens.IAM_ROLE_POLICY_ATTACHMENT: (
            {"role": "r", "policyArn": p["policy"]},
            lambda: len(client("iam").list_attached_role_policies(RoleName="r")[
                "AttachedPolicies"]) == 1),
        tokens.SNS_TOPIC_POLICY: (
            {"arn": p["topic"], "policy": json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "Mine", "Effect": "Allow", "Principal": {"AWS": ACCOUNT},
                "Action": "sns:Publish", "Resource": p["topic"]}]})},
            lambda: "Mine" in client("sns").get_topic_attributes(TopicArn=p["topic"])[
                "Attributes"]["Policy"]),
        tokens.SNS_TOPIC_SUBSCRIPTION: (
            {"topic": p["topic"], "protocol": "email", "endpoint": "a@example.com"},
            lambda: client("sns").list_subscriptions_by_topic(TopicArn=p["topic"])[
                "Subscriptions"][0]["Endpoint"] == "a@example.com"),
        tokens.EVENT_TARGET: (
            {"rule": "rule", "arn": p["topic"]},
            lambda: client("events").list_targets_by_rule(Rule="rule")["Targets"][0]["Arn"]
            == p["topic"]),
        tokens.DASHBOARD: (
            {"dashboardName": "d", "dashboardBody": json.dumps({"widgets": []})},
            lambda: client("cloudwatch").get_dashboard(DashboardName="d")["DashboardName"] == "d"),
        tokens.METRIC_ALARM: (
            {"name": "a", "comparisonOperator": "GreaterThanOrEqualToThreshold",
             "evaluationPeriods": 1.0, "metricName": "ExecutionFailed",
             "namespace": "AWS/Sagemaker/ModelBuildingPipeline", "period": 300.0,
             "statistic": "Sum", "threshold": 1.0, "alarmActions": [p["topic"]],
             "dimensions": {"PipelineName": "mlops-test-churn"}},
            lambda: client("cloudwatch").describe_alarms(AlarmNames=["a"])["MetricAlarms"][0][
                "AlarmActions"] == [p["topic"]]),
        tokens.LOG_GROUP: (
            {"name": "/aws/sagemaker/test", "retentionInDays": 30.0},
            lambda: client("logs").describe_log_groups(logGroupNamePrefix="/aws/sagemaker/test")[
                "logGroups"][0]["retentionInDays"] == 30),
        tokens.SAGEMAKER_FEATURE_GROUP: (
            {"featureGroupName": "fg", "recordIdentifierFeatureName": "customer_id",
             "eventTimeFeatureName": "event_time", "roleArn": ROLE_ARN,
             "featureDefinitions": [{"featureName": "customer_id", "featureType": "String"},
                                    {"featureName": "event_time", "featureType": "String"},
                                    {"featureName": "tenure", "featureType": "Integral"}],
             "offlineStoreConfig": {"s3StorageConfig": {"s3Uri": f"s3://{BUCKET}/fs",
                                                        "kmsKeyId": p["keyArn"]},
                                    "disableGlueTableCreation": False},
             "onlineStoreConfig": {"enableOnlineStore": True,
                                   "securityConfig": {"kmsKeyId": p["keyArn"]}}},
            lambda: len(sm.describe_feature_group(FeatureGroupName="fg")[
                "FeatureDefinitions"]) == 3),
        tokens.SAGEMAKER_PIPELINE: (
            {"pipelineName": "pl", "pipelineDisplayName": "pl", "roleArn": ROLE_ARN,
             "pipelineDefinition": json.dumps({"Version": "2020-12-01", "Steps": []}),
             "parallelismConfiguration": {"maxParallelExecutionSteps": 2.0}},
            lambda: sm.describe_pipeline(PipelineName="pl")["RoleArn"] == ROLE_ARN),
        tokens.SAGEMAKER_MODEL: (
            {"name": "m", "executionRoleArn": ROLE_ARN, "enableNetworkIsolation": True,
             "primaryContainer": {"image": XGBOOST_IMAGE, "environment": {"log_level": "info"},
                                  "modelDataUrl": f"s3://{BUCKET}/m/model.tar.gz"},
             "vpcConfig": {"subnets": ["subnet-1"], "securityGroupIds": ["sg-1"]}},
            model_reads_back),
        tokens.SAGEMAKER_ENDPOINT_CONFIGURATION: (
            {"name": "c", "kmsKeyArn": p["keyArn"], "productionVariants": [{
                "variantName": "AllTraffic", "modelName": "pm", "initialVariantWeight": 1.0,
                "serverlessConfig": {"memorySizeInMb": 2048.0, "maxConcurrency": 5.0}}],
             "dataCaptureConfig": {
                 "enableCapture": True, "initialSamplingPercentage": 100.0,
                 "destinationS3Uri": f"s3://{BUCKET}/datacapture/churn", "kmsKeyId": p["keyArn"],
                 "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
                 "captureContentTypeHeader": {"csvContentTypes": ["text/csv"]}}},
            config_reads_back),
        tokens.SAGEMAKER_ENDPOINT: (
            {"name": "e", "endpointConfigName": "pc", "deploymentConfig": CANARY},
            endpoint_reads_back),
        tokens.AUTOSCALING_TARGET: (
            {"serviceNamespace": "sagemaker", "resourceId": "endpoint/pe/variant/AllTraffic",
             "scalableDimension": SCALABLE_DIMENSION, "minCapacity": 1.0, "maxCapacity": 4.0},
            lambda: aas.describe_scalable_targets(
                ServiceNamespace="sagemaker", ResourceIds=["endpoint/pe/variant/AllTraffic"])[
                "ScalableTargets"][0]["MaxCapacity"] == 4),
        tokens.AUTOSCALING_POLICY: (
            {"name": "pe2-invocations", "policyType": "TargetTrackingScaling",
             "serviceNamespace": "sagemaker", "resourceId": "endpoint/pe2/variant/AllTraffic",
             "scalableDimension": SCALABLE_DIMENSION,
             "targetTrackingScalingPolicyConfiguration": {
                 "targetValue": 100.0, "scaleInCooldown": 300.0, "scaleOutCooldown": 60.0,
                 "predefinedMetricSpecification": {
                     "predefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}},
            policy_reads_back),
        tokens.SQS_QUEUE: (
            {"name": "dlq", "kmsMasterKeyId": p["keyArn"], "messageRetentionSeconds": 1209600.0},
            lambda: client("sqs").get_queue_attributes(
                QueueUrl=client("sqs").get_queue_url(QueueName="dlq")["QueueUrl"],
                AttributeNames=["KmsMasterKeyId"])["Attributes"]["KmsMasterKeyId"] == p["keyArn"]),
        tokens.SQS_QUEUE_POLICY: (
            {"queueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/pdlq",
             "policy": json.dumps({"Version": "2012-10-17", "Statement": [{
                 "Sid": "EventsSend", "Effect": "Allow",
                 "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                 "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:pdlq"}]})},
            lambda: "EventsSend" in client("sqs").get_queue_attributes(
                QueueUrl=client("sqs").get_queue_url(QueueName="pdlq")["QueueUrl"],
                AttributeNames=["Policy"])["Attributes"]["Policy"]),
        tokens.S3_BUCKET_NOTIFICATION: (
            # with a topic as well as EventBridge: moto never returns an EventBridge-only
            # configuration, so only then does the second apply find it (docs/sandbox.md)
            {"bucket": BUCKET, "eventbridge": True, "topics": [
                {"topicArn": p["topic"], "events": ["s3:ObjectCreated:*"], "filterPrefix": "in/"}]},
            lambda: s3.get_bucket_notification_configuration(Bucket=BUCKET)[
                "TopicConfigurations"][0]["TopicArn"] == p["topic"]),
        tokens.SAGEMAKER_DATA_QUALITY_JOB_DEFINITION: (
            {"name": "dq", "roleArn": ROLE_ARN,
             "dataQualityAppSpecification": {"imageUri": XGBOOST_IMAGE},
             "dataQualityJobInput": {"endpointInput": {"endpointName": "pe"}},
             "dataQualityJobOutputConfig": {"kmsKeyId": p["keyArn"], "monitoringOutputs": {
                 "s3Output": {"s3Uri": f"s3://{BUCKET}/monitoring"}}},
             "jobResources": {"clusterConfig": {"instanceType": "ml.m5.xlarge",
                                                "instanceCount": 1.0, "volumeSizeInGb": 20.0,
                                                "volumeKmsKeyId": p["keyArn"]}},
             "networkConfig": {"enableNetworkIsolation": True,
                               "enableInterContainerTrafficEncryption": True}},
            lambda: sm.describe_data_quality_job_definition(JobDefinitionName="dq")[
                "NetworkConfig"]["EnableNetworkIsolation"] is True),
        tokens.SCHEDULE: (
            {"name": "nightly", "scheduleExpression": "cron(0 2 * * ? *)",
             "flexibleTimeWindow": {"mode": "OFF"},
             "target": {"arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/pl",
                        "roleArn": ROLE_ARN,
                        "sagemakerPipelineParameters": {
                            "pipelineParameters": [{"name": "Mode", "value": "full"}]}}},
            lambda: client("scheduler").get_schedule(Name="nightly")["Target"][
                "SageMakerPipelineParameters"]["PipelineParameterList"][0]["Value"] == "full"),
    }


TESTED_DIRECTLY = {tokens.S3_BUCKET, tokens.KMS_KEY, tokens.IAM_ROLE,
                   tokens.SNS_TOPIC, tokens.EVENT_RULE,
                   tokens.S3_BUCKET_POLICY,
                   tokens.SAGEMAKER_MODEL_PACKAGE_GROUP,
                   tokens.SAGEMAKER_MODEL_PACKAGE_GROUP_POLICY}


def test_samples_cover_every_handler() -> None:
    sampled = set(_samples({"key": "", "keyArn": "", "topic": "", "policy": ""}))
    assert sampled | TESTED_DIRECTLY == HANDLED | {tokens.SAGEMAKER_MODEL_PACKAGE_GROUP_POLICY}


@pytest.mark.slow  # every handled type through moto, one by one
@pytest.mark.parametrize("token", sorted(HANDLED - TESTED_DIRECTLY))
def test_engine_creates_each_type(moto_backend, token: str) -> None:
    cloud = engine()
    prereqs = _prereqs(cloud)
    inputs, check = _samples(prereqs)[token]
    physical, outputs = register(cloud, token, "sample", inputs)
    outcome = cloud.outcomes[-1]
    assert (outcome.type, outcome.status) == (token, CREATED)
    assert outcome.detail == REGISTRY[token].caveat
    assert physical and outputs
    assert check(), f"{token} is not visible through boto3"
    register(cloud, token, "sample", inputs)  # idempotent: applied again, nothing new
    assert cloud.outcomes[-1].status == APPLIED
    assert check()
    assert all(o.status in (CREATED, APPLIED) for o in cloud.outcomes)


def test_prerequisite_types_are_real(moto_backend) -> None:
    cloud = engine()
    p = _prereqs(cloud)
    assert {o.status for o in cloud.outcomes} == {CREATED}
    kms = client("kms")
    assert kms.get_key_rotation_status(KeyId=p["key"])["KeyRotationEnabled"] is True
    assert p["keyArn"] == kms.describe_key(KeyId=p["key"])["KeyMetadata"]["Arn"]
    assert client("iam").get_role(RoleName="r")["Role"]["Arn"] == ROLE_ARN
    assert client("sns").get_topic_attributes(TopicArn=p["topic"])
    group = client("sagemaker").describe_model_package_group(ModelPackageGroupName="g")
    assert group["ModelPackageGroupArn"].endswith(":model-package-group/g")
    tags = client("s3").get_bucket_tagging(Bucket=BUCKET)["TagSet"]
    assert {"Key": "mlops:environment", "Value": "test"} in tags


def test_moto_gaps_and_unknown_types_are_listed_not_dropped(moto_backend) -> None:
    cloud = engine()
    _, outputs = register(cloud, tokens.SAGEMAKER_MODEL_PACKAGE_GROUP_POLICY,
                          "gp", {"modelPackageGroupName": "g", "resourcePolicy": "{}"})
    _, vpc = register(cloud, tokens.EC2_VPC, "net", {"cidrBlock": "10.0.0.0/16"})
    policy, unknown = cloud.outcomes
    assert (policy.status, unknown.status) == (NOT_SIMULATED, NOT_SIMULATED)
    assert "PutModelPackageGroupPolicy" in policy.detail
    assert "no spec for this type" in unknown.detail
    assert vpc["cidrBlock"] == "10.0.0.0/16"  # dependents still get the inputs back


def test_a_failing_call_is_reported_as_failed(moto_backend) -> None:
    cloud = engine()
    register(cloud, tokens.IAM_ROLE_POLICY, "p",
             {"role": "missing", "name": "x", "policy": "{}"})
    assert cloud.outcomes[0].status == FAILED
    assert "NoSuchEntity" in cloud.outcomes[0].detail


# --- the dev stack, applied and inspected with plain boto3 ------------------------------------

@pytest.fixture
def dev(moto_backend):
    return apply_stack(ROOT, "dev")


def test_dev_applies_every_resource(dev) -> None:
    assert len(dev.outcomes) == len(dev.plan.custom_resources())
    assert dev.failed == []
    assert {o.status for o in dev.outcomes} == {CREATED}
    assert len(dev.rows()) == len(dev.outcomes)
    assert dev.plan.outputs["keyArn"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")


def test_dev_as_aws_apis_report_it(dev) -> None:
    outputs = dev.plan.outputs
    key_arn = outputs["keyArn"]
    s3 = client("s3")
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert set(outputs["buckets"].values()) == names and len(names) == 5
    for purpose, bucket in outputs["buckets"].items():
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
            "Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
        assert rule["BucketKeyEnabled"] is True
        assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True}
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        sids = [s["Sid"] for s in json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])[
            "Statement"]]
        assert "DenyInsecureTransport" in sids
        if purpose != "access-logs":
            assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetBucket"] == \
                outputs["buckets"]["access-logs"]
    kms = client("kms")
    key_id = key_arn.rsplit("/", 1)[-1]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    assert "PlatformRolesUseKey" in kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    assert {"AliasName": "alias/mlops-dev", "TargetKeyId": key_id}.items() <= next(
        a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/mlops-dev").items()
    iam = client("iam")
    assert iam.get_role(RoleName="mlops-dev-sagemaker-execution")["Role"]["Arn"] == \
        outputs["roleArn"]
    assert iam.list_role_policies(RoleName="mlops-dev-sagemaker-execution")["PolicyNames"] == [
        "environment-scoped-access"]
    sns = client("sns")
    attributes = sns.get_topic_attributes(TopicArn=outputs["topicArn"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == key_arn
    assert "EventsAndAlarmsOfThisAccountPublish" in attributes["Policy"]
    events = client("events")
    for rule in ("mlops-dev-model-package-state", "mlops-dev-pipeline-execution-failed"):
        assert events.list_targets_by_rule(Rule=rule)["Targets"][0]["Arn"] == outputs["topicArn"]
    sm = client("sagemaker")
    for group in outputs["modelPackageGroups"].values():
        assert sm.describe_model_package_group(ModelPackageGroupName=group)
    listed = {g["FeatureGroupName"] for g in sm.list_feature_groups()["FeatureGroupSummaries"]}
    assert listed == set(outputs["featureGroups"].values())
    for resource in dev.plan.of_type(tokens.SAGEMAKER_FEATURE_GROUP):
        found = sm.describe_feature_group(FeatureGroupName=resource.inputs["featureGroupName"])
        offline = found["OfflineStoreConfig"]
        assert offline["S3StorageConfig"]["KmsKeyId"] == key_arn
        assert offline["S3StorageConfig"]["S3Uri"].startswith(
            f"s3://{outputs['buckets']['feature-store']}/")
        assert offline["TableFormat"] == "Iceberg"
        assert offline["DataCatalogConfig"]["TableName"] == resource.inputs["offlineStoreConfig"][
            "dataCatalogConfig"]["tableName"]
        assert found["Description"] == resource.inputs["description"]
        assert "OnlineStoreConfig" not in found  # dev: mlops:onlineFeatureStore is false
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_feature_group(FeatureGroupName="mlops-dev-no-such-group")
    cw = client("cloudwatch")
    assert cw.get_dashboard(DashboardName="mlops-dev")["DashboardName"] == "mlops-dev"
    # Alarms (the projects' alarms, when the stack has them) report the actions the program set.
    for alarm in dev.plan.of_type(tokens.METRIC_ALARM):
        found = cw.describe_alarms(AlarmNames=[alarm.inputs["name"]])["MetricAlarms"][0]
        assert found["AlarmActions"] == alarm.inputs.get("alarmActions", [])


def test_feature_groups_read_back_as_created(moto_backend) -> None:
    """The sandbox keeps what moto alone drops: the online store, its key, the Glue table."""
    sm = client("sagemaker")
    key = "arn:aws:kms:eu-west-1:123456789012:key/example"
    online = {"EnableOnlineStore": True, "SecurityConfig": {"KmsKeyId": key},
              "TtlDuration": {"Unit": "Days", "Value": 30}}
    catalog = {"TableName": "mlops_prod_churn_customers", "Catalog": "AwsDataCatalog",
               "Database": "sagemaker_featurestore"}
    sm.create_feature_group(
        FeatureGroupName="mlops-prod-churn-customers", RecordIdentifierFeatureName="id",
        EventTimeFeatureName="t", Description="customers",
        FeatureDefinitions=[{"FeatureName": "id", "FeatureType": "String"},
                            {"FeatureName": "t", "FeatureType": "Fractional"}],
        OnlineStoreConfig=online,
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://b/churn", "KmsKeyId": key},
                            "DataCatalogConfig": catalog, "TableFormat": "Iceberg"},
        RoleArn="arn:aws:iam::123456789012:role/r")
    found = sm.describe_feature_group(FeatureGroupName="mlops-prod-churn-customers")
    assert found["OnlineStoreConfig"] == online
    assert found["Description"] == "customers"
    assert found["OfflineStoreConfig"]["DataCatalogConfig"] == catalog
    summaries = sm.list_feature_groups(NameContains="churn")["FeatureGroupSummaries"]
    assert [g["FeatureGroupName"] for g in summaries] == ["mlops-prod-churn-customers"]
    assert sm.list_feature_groups(NameContains="fraud")["FeatureGroupSummaries"] == []


def test_reapply_is_idempotent_and_updates_changed_inputs(moto_backend, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for part in ("stacks", "pipelines"):
        shutil.copytree(ROOT / part, root / part)
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    first = apply_stack(root, "dev")
    keys = client("kms").list_keys()["Keys"]
    stack_file = root / "stacks" / "Pulumi.dev.yaml"
    text = stack_file.read_text()
    assert "mlops:noncurrentVersionExpiryDays: 7" in text
    stack_file.write_text(text.replace("mlops:noncurrentVersionExpiryDays: 7",
                                       "mlops:noncurrentVersionExpiryDays: 11"))
    second = apply_stack(root, "dev")
    assert {o.status for o in second.outcomes} == {APPLIED}
    assert len(second.outcomes) == len(first.outcomes)
    assert client("kms").list_keys()["Keys"] == keys
    assert len(client("s3").list_buckets()["Buckets"]) == 5
    assert len(client("sns").list_subscriptions()["Subscriptions"]) == 1
    assert second.plan.outputs == first.plan.outputs
    bucket = first.plan.outputs["buckets"]["raw-data"]
    rule = client("s3").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 11


def test_objects_can_be_written_as_the_bucket_policy_requires(dev) -> None:
    bucket, key_arn = dev.plan.outputs["buckets"]["model-artifacts"], dev.plan.outputs["keyArn"]
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key="m/model.tar.gz", Body=b"x", ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=key_arn)
    head = s3.head_object(Bucket=bucket, Key="m/model.tar.gz")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_arn
