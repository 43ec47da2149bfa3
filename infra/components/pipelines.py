"""SageMaker pipelines of the projects: definition, code, schedule, failure alarm, dashboard.

Per environment: the platform's shared step code (``infra/drift/code``, see
:mod:`infra.projects.platform_code`) uploaded once, KMS-encrypted and content-addressed, to the
workspace bucket; every pipeline depends on it. Per project: the step code uploaded
(KMS-encrypted, content-addressed) to the workspace bucket; an ``aws.sagemaker.Pipeline`` with
the definition rendered by the SageMaker SDK and the platform role; an EventBridge Scheduler
schedule with its own role (only StartPipelineExecution on that pipeline) when the project has
one; a CloudWatch alarm on failed executions routed to the environment topic. One dashboard
shows every project's executions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from common import tokens
from infra.naming import Naming
from infra.projects.platform_code import platform_code_files
from infra.projects.stack import ProjectPipeline
from infra.projects.triggers import TRIGGER_SOURCE

PIPELINE_METRICS = "AWS/Sagemaker/ModelBuildingPipeline"


@dataclass(frozen=True)
class PipelinesArgs:
    naming: Naming
    pipelines: list[ProjectPipeline]
    role_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    topic_arn: pulumi.Input[str]
    workspace_bucket: pulumi.Input[str]
    dashboard: bool = True
    depends_on: list[pulumi.Resource] = field(default_factory=list)


def scheduler_trust_policy(naming: Naming) -> dict:
    """EventBridge Scheduler may assume the role, only for schedules of this account."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "SchedulerAssumesForThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": naming.account_id}},
        }],
    }


def scheduler_policy(pipeline_arn: str, key_arn: str) -> dict:
    """Start executions of one pipeline, and decrypt the schedule's payload; nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "StartThisPipeline",
                "Effect": "Allow",
                "Action": ["sagemaker:StartPipelineExecution"],
                "Resource": [pipeline_arn],
            },
            {
                # The schedule is encrypted with the environment key; Scheduler decrypts it
                # with the execution role's permissions when it fires.
                "Sid": "DecryptSchedule",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [key_arn],
            },
        ],
    }


def scheduler_role(resource_name: str, pipeline_name: str, pipeline_arn: pulumi.Input[str],
                   key_arn: pulumi.Input[str], naming: Naming, tags: dict[str, str],
                   parent: pulumi.Resource) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """The role an EventBridge Scheduler schedule of ``pipeline_name`` assumes, and its inline
    policy (start that pipeline, decrypt the payload); the schedule depends on the policy."""
    role = aws.iam.Role(
        f"{resource_name}-scheduler",
        name=f"{pipeline_name}-scheduler",
        description=f"EventBridge Scheduler starts {pipeline_name}",
        assume_role_policy=pulumi.Output.json_dumps(scheduler_trust_policy(naming)),
        max_session_duration=3600,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    policy = aws.iam.RolePolicy(
        f"{resource_name}-scheduler-policy",
        name="start-pipeline-execution",
        role=role.id,
        policy=pulumi.Output.json_dumps(
            pulumi.Output.all(pipeline_arn, key_arn).apply(lambda arns: scheduler_policy(*arns))),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return role, policy


def dashboard_body(naming: Naming, names: list[str]) -> dict:
    """Executions (succeeded / failed / stopped) per project pipeline."""
    widgets = []
    for i, name in enumerate(names):
        widgets.append({
            "type": "metric", "x": (i % 2) * 12, "y": (i // 2) * 6, "width": 12, "height": 6,
            "properties": {
                "title": f"{name}: executions",
                "region": naming.region,
                "stat": "Sum",
                "period": 3600,
                "metrics": [
                    [PIPELINE_METRICS, metric, "PipelineName", name]
                    for metric in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionStopped")
                ],
            },
        })
    return {"widgets": widgets}


class Pipelines(pulumi.ComponentResource):
    """Every project's pipeline, schedule and alarm, keyed by project name."""

    pipelines: dict[str, aws.sagemaker.Pipeline]
    schedules: dict[str, aws.scheduler.Schedule]
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    platform_code: list[aws.s3.BucketObjectv2]

    def __init__(
        self, name: str, args: PipelinesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.PIPELINES, name, None, opts)
        naming = args.naming
        child = pulumi.ResourceOptions(parent=self)
        self.pipelines, self.schedules, self.alarms = {}, {}, {}
        self.platform_code = self._platform_code(name, args) if args.pipelines else []
        for item in args.pipelines:
            project, ctx, m = item.project, item.context, item.project.manifest
            tags = {"mlops:project": project.name, "mlops:owner": m.owner}
            prefix = ctx.code_uri.split("/", 3)[3]  # key prefix below the bucket
            code = [
                aws.s3.BucketObjectv2(
                    f"{name}-{project.name}-code-{path.relative_to(project.path / 'code').as_posix()}",
                    bucket=args.workspace_bucket,
                    key=f"{prefix}/{path.relative_to(project.path / 'code').as_posix()}",
                    content=path.read_text(encoding="utf-8"),  # step code is text
                    content_type="text/plain",
                    server_side_encryption="aws:kms",
                    kms_key_id=args.key_arn,
                    tags=tags,
                    opts=child,
                )
                for path in project.code_files
            ]
            pipeline = aws.sagemaker.Pipeline(
                f"{name}-{project.name}",
                pipeline_name=ctx.pipeline_name,
                pipeline_display_name=ctx.pipeline_name,
                pipeline_description=(m.pipeline.description or m.description)[:3072] or None,
                # Rendered and checked with the key's alias ARN (known before deployment);
                # deployed with the key's ARN, the form every SageMaker KMS field accepts.
                pipeline_definition=pulumi.Output.from_input(args.key_arn).apply(
                    item.deployed_definition),
                role_arn=args.role_arn,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, *self.platform_code,
                                                              *code]),
            )
            self.pipelines[project.name] = pipeline
            if m.pipeline.schedule:
                self.schedules[project.name] = self._schedule(name, args, item, pipeline, tags)
            if m.alarms.enabled:
                self.alarms[project.name] = aws.cloudwatch.MetricAlarm(
                    f"{name}-{project.name}-failures",
                    name=f"{ctx.pipeline_name}-execution-failed",
                    alarm_description=f"Executions of pipeline {ctx.pipeline_name} failed "
                                      f"(owner {m.owner})",
                    namespace=PIPELINE_METRICS,
                    metric_name="ExecutionFailed",
                    dimensions={"PipelineName": ctx.pipeline_name},
                    statistic="Sum",
                    period=m.alarms.period_seconds,
                    evaluation_periods=m.alarms.evaluation_periods,
                    threshold=m.alarms.threshold,
                    comparison_operator="GreaterThanOrEqualToThreshold",
                    treat_missing_data="notBreaching",
                    alarm_actions=[args.topic_arn],
                    ok_actions=[args.topic_arn],
                    tags=tags,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[pipeline]),
                )
        if args.dashboard and args.pipelines:
            aws.cloudwatch.Dashboard(
                f"{name}-dashboard",
                dashboard_name=f"{naming.stem}-pipelines",
                dashboard_body=json.dumps(dashboard_body(
                    naming, [p.context.pipeline_name for p in args.pipelines])),
                opts=child,
            )
        self.register_outputs({p: pl.pipeline_name for p, pl in self.pipelines.items()})

    def _platform_code(self, name: str, args: PipelinesArgs) -> list[aws.s3.BucketObjectv2]:
        """The platform's shared step code at the prefix every context names (one per stack)."""
        shared = platform_code_files()
        prefix = args.pipelines[0].context.platform_code_uri.split("/", 3)[3]
        return [
            aws.s3.BucketObjectv2(
                f"{name}-platform-code-{shared.relative(path)}",
                bucket=args.workspace_bucket,
                key=f"{prefix}/{shared.relative(path)}",
                content=path.read_text(encoding="utf-8"),  # step code is text
                content_type="text/plain",
                server_side_encryption="aws:kms",
                kms_key_id=args.key_arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for path in shared.files
        ]

    def _schedule(
        self, name: str, args: PipelinesArgs, item: ProjectPipeline,
        pipeline: aws.sagemaker.Pipeline, tags: dict[str, str],
    ) -> aws.scheduler.Schedule:
        ctx, m = item.context, item.project.manifest
        role, policy = scheduler_role(f"{name}-{item.project.name}", ctx.pipeline_name,
                                      pipeline.arn, args.key_arn, args.naming, tags, self)
        return aws.scheduler.Schedule(
            f"{name}-{item.project.name}-schedule",
            name=ctx.pipeline_name,
            description=f"Runs {ctx.pipeline_name} on {m.pipeline.schedule}",
            schedule_expression=m.pipeline.schedule,
            schedule_expression_timezone="UTC",
            kms_key_arn=args.key_arn,
            flexible_time_window={"mode": "OFF"},
            state="ENABLED",
            target=aws.scheduler.ScheduleTargetArgs(
                arn=pipeline.arn,
                role_arn=role.arn,
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=2, maximum_event_age_in_seconds=3600),
                # A monitored project's pipeline has the platform's trigger parameters (and
                # only it: SageMaker refuses a parameter the pipeline does not declare).
                sagemaker_pipeline_parameters=None if m.monitoring is None else
                aws.scheduler.ScheduleTargetSagemakerPipelineParametersArgs(pipeline_parameters=[
                    aws.scheduler.ScheduleTargetSagemakerPipelineParametersPipelineParameterArgs(
                        name=TRIGGER_SOURCE, value="schedule")]),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
