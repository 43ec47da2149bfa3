"""Retraining rules: dead-letter queues, pipeline-starting event targets, Model Monitor jobs and
schedules, drift alarms."""

from __future__ import annotations

import pytest

from common import tokens
from mlops.policy.config import enforcement_level, load_policy_config
from policies.rules import get_rule
from tests.conftest import ROOT
from tests.policies.helpers import ACCOUNT, KEY_ARN, UNKNOWN, doc, res, unknowns, violations

QUEUE = tokens.SQS_QUEUE
QUEUE_POLICY = tokens.SQS_QUEUE_POLICY
TARGET = tokens.EVENT_TARGET
PIPELINE = tokens.SAGEMAKER_PIPELINE
DQ = tokens.SAGEMAKER_DATA_QUALITY_JOB_DEFINITION
SCHEDULE = tokens.SAGEMAKER_MONITORING_SCHEDULE
ALARM = tokens.METRIC_ALARM

QUEUE_ARN = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:mlops-prod-churn-retrain-dlq"
QUEUE_URL = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/mlops-prod-churn-retrain-dlq"
PIPELINE_ARN = f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:pipeline/mlops-prod-churn-training"
RULE_ARN = f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/mlops-prod-churn-drift"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/mlops-prod-events-start-pipeline"


# --- SQS --------------------------------------------------------------------------------------

def queue(**props):
    return res(QUEUE, "dlq", {"name": "mlops-prod-churn-retrain-dlq", "kmsMasterKeyId": KEY_ARN,
                              "kmsDataKeyReusePeriodSeconds": 300,
                              "messageRetentionSeconds": 1209600} | props)


def test_sqs_kms():
    assert violations("sqs-kms", [queue()]) == []
    assert violations("sqs-kms", [queue(kmsMasterKeyId=None)]) == [
        "dlq: kmsMasterKeyId is not set (queue is not encrypted with a CMK)"]
    managed = queue(kmsMasterKeyId=None, sqsManagedSseEnabled=True)
    assert violations("sqs-kms", [managed]) == [
        "dlq: kmsMasterKeyId is not set (SQS-managed SSE, not a customer-managed key)"]
    assert violations("sqs-kms", [queue(kmsMasterKeyId="alias/aws/sqs")]) == [
        "dlq: kmsMasterKeyId is the AWS-managed key alias/aws/sqs, not a customer key"]


def test_sqs_kms_unknown_key():
    assert unknowns("sqs-kms", [queue(kmsMasterKeyId=UNKNOWN)]) != []
    assert violations("sqs-kms", [queue(kmsMasterKeyId=UNKNOWN)]) == []


SEND_FROM_RULE = {"Sid": "EventsSend", "Effect": "Allow",
                  "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                  "Resource": QUEUE_ARN, "Condition": {"ArnEquals": {"aws:SourceArn": [RULE_ARN]}}}


def queue_policy(*statements):
    return res(QUEUE_POLICY, "dlq-policy", {"queueUrl": QUEUE_URL, "policy": doc(*statements)})


def test_sqs_no_public_policy():
    assert violations("sqs-no-public-policy", [queue_policy(SEND_FROM_RULE)]) == []
    public = {"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
              "Resource": QUEUE_ARN}
    assert violations("sqs-no-public-policy", [queue_policy(SEND_FROM_RULE, public)]) == [
        "dlq-policy: queue policy statement Anyone is open to everyone"]
    everything = SEND_FROM_RULE | {"Sid": "All", "Action": ["sqs:*"]}
    assert violations("sqs-no-public-policy", [queue_policy(everything)]) == [
        "dlq-policy: queue policy statement All allows every SQS action"]
    # the policy inline on the queue is judged too
    assert violations("sqs-no-public-policy", [queue(policy=doc(public))]) == [
        "dlq: queue policy statement Anyone is open to everyone"]
    assert violations("sqs-no-public-policy", [queue()]) == []


# --- EventBridge targets that start pipelines -------------------------------------------------

def pipeline():
    return res(PIPELINE, "training", {"pipelineName": "mlops-prod-churn-training",
                                      "arn": PIPELINE_ARN})


def target(deps=None, **props):
    base = {"rule": "mlops-prod-churn-drift", "arn": PIPELINE_ARN, "roleArn": ROLE_ARN,
            "sagemakerPipelineTarget": {"pipelineParameterLists": [
                {"name": "TriggeredBy", "value": "drift"}]},
            "retryPolicy": {"maximumRetryAttempts": 4, "maximumEventAgeInSeconds": 3600},
            "deadLetterConfig": {"arn": QUEUE_ARN}}
    return res(TARGET, "drift-start-training",
               {k: v for k, v in (base | props).items() if v is not None}, deps=deps)


def test_event_target_pipeline_dlq_passes_with_role_retry_and_queue():
    dlq, training = queue(), pipeline()
    joined = target(deps={"arn": [training], "deadLetterConfig": [dlq]})
    assert violations("event-target-pipeline-dlq", [training, dlq, joined]) == []
    assert violations("event-target-pipeline-dlq", [target()]) == []  # literal ARNs


def test_event_target_pipeline_dlq_fails_without_them():
    bare = target(roleArn=None, retryPolicy=None, deadLetterConfig=None)
    assert violations("event-target-pipeline-dlq", [pipeline(), bare]) == [
        "drift-start-training: roleArn is not set (EventBridge needs a role to start the "
        "pipeline)",
        "drift-start-training: retryPolicy is not set",
        "drift-start-training: deadLetterConfig.arn is not set (failed starts are dropped)",
    ]
    half = target(retryPolicy={"maximumRetryAttempts": 4},
                  deadLetterConfig={"arn": "arn:aws:sns:eu-west-1:123456789012:alerts"})
    assert violations("event-target-pipeline-dlq", [half]) == [
        "drift-start-training: retryPolicy.maximumEventAgeInSeconds is not set",
        "drift-start-training: deadLetterConfig.arn arn:aws:sns:eu-west-1:123456789012:alerts "
        "is not an SQS queue",
    ]


def test_event_target_pipeline_dlq_finds_the_pipeline_by_dependency_only():
    training = pipeline()
    # no sagemakerPipelineTarget, an ARN known only at deploy: the dependency says "pipeline"
    hidden = target(deps={"arn": [training]}, arn=UNKNOWN, sagemakerPipelineTarget=None,
                    deadLetterConfig=None)
    assert violations("event-target-pipeline-dlq", [training, hidden]) == [
        "drift-start-training: deadLetterConfig.arn is not set (failed starts are dropped)"]
    # a target that notifies a topic is not this rule's business
    topic = res(TARGET, "to-alerts", {"rule": "r", "arn": "arn:aws:sns:eu-west-1:1:alerts"})
    assert violations("event-target-pipeline-dlq", [topic]) == []
    unknown = res(TARGET, "somewhere", {"rule": "r", "arn": UNKNOWN})
    assert unknowns("event-target-pipeline-dlq", [unknown]) != []


# --- Model Monitor ----------------------------------------------------------------------------

def job_definition(network=None, output=None, cluster=None):
    return res(DQ, "churn-data-quality", {
        "name": "mlops-prod-churn-data-quality",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/mlops-prod-sagemaker-execution",
        "dataQualityAppSpecification": {"imageUri": "123.dkr.ecr.eu-west-1.amazonaws.com/m:1"},
        "dataQualityJobInput": {"endpointInput": {"endpointName": "mlops-prod-churn"}},
        "networkConfig": {"enableNetworkIsolation": True,
                          "enableInterContainerTrafficEncryption": True} | (network or {}),
        "dataQualityJobOutputConfig": {"kmsKeyId": KEY_ARN, "monitoringOutputs": {
            "s3Output": {"s3Uri": "s3://mlops-prod-artifacts/monitoring/churn"}}} | (output or {}),
        "jobResources": {"clusterConfig": {"instanceType": "ml.m5.xlarge", "instanceCount": 1,
                                           "volumeSizeInGb": 20, "volumeKmsKeyId": KEY_ARN}
                         | (cluster or {})},
        "stoppingCondition": {"maxRuntimeInSeconds": 3600},
    })


def schedule(inline=None):
    config = {"monitoringType": "DataQuality",
              "scheduleConfig": {"scheduleExpression": "cron(0 * ? * * *)"}}
    if inline is None:
        config["monitoringJobDefinitionName"] = "mlops-prod-churn-data-quality"
    else:
        config["monitoringJobDefinition"] = inline
    return res(SCHEDULE, "churn-schedule", {"name": "mlops-prod-churn-data-quality",
                                            "monitoringScheduleConfig": config})


def inline(network=None, output=None, cluster=None):
    return {"roleArn": "r", "monitoringAppSpecification": {"imageUri": "i"},
            "monitoringInputs": {"endpointInput": {"endpointName": "e", "localPath": "/in"}},
            "networkConfig": {"enableNetworkIsolation": True,
                              "enableInterContainerTrafficEncryption": True} | (network or {}),
            "monitoringOutputConfig": {"kmsKeyId": KEY_ARN} | (output or {}),
            "monitoringResources": {"clusterConfig": {"volumeKmsKeyId": KEY_ARN}
                                    | (cluster or {})}}


INLINE = "monitoringScheduleConfig.monitoringJobDefinition"


@pytest.mark.parametrize(("rule", "broken", "message"), [
    ("monitor-job-network-isolation", {"network": {"enableNetworkIsolation": False}},
     "networkConfig.enableNetworkIsolation is not true"),
    ("monitor-job-traffic-encryption", {"network": {"enableInterContainerTrafficEncryption": None}},
     "networkConfig.enableInterContainerTrafficEncryption is not true"),
    ("monitor-job-output-kms", {"output": {"kmsKeyId": None}},
     "dataQualityJobOutputConfig.kmsKeyId is not set"),
    ("monitor-job-volume-kms", {"cluster": {"volumeKmsKeyId": ""}},
     "jobResources.clusterConfig.volumeKmsKeyId is not set"),
])
def test_data_quality_job_definition_rules(rule, broken, message):
    assert violations(rule, [job_definition()]) == []
    assert violations(rule, [job_definition(**broken)]) == [f"churn-data-quality: {message}"]


@pytest.mark.parametrize(("rule", "broken", "message"), [
    ("monitor-job-network-isolation", {"network": {"enableNetworkIsolation": "false"}},
     f"{INLINE}.networkConfig.enableNetworkIsolation is not true"),
    ("monitor-job-traffic-encryption", {"network": {"enableInterContainerTrafficEncryption": False}},
     f"{INLINE}.networkConfig.enableInterContainerTrafficEncryption is not true"),
    ("monitor-job-output-kms", {"output": {"kmsKeyId": None}},
     f"{INLINE}.monitoringOutputConfig.kmsKeyId is not set"),
    ("monitor-job-volume-kms", {"cluster": {"volumeKmsKeyId": None}},
     f"{INLINE}.monitoringResources.clusterConfig.volumeKmsKeyId is not set"),
])
def test_monitoring_schedule_inline_definition_rules(rule, broken, message):
    assert violations(rule, [schedule(inline())]) == []
    assert violations(rule, [schedule(inline(**broken))]) == [f"churn-schedule: {message}"]
    # a schedule naming a job definition: the definition is judged, not the schedule
    assert violations(rule, [schedule()]) == []


def test_monitor_job_without_network_config_fails_both_network_rules():
    bare = job_definition()
    del bare.props["networkConfig"]
    assert violations("monitor-job-network-isolation", [bare]) == [
        "churn-data-quality: networkConfig.enableNetworkIsolation is not true"]
    assert violations("monitor-job-traffic-encryption", [bare]) == [
        "churn-data-quality: networkConfig.enableInterContainerTrafficEncryption is not true"]


def test_monitor_job_output_key_unknown_is_not_a_pass():
    unknown = job_definition(output={"kmsKeyId": UNKNOWN})
    assert violations("monitor-job-output-kms", [unknown]) == []
    assert unknowns("monitor-job-output-kms", [unknown]) != []


# --- drift alarms -----------------------------------------------------------------------------

def alarm(namespace="MLOps/churn/Drift", **props):
    return res(ALARM, "churn-drift", {"name": "mlops-prod-churn-drift", "namespace": namespace,
                                      "metricName": "FeatureDrift", "threshold": 0.2,
                                      "comparisonOperator": "GreaterThanThreshold",
                                      "alarmActions": ["arn:aws:sns:eu-west-1:1:t"]} | props)


def test_drift_alarm_debounce_passes_m_of_n():
    assert violations("drift-alarm-debounce", [alarm(datapointsToAlarm=2,
                                                     evaluationPeriods=3)]) == []
    assert violations("drift-alarm-debounce", [alarm(datapointsToAlarm=3.0,
                                                     evaluationPeriods=3.0)]) == []


def test_drift_alarm_debounce_fails_a_single_noisy_window():
    assert violations("drift-alarm-debounce", [alarm(datapointsToAlarm=1,
                                                     evaluationPeriods=1)]) == [
        "churn-drift: datapointsToAlarm is 1, below 2: one noisy window starts a retraining"]
    assert violations("drift-alarm-debounce", [alarm(datapointsToAlarm=3,
                                                     evaluationPeriods=2)]) == [
        "churn-drift: evaluationPeriods 2 is below datapointsToAlarm 3"]
    assert violations("drift-alarm-debounce", [alarm(evaluationPeriods=3)]) == [
        "churn-drift: datapointsToAlarm is not set (a drift alarm needs M of N, M >= 2)"]
    assert violations("drift-alarm-debounce", [alarm(datapointsToAlarm=2)]) == [
        "churn-drift: evaluationPeriods is not set"]


def test_drift_alarm_debounce_config_and_scope():
    three = {"minDatapoints": 3}
    assert violations("drift-alarm-debounce", [alarm(datapointsToAlarm=2, evaluationPeriods=3)],
                      three) == [
        "churn-drift: datapointsToAlarm is 2, below 3: one noisy window starts a retraining"]
    # only MLOps/<project>/Drift namespaces, also through metric math
    other = alarm(namespace="AWS/SageMaker", datapointsToAlarm=1, evaluationPeriods=1)
    assert violations("drift-alarm-debounce", [other]) == []
    math = alarm(namespace=None, datapointsToAlarm=1, evaluationPeriods=1, metricQueries=[
        {"id": "m1", "metric": {"namespace": "MLOps/churn/Drift", "metricName": "FeatureDrift",
                                "period": 3600, "stat": "Maximum"}},
        {"id": "e1", "expression": "m1", "returnData": True}])
    assert violations("drift-alarm-debounce", [math]) == [
        "churn-drift: datapointsToAlarm is 1, below 2: one noisy window starts a retraining"]


# --- enforcement per tier -----------------------------------------------------------------

@pytest.mark.parametrize(("rule", "levels"), [
    ("sqs-kms", ("advisory", "mandatory", "mandatory")),
    ("sqs-no-public-policy", ("advisory", "mandatory", "mandatory")),
    ("event-target-pipeline-dlq", ("advisory", "mandatory", "mandatory")),
    ("monitor-job-network-isolation", ("advisory", "mandatory", "mandatory")),
    ("monitor-job-traffic-encryption", ("advisory", "mandatory", "mandatory")),
    ("monitor-job-output-kms", ("advisory", "mandatory", "mandatory")),
    ("monitor-job-volume-kms", ("advisory", "mandatory", "mandatory")),
    ("drift-alarm-debounce", ("advisory", "advisory", "mandatory")),
])
def test_enforcement_per_tier(rule, levels):
    configs = [load_policy_config(ROOT / "policies" / "config" / f"{tier}.json")
               for tier in ("dev", "staging", "prod")]
    assert tuple(enforcement_level(get_rule(rule), c) for c in configs) == levels
