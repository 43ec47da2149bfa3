"""Alerts of an environment: an encrypted SNS topic, SageMaker event rules and a dashboard."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from common import tokens
from infra.naming import Naming

# EventBridge detail types SageMaker emits, and the states worth waking someone for.
EVENT_RULES = {
    "model-package-state": {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
    },
    "pipeline-execution-failed": {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
        "detail": {"currentPipelineExecutionStatus": ["Failed", "Stopped"]},
    },
}


@dataclass(frozen=True)
class MonitoringArgs:
    naming: Naming
    key_arn: pulumi.Input[str]
    emails: list[str] = field(default_factory=list)
    https_endpoints: list[str] = field(default_factory=list)
    dashboard: bool = True


def topic_policy(naming: Naming, topic_arn: str) -> dict:
    """EventBridge and CloudWatch of this account may publish; nobody else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountManagesTopic",
                "Effect": "Allow",
                "Principal": {"AWS": naming.account_root},
                "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes",
                           "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish"],
                "Resource": topic_arn,
                # Same access as the bare principal; explicit so no reader (or scanner) has to
                # know that the root principal cannot be another account.
                "Condition": {"StringEquals": {"aws:PrincipalAccount": naming.account_id}},
            },
            {
                "Sid": "EventsAndAlarmsOfThisAccountPublish",
                "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com"]},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": naming.account_id}},
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def dashboard_body(naming: Naming) -> dict:
    """Pipeline execution outcomes and registry activity of the environment at a glance."""
    region = naming.region
    return {
        "widgets": [
            {
                "type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
                "properties": {
                    "title": f"{naming.stem}: pipeline executions",
                    "region": region,
                    "stat": "Sum",
                    "period": 3600,
                    "metrics": [
                        ["AWS/Sagemaker/ModelBuildingPipeline", "ExecutionSucceeded"],
                        [".", "ExecutionFailed"],
                        [".", "ExecutionStopped"],
                    ],
                },
            },
            {
                "type": "metric", "x": 12, "y": 0, "width": 12, "height": 6,
                "properties": {
                    "title": f"{naming.stem}: alert events",
                    "region": region,
                    "stat": "Sum",
                    "period": 3600,
                    "metrics": [["AWS/Events", "TriggeredRules", "RuleName",
                                 f"{naming.stem}-{rule}"] for rule in EVENT_RULES],
                },
            },
        ]
    }


class Monitoring(pulumi.ComponentResource):
    """The environment's alert topic, its subscriptions, SageMaker event rules, dashboard."""

    topic: aws.sns.Topic

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.MONITORING, name, None, opts)
        naming = args.naming
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            f"{name}-alerts", name=naming.topic, kms_master_key_id=args.key_arn, opts=child
        )
        aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=self.topic.arn,
            policy=pulumi.Output.json_dumps(
                self.topic.arn.apply(lambda arn: topic_policy(naming, arn))
            ),
            opts=child,
        )
        for i, email in enumerate(args.emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{i}", topic=self.topic.arn, protocol="email", endpoint=email,
                opts=child,
            )
        for i, url in enumerate(args.https_endpoints):
            aws.sns.TopicSubscription(
                f"{name}-https-{i}", topic=self.topic.arn, protocol="https", endpoint=url,
                opts=child,
            )
        self.rules: dict[str, aws.cloudwatch.EventRule] = {}
        for rule, pattern in EVENT_RULES.items():
            event_rule = aws.cloudwatch.EventRule(
                f"{name}-{rule}",
                name=f"{naming.stem}-{rule}",
                description=f"SageMaker {rule.replace('-', ' ')} events of {naming.stem}",
                event_pattern=json.dumps(pattern),
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{rule}-to-alerts", rule=event_rule.name, arn=self.topic.arn, opts=child
            )
            self.rules[rule] = event_rule
        if args.dashboard:
            aws.cloudwatch.Dashboard(
                f"{name}-dashboard",
                dashboard_name=naming.stem,
                dashboard_body=json.dumps(dashboard_body(naming)),
                opts=child,
            )
        self.register_outputs({"topicArn": self.topic.arn})
