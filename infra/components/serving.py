"""SageMaker endpoints serving the version each stack file pins, rolled out blue/green.

Per served project (:class:`ProjectEndpoint`): an ``aws.sagemaker.Model`` of the pinned model
package (network isolation on, in the stack's VPC when it names one); one endpoint
configuration per version, retained on delete so a rollback always finds its configuration,
with the environment key on its volumes (not on instance types with local NVMe storage, where
AWS refuses one: common/instance_types.py) and data capture to
``s3://<raw-data>/datacapture/<project>/`` encrypted with the key; the endpoint, updated
blue/green with the project's rollout, a bake period and auto-rollback on two alarms whose names
never change (5XX errors, p99 model latency above the SLO); target tracking on invocations per
instance; a no-invocations alarm where the project expects traffic. For the environment: an
EventBridge rule that reports endpoint rollbacks to the alert topic, and a dashboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from common import tokens
from infra.config import Network
from infra.naming import Naming
from infra.projects.serving import ServingPlan

METRICS = "AWS/SageMaker"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
INVOCATIONS_PER_INSTANCE = "SageMakerVariantInvocationsPerInstance"
# The deployment event's EndpointStatus values of a rollback (DescribeEndpoint's RollingBack
# and UpdateRollbackFailed, upper case as the event writes UPDATING).
ROLLBACK_STATUSES = ["ROLLING_BACK", "UPDATE_ROLLBACK_FAILED"]
TRAFFIC_ROUTING = {"all-at-once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}
DEPLOYMENT_TIMEOUT_SECONDS = 14400  # the most a blue/green deployment may take (API maximum)


@dataclass(frozen=True)
class ServingArgs:
    naming: Naming
    plans: list[ServingPlan]
    role_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    topic_arn: pulumi.Input[str]
    capture_bucket: pulumi.Input[str]  # the raw-data bucket
    network: Network | None = None
    dashboard: bool = True
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # project -> tags
    depends_on: list[pulumi.Resource] = field(default_factory=list)


def deployment_config(plan: ServingPlan) -> aws.sagemaker.EndpointDeploymentConfigArgsDict | None:
    """Blue/green with the project's traffic routing, a bake period and the rollback alarms;
    None for serverless variants (deployment guardrails do not apply to them)."""
    if plan.serverless is not None:
        return None
    rollout = plan.rollout
    routing: dict[str, Any] = {"type": TRAFFIC_ROUTING[rollout.mode],
                               "wait_interval_in_seconds": rollout.interval_seconds
                               if rollout.mode != "all-at-once" else 0}
    if rollout.mode == "canary":
        routing["canary_size"] = {"type": "CAPACITY_PERCENT", "value": rollout.size_percent}
    elif rollout.mode == "linear":
        routing["linear_step_size"] = {"type": "CAPACITY_PERCENT", "value": rollout.size_percent}
    return aws.sagemaker.EndpointDeploymentConfigArgsDict(
        blue_green_update_policy={
            "traffic_routing_configuration": routing,  # type: ignore[typeddict-item]
            "termination_wait_in_seconds": rollout.bake_seconds,
            "maximum_execution_timeout_in_seconds": DEPLOYMENT_TIMEOUT_SECONDS,
        },
        auto_rollback_configuration={"alarms": [
            {"alarm_name": plan.alarm_name("5xx")}, {"alarm_name": plan.alarm_name("latency")}]},
    )


def production_variant(plan: ServingPlan
                       ) -> aws.sagemaker.EndpointConfigurationProductionVariantArgsDict:
    variant: aws.sagemaker.EndpointConfigurationProductionVariantArgsDict = {
        "variant_name": plan.variant_name, "model_name": plan.model_name,
        "initial_variant_weight": 1}
    if plan.serverless is not None:
        variant["serverless_config"] = {"memory_size_in_mb": plan.serverless.memory_size_mb,
                                        "max_concurrency": plan.serverless.max_concurrency}
    else:
        variant["initial_instance_count"] = plan.instance_count
        variant["instance_type"] = plan.instance_type
    return variant


def capture_uri(bucket: str, project: str) -> str:
    return f"s3://{bucket}/datacapture/{project}"


def capture_config(plan: ServingPlan, args: ServingArgs
                   ) -> aws.sagemaker.EndpointConfigurationDataCaptureConfigArgsDict:
    """Requests and responses to ``datacapture/<project>`` of the raw-data bucket, sampled by
    the project's percentage and encrypted with the environment key."""
    return aws.sagemaker.EndpointConfigurationDataCaptureConfigArgsDict(
        enable_capture=plan.capture_percent > 0,
        initial_sampling_percentage=plan.capture_percent,
        destination_s3_uri=pulumi.Output.from_input(args.capture_bucket).apply(
            lambda bucket: capture_uri(bucket, plan.project)),
        kms_key_id=args.key_arn,
        capture_options=[{"capture_mode": "Input"}, {"capture_mode": "Output"}],
        capture_content_type_header={"csv_content_types": ["text/csv"],
                                     "json_content_types": ["application/json"]},
    )


def rollback_pattern(endpoints: list[str]) -> dict[str, Any]:
    """Deployment state changes of these endpoints that are rollbacks."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Endpoint Deployment State Change"],
        "detail": {"EndpointName": sorted(endpoints), "EndpointStatus": ROLLBACK_STATUSES},
    }


def dashboard_body(naming: Naming, plans: list[ServingPlan]) -> dict[str, Any]:
    """Invocations, errors and latency per endpoint."""
    widgets = []
    for i, plan in enumerate(plans):
        dims = ["EndpointName", plan.endpoint_name, "VariantName", plan.variant_name]
        for j, (title, metrics, stat) in enumerate((
            ("invocations and errors", ["Invocations", "Invocation4XXErrors",
                                        "Invocation5XXErrors"], "Sum"),
            ("model latency (microseconds)", ["ModelLatency", "OverheadLatency"], "p99"),
        )):
            widgets.append({
                "type": "metric", "x": j * 12, "y": i * 6, "width": 12, "height": 6,
                "properties": {"title": f"{plan.endpoint_name}: {title}", "region": naming.region,
                               "stat": stat, "period": 300,
                               "metrics": [[METRICS, m, *dims] for m in metrics]},
            })
    return {"widgets": widgets}


class ProjectEndpoint(pulumi.ComponentResource):
    """One project's model, endpoint configuration, endpoint, alarms and autoscaling."""

    model: aws.sagemaker.Model
    endpoint_configuration: aws.sagemaker.EndpointConfiguration
    endpoint: aws.sagemaker.Endpoint
    alarms: dict[str, aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, plan: ServingPlan, args: ServingArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.PROJECT_ENDPOINT, name, None, opts)
        tags = args.tags.get(plan.project, {})
        child = pulumi.ResourceOptions(parent=self)
        version = f"v{plan.pinned.version}"
        # Serverless inference supports neither network isolation, a VPC nor data capture
        # (SageMaker's feature exclusions): a dev-tier trade-off the manifest allows nowhere else.
        serverless = plan.serverless is not None
        network = None if serverless else args.network
        self.model = aws.sagemaker.Model(
            f"{name}-model-{version}",
            name=plan.model_name,
            execution_role_arn=args.role_arn,
            primary_container={"model_package_name": plan.pinned.package_arn},
            enable_network_isolation=not serverless,
            vpc_config={"subnets": network.subnet_ids,
                        "security_group_ids": network.security_group_ids} if network else None,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.depends_on),
        )
        self.endpoint_configuration = aws.sagemaker.EndpointConfiguration(
            f"{name}-config-{version}",
            name=plan.model_name,
            kms_key_arn=args.key_arn if plan.volume_key else None,
            production_variants=[production_variant(plan)],
            data_capture_config=None if serverless else capture_config(plan, args),
            tags=tags,
            # A rollback needs the configuration it rolls back to: never delete an old one.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.model],
                                        retain_on_delete=True),
        )
        self.alarms = self._alarms(name, plan, args, tags)
        self.endpoint = aws.sagemaker.Endpoint(
            name,
            name=plan.endpoint_name,
            endpoint_config_name=self.endpoint_configuration.name,
            deployment_config=deployment_config(plan),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.alarms.values())),
        )
        if plan.autoscaling is not None:
            self._autoscaling(name, plan, child)
        self.register_outputs({"endpointName": self.endpoint.name,
                               "modelName": self.model.name})

    def _alarms(self, name: str, plan: ServingPlan, args: ServingArgs,
                tags: dict[str, str]) -> dict[str, aws.cloudwatch.MetricAlarm]:
        dims = {"EndpointName": plan.endpoint_name, "VariantName": plan.variant_name}
        common: dict[str, Any] = dict(namespace=METRICS, dimensions=dims,
                                      alarm_actions=[args.topic_arn], ok_actions=[args.topic_arn],
                                      tags=tags)
        child = pulumi.ResourceOptions(parent=self)
        alarms = {
            "5xx": aws.cloudwatch.MetricAlarm(
                f"{name}-5xx", name=plan.alarm_name("5xx"),
                alarm_description=f"{plan.endpoint_name} answers with 5XX errors (rolls a "
                                  "deployment back)",
                metric_name="Invocation5XXErrors", statistic="Sum", period=60,
                evaluation_periods=2, datapoints_to_alarm=2, threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching", opts=child, **common),
            "latency": aws.cloudwatch.MetricAlarm(
                f"{name}-latency", name=plan.alarm_name("latency"),
                alarm_description=f"{plan.endpoint_name}: p99 model latency above the SLO of "
                                  f"{plan.latency_slo_ms} ms (rolls a deployment back)",
                metric_name="ModelLatency", extended_statistic="p99", period=60,
                evaluation_periods=3, datapoints_to_alarm=2,
                threshold=plan.latency_slo_ms * 1000,  # ModelLatency is in microseconds
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching", opts=child, **common),
        }
        if plan.expects_traffic:
            alarms["no-invocations"] = aws.cloudwatch.MetricAlarm(
                f"{name}-no-invocations", name=plan.alarm_name("no-invocations"),
                alarm_description=f"{plan.endpoint_name} had no invocations for an hour",
                metric_name="Invocations", statistic="Sum", period=3600, evaluation_periods=1,
                threshold=1, comparison_operator="LessThanThreshold",
                treat_missing_data="breaching", opts=child, **common)
        return alarms

    def _autoscaling(self, name: str, plan: ServingPlan, child: pulumi.ResourceOptions) -> None:
        scaling = plan.autoscaling
        assert scaling is not None
        resource_id = self.endpoint.name.apply(
            lambda endpoint: f"endpoint/{endpoint}/variant/{plan.variant_name}")
        target = aws.appautoscaling.Target(
            f"{name}-scaling", service_namespace="sagemaker", resource_id=resource_id,
            scalable_dimension=SCALABLE_DIMENSION, min_capacity=scaling.min,
            max_capacity=scaling.max, opts=child)
        aws.appautoscaling.Policy(
            f"{name}-scaling-policy", name=f"{plan.endpoint_name}-invocations",
            policy_type="TargetTrackingScaling", service_namespace="sagemaker",
            resource_id=target.resource_id, scalable_dimension=target.scalable_dimension,
            target_tracking_scaling_policy_configuration={
                "target_value": scaling.target_invocations_per_instance,
                "predefined_metric_specification": {
                    "predefined_metric_type": INVOCATIONS_PER_INSTANCE},
                "scale_in_cooldown": scaling.scale_in_cooldown_seconds,
                "scale_out_cooldown": scaling.scale_out_cooldown_seconds,
            },
            opts=child)


class Serving(pulumi.ComponentResource):
    """Every served project's endpoint, the rollback notifications and the dashboard."""

    endpoints: dict[str, ProjectEndpoint]

    def __init__(self, name: str, args: ServingArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.SERVING, name, None, opts)
        naming = args.naming
        child = pulumi.ResourceOptions(parent=self)
        self.endpoints = {plan.project: ProjectEndpoint(f"{name}-{plan.project}", plan, args,
                                                        opts=child)
                          for plan in args.plans}
        if args.plans:
            rule = aws.cloudwatch.EventRule(
                f"{name}-rollbacks", name=f"{naming.stem}-endpoint-rollbacks",
                description="A SageMaker deployment rolled an endpoint back",
                event_pattern=json.dumps(rollback_pattern([p.endpoint_name for p in args.plans])),
                opts=child)
            aws.cloudwatch.EventTarget(
                f"{name}-rollbacks-to-alerts", rule=rule.name, arn=args.topic_arn, opts=child)
            if args.dashboard:
                aws.cloudwatch.Dashboard(
                    f"{name}-dashboard", dashboard_name=f"{naming.stem}-serving",
                    dashboard_body=json.dumps(dashboard_body(naming, args.plans)), opts=child)
        self.register_outputs({p: e.endpoint.name for p, e in self.endpoints.items()})
