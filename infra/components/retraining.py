"""Drift checks of the served projects and the triggers that retrain them.

Per monitored project: the platform's drift-check pipeline (rendered with the SageMaker SDK from
``infra/drift/pipeline.py``) on an EventBridge Scheduler schedule; an M-of-N alarm on the
``DriftedFeatures`` metric it publishes; and, with no code in the trigger path, EventBridge rules
that start the project's training pipeline directly: the alarm going to ALARM
(``TriggerSource=drift``) and new objects under the project's raw-data prefix
(``TriggerSource=new-data``). Every target retries and has a dead-letter queue encrypted with the
environment key. The raw-data bucket sends its events to EventBridge once per environment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from common import tokens
from infra.components.pipelines import scheduler_role
from infra.naming import Naming
from infra.projects.monitoring import DRIFT_METRIC, MonitoringPlan

ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"
RETRY = {"maximum_retry_attempts": 4, "maximum_event_age_in_seconds": 3600}
DLQ_RETENTION_SECONDS = 1_209_600  # 14 days, the SQS maximum


@dataclass(frozen=True)
class RetrainingArgs:
    naming: Naming
    plans: list[MonitoringPlan]
    # project -> the drift-check definition for the environment key's ARN
    drift_definitions: dict[str, Callable[[str], str]]
    role_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    topic_arn: pulumi.Input[str]
    raw_data_bucket: pulumi.Input[str]
    training_pipeline_arns: dict[str, pulumi.Input[str]]
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


def events_trust_policy(naming: Naming) -> dict[str, Any]:
    """EventBridge may assume the role, only for rules of this account."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "EventBridgeAssumesForThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": naming.account_id}},
        }],
    }


def start_pipeline_policy(pipeline_arn: str) -> dict[str, Any]:
    """Start executions of the training pipeline; nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "StartTheTrainingPipeline",
            "Effect": "Allow",
            "Action": ["sagemaker:StartPipelineExecution"],
            "Resource": [pipeline_arn],
        }],
    }


def dlq_policy(queue_arn: str, rule_arns: list[str]) -> dict[str, Any]:
    """The project's retraining rules may send undeliverable events; nobody else."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "RetrainingRulesSendUndeliverableEvents",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}},
        }],
    }


def drift_pattern(alarm_arn: str) -> dict[str, Any]:
    """The drift alarm going to ALARM (not back to OK, not INSUFFICIENT_DATA)."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": [ALARM_STATE_CHANGE],
        "resources": [alarm_arn],
        "detail": {"state": {"value": ["ALARM"]}},
    }


def new_data_pattern(bucket: str, prefix: str) -> dict[str, Any]:
    """Objects created under the project's prefix of the raw-data bucket."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [{"prefix": prefix}]}},
    }


def trigger_parameters(source: str, detail: str) -> list[dict[str, str]]:
    """The static pipeline parameters a trigger starts the training pipeline with."""
    return [{"name": "TriggerSource", "value": source}, {"name": "TriggerDetail", "value": detail}]


class ProjectRetraining(pulumi.ComponentResource):
    """One project's drift check, drift alarm and retraining triggers."""

    drift_pipeline: aws.sagemaker.Pipeline
    alarm: aws.cloudwatch.MetricAlarm
    dead_letters: aws.sqs.Queue
    rules: dict[str, aws.cloudwatch.EventRule]

    def __init__(self, name: str, plan: MonitoringPlan, args: RetrainingArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.PROJECT_RETRAINING, name, None, opts)
        naming, tags = args.naming, args.tags.get(plan.project, {})
        child = pulumi.ResourceOptions(parent=self)
        definition = args.drift_definitions[plan.project]
        self.drift_pipeline = aws.sagemaker.Pipeline(
            f"{name}-drift",
            pipeline_name=plan.drift_pipeline,
            pipeline_display_name=plan.drift_pipeline,
            pipeline_description=f"Drift check of {plan.endpoint_name} against the baseline of "
                                 "the version it serves",
            pipeline_definition=pulumi.Output.from_input(args.key_arn).apply(definition),
            role_arn=args.role_arn,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.depends_on),
        )
        self._schedule(name, plan, args, tags)
        self.alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-drift-alarm",
            name=plan.alarm_name,
            alarm_description=(
                f"{plan.project}: drift in {plan.debounce.datapoints} of the last "
                f"{plan.debounce.evaluation_periods} checks of {plan.endpoint_name}"),
            namespace=plan.namespace,
            metric_name=DRIFT_METRIC,
            dimensions={"Project": plan.project},
            statistic="Maximum",
            period=plan.period_seconds,
            evaluation_periods=plan.debounce.evaluation_periods,
            datapoints_to_alarm=plan.debounce.datapoints,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            # A check that did not run is not drift ("not enough data" publishes 0).
            treat_missing_data="notBreaching",
            alarm_actions=[args.topic_arn],
            ok_actions=[args.topic_arn],
            tags=tags,
            opts=child,
        )
        self.dead_letters = aws.sqs.Queue(
            f"{name}-dlq",
            name=f"{plan.training_pipeline}-retrain-dlq",
            kms_master_key_id=args.key_arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            tags=tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-events",
            name=f"{plan.training_pipeline}-retrain",
            description=f"EventBridge starts {plan.training_pipeline} to retrain",
            assume_role_policy=pulumi.Output.json_dumps(events_trust_policy(naming)),
            max_session_duration=3600,
            tags=tags,
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-events-policy",
            name="start-training-pipeline",
            role=role.id,
            policy=pulumi.Output.from_input(args.training_pipeline_arns[plan.project]).apply(
                lambda arn: json.dumps(start_pipeline_policy(arn))),
            opts=child,
        )
        self.rules = {}
        if plan.on_drift:
            self.rules["drift"] = self._trigger(
                name, "drift", plan, args, role, role_policy, tags,
                description=f"{plan.alarm_name} in ALARM starts {plan.training_pipeline}",
                pattern=self.alarm.arn.apply(lambda arn: json.dumps(drift_pattern(arn))),
                detail=plan.alarm_name)
        if plan.on_new_data:
            self.rules["new-data"] = self._trigger(
                name, "new-data", plan, args, role, role_policy, tags,
                description=f"new objects under {plan.new_data_prefix} start "
                            f"{plan.training_pipeline}",
                pattern=pulumi.Output.from_input(args.raw_data_bucket).apply(
                    lambda bucket: json.dumps(new_data_pattern(bucket, plan.new_data_prefix))),
                detail=pulumi.Output.from_input(args.raw_data_bucket).apply(
                    lambda bucket: f"s3://{bucket}/{plan.new_data_prefix}"))
        if self.rules:
            aws.sqs.QueuePolicy(
                f"{name}-dlq-policy",
                queue_url=self.dead_letters.url,
                policy=pulumi.Output.all(self.dead_letters.arn,
                                         *[r.arn for r in self.rules.values()]).apply(
                    lambda arns: json.dumps(dlq_policy(arns[0], list(arns[1:])))),
                opts=child,
            )
        self.register_outputs({"driftPipeline": self.drift_pipeline.pipeline_name,
                               "alarm": self.alarm.name})

    def _schedule(self, name: str, plan: MonitoringPlan, args: RetrainingArgs,
                  tags: dict[str, str]) -> aws.scheduler.Schedule:
        role, policy = scheduler_role(f"{name}-drift", plan.drift_pipeline,
                                      self.drift_pipeline.arn, args.key_arn, args.naming, tags,
                                      self)
        return aws.scheduler.Schedule(
            f"{name}-drift-schedule",
            name=plan.drift_pipeline,
            description=f"Drift check of {plan.endpoint_name} on {plan.schedule}",
            schedule_expression=plan.schedule,
            schedule_expression_timezone="UTC",
            kms_key_arn=args.key_arn,
            flexible_time_window={"mode": "OFF"},
            state="ENABLED",
            target={"arn": self.drift_pipeline.arn, "role_arn": role.arn,
                    "retry_policy": {"maximum_retry_attempts": 2,
                                     "maximum_event_age_in_seconds": 3600}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

    def _trigger(self, name: str, source: str, plan: MonitoringPlan, args: RetrainingArgs,
                 role: aws.iam.Role, role_policy: aws.iam.RolePolicy, tags: dict[str, str], *,
                 description: str, pattern: pulumi.Input[str],
                 detail: pulumi.Input[str]) -> aws.cloudwatch.EventRule:
        rule = aws.cloudwatch.EventRule(
            f"{name}-{source}",
            name=f"{plan.training_pipeline}-retrain-{source}",
            description=description,
            event_pattern=pattern,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-{source}-target",
            rule=rule.name,
            arn=args.training_pipeline_arns[plan.project],
            role_arn=role.arn,
            sagemaker_pipeline_target=pulumi.Output.from_input(detail).apply(
                lambda text: aws.cloudwatch.EventTargetSagemakerPipelineTargetArgs(
                    pipeline_parameter_lists=[
                        aws.cloudwatch.EventTargetSagemakerPipelineTargetPipelineParameterListArgs(
                            **item) for item in trigger_parameters(source, text)])),
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(**RETRY),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(
                arn=self.dead_letters.arn),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        return rule


class Retraining(pulumi.ComponentResource):
    """Every monitored project's drift check and triggers, and the raw-data bucket's events."""

    projects: dict[str, ProjectRetraining]

    def __init__(self, name: str, args: RetrainingArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.RETRAINING, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.projects = {plan.project: ProjectRetraining(f"{name}-{plan.project}", plan, args,
                                                         opts=child)
                         for plan in args.plans}
        if any(plan.on_new_data for plan in args.plans):
            aws.s3.BucketNotification(f"{name}-raw-data-events", bucket=args.raw_data_bucket,
                                      eventbridge=True, opts=child)
        self.register_outputs({p: r.drift_pipeline.pipeline_name
                               for p, r in self.projects.items()})
