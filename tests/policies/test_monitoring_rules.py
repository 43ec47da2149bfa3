"""Monitoring and events rules, including the stack policies that join a pipeline or an
endpoint to its alarms and a rule to its targets."""

from __future__ import annotations

import json

import pytest

from common import tokens
from tests.policies.helpers import ACCOUNT, KEY_ARN, UNKNOWN, doc, res, unknowns, violations

TOPIC = tokens.SNS_TOPIC
TOPIC_POLICY = tokens.SNS_TOPIC_POLICY
ALARM = tokens.METRIC_ALARM
RULE = tokens.EVENT_RULE
TARGET = tokens.EVENT_TARGET
LOG_GROUP = tokens.LOG_GROUP
SCHEDULE = tokens.SCHEDULE
PIPELINE = tokens.SAGEMAKER_PIPELINE
ENDPOINT = tokens.SAGEMAKER_ENDPOINT
TOPIC_ARN = f"arn:aws:sns:eu-west-1:{ACCOUNT}:mlops-prod-alerts"


def topic(**props):
    return res(TOPIC, "alerts", {"name": "mlops-prod-alerts", "kmsMasterKeyId": KEY_ARN} | props)


def test_sns_kms():
    assert violations("sns-kms", [topic()]) == []
    assert violations("sns-kms", [topic(kmsMasterKeyId=None)]) == [
        "alerts: kmsMasterKeyId is not set (topic is not encrypted)"]
    # any key encrypts at rest; whether publishers can use it is sns-key-usable's question
    assert violations("sns-kms", [topic(kmsMasterKeyId="alias/aws/sns")]) == []


def test_sns_no_public_policy():
    scoped = doc({"Sid": "Events", "Effect": "Allow", "Principal": "*", "Action": "sns:Publish",
                  "Resource": TOPIC_ARN,
                  "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}})
    public = doc({"Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": "*"},
                  "Action": "sns:Subscribe", "Resource": TOPIC_ARN})
    assert violations("sns-no-public-policy",
                      [res(TOPIC_POLICY, "tp", {"arn": TOPIC_ARN, "policy": scoped})]) == []
    assert violations("sns-no-public-policy",
                      [res(TOPIC_POLICY, "tp", {"arn": TOPIC_ARN, "policy": public})]) == [
        "tp: topic policy statement Anyone is open to everyone"]
    assert violations("sns-no-public-policy", [topic(policy=public)]) == [
        "alerts: topic policy statement Anyone is open to everyone"]


@pytest.mark.parametrize(("principal", "condition", "open_"), [
    ({"AWS": "arn:aws:iam::*:role/sns"}, None, True),  # every account's role
    ({"AWS": ["arn:aws:iam::123456789101:role/sns", "*"]}, None, True),
    ("arn:aws:iam::123456789101:role/sns", None, False),
    ("*", {"Bool": {"aws:SecureTransport": "true"}}, True),  # not a limiting condition
    ("*", {"StringNotEquals": {"aws:SourceAccount": ACCOUNT}}, True),  # negated: no limit
    ("*", {"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:*:alarm:*"}}, True),
    ("*", {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:*"}},
     False),
    ("*", {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, True),
    ("*", {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}, False),
])
def test_sns_public_policy_shapes(principal, condition, open_):
    stmt = {"Effect": "Allow", "Principal": principal, "Action": "sns:Publish",
            "Resource": TOPIC_ARN}
    if condition:
        stmt["Condition"] = condition
    found = violations("sns-no-public-policy", [res(TOPIC_POLICY, "tp", {"policy": doc(stmt)})])
    assert bool(found) is open_


def test_sns_subscription_encrypted():
    sub = tokens.SNS_TOPIC_SUBSCRIPTION
    email = res(sub, "s", {"topic": TOPIC_ARN, "protocol": "email", "endpoint": "a@example.com"})
    https = res(sub, "s", {"topic": TOPIC_ARN, "protocol": "https",
                           "endpoint": "https://hooks.example.com/x"})
    http = res(sub, "s", {"topic": TOPIC_ARN, "protocol": "http",
                          "endpoint": "http://hooks.example.com/x"})
    assert violations("sns-subscription-encrypted", [email, https]) == []
    assert violations("sns-subscription-encrypted", [http]) == [
        "s: delivers to http://hooks.example.com/x over plain HTTP"]


def alarm(name="a", deps=None, **props):
    base = {"name": name, "comparisonOperator": "GreaterThanThreshold", "evaluationPeriods": 1,
            "alarmActions": [TOPIC_ARN]}
    return res(ALARM, name, base | props, deps=deps)


def test_alarm_has_actions():
    assert violations("alarm-has-actions", [alarm()]) == []
    assert violations("alarm-has-actions", [alarm(alarmActions=[])]) == [
        "a: alarmActions is empty"]
    assert violations("alarm-has-actions", [alarm(actionsEnabled=False)]) == [
        "a: actionsEnabled is false"]


def pipeline(name="mlops-prod-churn"):
    return res(PIPELINE, "churn-pipeline", {"pipelineName": name, "roleArn": "r"})


def failed_rule(pattern=None):
    pattern = pattern or {"source": ["aws.sagemaker"], "detail-type": [
        "SageMaker Model Building Pipeline Execution Status Change"],
        "detail": {"currentPipelineExecutionStatus": ["Failed", "Stopped"]}}
    return res(RULE, "failed", {"name": "mlops-prod-failed", "eventPattern": json.dumps(pattern)})


def target(rule, t, **props):
    return res(TARGET, "failed-to-alerts", {"rule": rule.props["name"], "arn": TOPIC_ARN} | props,
               deps={"rule": [rule], "arn": [t]})


def test_every_pipeline_alarmed_by_event_rule():
    t, p, rule = topic(), pipeline(), failed_rule()
    assert violations("every-pipeline-alarmed", [t, p, rule, target(rule, t)]) == []


def test_every_pipeline_alarmed_by_metric_alarm():
    t, p = topic(), pipeline()
    a = alarm("churn-failed", deps={"dimensions": [p], "alarmActions": [t]},
              namespace="AWS/Sagemaker/ModelBuildingPipeline", metricName="ExecutionFailed",
              dimensions={"PipelineName": p.props["pipelineName"]})
    assert violations("every-pipeline-alarmed", [t, p, a]) == []


def test_every_pipeline_alarmed_catches_missing_companion():
    t, p, rule = topic(), pipeline(), failed_rule()
    expected = ["churn-pipeline: no failure alarm or failed-execution event rule routed to an "
                "SNS topic"]
    assert violations("every-pipeline-alarmed", [t, p]) == expected
    # a rule without a target routes nowhere
    assert violations("every-pipeline-alarmed", [t, p, rule]) == expected
    # a rule for another pipeline does not cover this one
    other = failed_rule({"source": ["aws.sagemaker"], "detail-type": [
        "SageMaker Model Building Pipeline Execution Status Change"], "detail": {
        "pipelineArn": ["arn:aws:sagemaker:eu-west-1:1:pipeline/mlops-prod-fraud"]}})
    assert violations("every-pipeline-alarmed", [t, p, other, target(other, t)]) == expected


def endpoint():
    return res(ENDPOINT, "churn-endpoint", {"name": "mlops-prod-churn", "endpointConfigName": "c"})


def test_every_endpoint_alarmed():
    e = endpoint()
    errors = alarm("5xx", deps={"dimensions": [e]}, metricName="Invocation5XXErrors",
                   dimensions={"EndpointName": "mlops-prod-churn", "VariantName": "main"})
    latency = alarm("latency", metricName="ModelLatency",
                    dimensions={"EndpointName": "mlops-prod-churn"})  # joined by value
    assert violations("every-endpoint-alarmed", [e, errors, latency]) == []
    assert violations("every-endpoint-alarmed", [e, errors]) == [
        "churn-endpoint: no ModelLatency alarm"]
    assert violations("every-endpoint-alarmed", [e]) == [
        "churn-endpoint: no Invocation5XXErrors alarm", "churn-endpoint: no ModelLatency alarm"]


def test_log_group_retention_kms():
    good = res(LOG_GROUP, "lg", {"retentionInDays": 365, "kmsKeyId": KEY_ARN})
    assert violations("log-group-retention-kms", [good]) == []
    assert violations("log-group-retention-kms", [res(LOG_GROUP, "lg", {})]) == [
        "lg: retentionInDays is not set",
        "lg: kmsKeyId is not set",
    ]
    forever = res(LOG_GROUP, "lg", {"retentionInDays": 0, "kmsKeyId": KEY_ARN})
    assert violations("log-group-retention-kms", [forever]) == []  # 0: never expires
    short = res(LOG_GROUP, "lg", {"retentionInDays": 30, "kmsKeyId": KEY_ARN})
    assert violations("log-group-retention-kms", [short]) == [
        "lg: retentionInDays is 30, below 365"]
    assert violations("log-group-retention-kms", [short], {"minRetentionDays": 30}) == []


def test_event_targets_known():
    t, rule = topic(), failed_rule()
    assert violations("event-targets-known", [t, rule, target(rule, t)]) == []
    foreign = res(TARGET, "x", {"rule": "mlops-prod-failed",
                                "arn": "arn:aws:sns:eu-west-1:999999999999:attacker"})
    assert violations("event-targets-known", [t, rule, foreign]) == [
        "x: target arn:aws:sns:eu-west-1:999999999999:attacker is not a resource of this stack"]
    by_name = res(TARGET, "y", {"rule": "mlops-prod-failed", "arn": TOPIC_ARN})
    assert violations("event-targets-known", [t, rule, by_name]) == []
    assert unknowns("event-targets-known", [t, rule, res(TARGET, "z", {"arn": UNKNOWN})]) == [
        "value at z.arn is not known until deploy"]


def schedule(target_props, deps=None, **props):
    base = {"scheduleExpression": "cron(0 3 * * ? *)", "kmsKeyArn": KEY_ARN,
            "flexibleTimeWindow": {"mode": "OFF"}, "target": target_props}
    return res(SCHEDULE, "nightly", base | props, deps=deps)


def test_schedule_targets_known():
    p = pipeline()
    universal = {"arn": "arn:aws:scheduler:::aws-sdk:sagemaker:startPipelineExecution",
                 "roleArn": "arn:aws:iam::1:role/r",
                 "input": json.dumps({"PipelineName": "mlops-prod-churn"})}
    assert violations("event-targets-known", [p, schedule(universal)]) == []
    stranger = universal | {"input": json.dumps({"PipelineName": "other"})}
    assert violations("event-targets-known", [p, schedule(stranger)]) == [
        "nightly: universal target arn:aws:scheduler:::aws-sdk:sagemaker:startPipelineExecution "
        "does not address a resource of this stack"]


def test_schedule_kms():
    ok = schedule({"arn": "x", "roleArn": "arn:aws:iam::1:role/r"})
    assert violations("schedule-kms", [ok]) == []
    bad = schedule({"arn": "x"}, kmsKeyArn=None)
    assert violations("schedule-kms", [bad]) == [
        "nightly: kmsKeyArn is not set (payload encrypted with an AWS-owned key)"]


def key_with(services):
    statements = [{"Sid": "Root", "Effect": "Allow",
                   "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                   "Action": ["kms:Decrypt"], "Resource": "*"}]
    if services:
        statements.append({"Sid": "Services", "Effect": "Allow",
                           "Principal": {"Service": services},
                           "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*",
                           "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}})
    return res(tokens.KMS_KEY, "key", {"policy": doc(*statements)})


def encrypted_stack(services):
    key = key_with(services)
    t = res(TOPIC, "alerts", {"name": "mlops-prod-alerts", "kmsMasterKeyId": KEY_ARN},
            deps={"kmsMasterKeyId": [key]})
    publish = res(TOPIC_POLICY, "alerts-policy", {"arn": TOPIC_ARN, "policy": doc({
        "Sid": "Events", "Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com"]},
        "Action": "sns:Publish", "Resource": TOPIC_ARN,
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}})}, deps={"arn": [t]})
    a = alarm("failures", deps={"alarmActions": [t]})
    return [key, t, publish, a]


def test_sns_key_usable():
    both = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
    assert violations("sns-key-usable", encrypted_stack(both)) == []
    assert violations("sns-key-usable", encrypted_stack(["events.amazonaws.com"])) == [
        "alerts: key key does not let cloudwatch.amazonaws.com use it: its messages to this "
        "topic would be dropped"]
    assert len(violations("sns-key-usable", encrypted_stack([]))) == 2
    # a topic whose key is not in the stack is sns-kms's business
    assert violations("sns-key-usable", [topic()]) == []


def test_sns_key_usable_rejects_the_aws_managed_key_for_alarms():
    t = topic(kmsMasterKeyId="alias/aws/sns")
    a = alarm("failures", deps={"alarmActions": [t]})
    assert violations("sns-key-usable", [t, a]) == [
        "alerts: the AWS-managed key alias/aws/sns cannot be used by cloudwatch.amazonaws.com: "
        "its messages to this topic would be dropped"]
    assert violations("sns-key-usable", [t]) == []  # nobody publishes: nothing to drop


def test_known_violation_is_reported_next_to_an_unknown_value():
    a = alarm(alarmActions=UNKNOWN, actionsEnabled=False)
    assert violations("alarm-has-actions", [a]) == ["a: actionsEnabled is false"]
    assert unknowns("alarm-has-actions", [a]) == ["value at alarmActions is not known until deploy"]
