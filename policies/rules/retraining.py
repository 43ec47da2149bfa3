"""Drift monitoring and retraining rules: the dead-letter queues of EventBridge targets,
targets that start pipelines, Model Monitor job definitions and schedules, drift alarms."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from common import tokens
from policies.core import (
    Finding,
    Resource,
    Severity,
    allows,
    as_list,
    each,
    get,
    internet_accessible,
    is_unknown,
    iter_findings,
    known,
    of_type,
    policy_document,
    resource_rule,
    stack_rule,
    statements,
    truthy,
)

AWS_MANAGED_SQS_KEY = "alias/aws/sqs"
DRIFT_NAMESPACE_PREFIX = "MLOps/"
DRIFT_NAMESPACE_SUFFIX = "/Drift"

# --- SQS --------------------------------------------------------------------------------------


@resource_rule(
    "sqs-kms", area="retraining", severity=Severity.HIGH, types=[tokens.SQS_QUEUE],
    description="SQS queues (the dead-letter queues of EventBridge targets) are encrypted with a "
                "customer-managed KMS key: kmsMasterKeyId set, not the AWS-managed alias/aws/sqs "
                "and not only SQS-managed SSE (events that could not start a pipeline carry "
                "their payload).",
    remediation="Set kms_master_key_id on the aws.sqs.Queue to the environment key ARN (and let "
                "events.amazonaws.com use that key).",
    references=["CKV_AWS_27", "CKV2_AWS_73"],
)
def sqs_kms(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    key = get(resource.props, "kmsMasterKeyId")
    if not key:
        managed = truthy(get(resource.props, "sqsManagedSseEnabled", False))
        yield ("kmsMasterKeyId is not set (SQS-managed SSE, not a customer-managed key)"
               if managed else "kmsMasterKeyId is not set (queue is not encrypted with a CMK)")
    elif key == AWS_MANAGED_SQS_KEY:
        yield f"kmsMasterKeyId is the AWS-managed key {AWS_MANAGED_SQS_KEY}, not a customer key"


@resource_rule(
    "sqs-no-public-policy", area="retraining", severity=Severity.CRITICAL,
    types=[tokens.SQS_QUEUE, tokens.SQS_QUEUE_POLICY],
    description="Queue policies grant nothing to everyone (no Allow to '*' or every account "
                "without a limiting condition) and no wildcard actions.",
    remediation="Allow only events.amazonaws.com sqs:SendMessage on the queue, with an "
                "aws:SourceArn condition naming the rules whose targets dead-letter to it.",
    references=["CKV_AWS_168", "CKV_AWS_387", "CKV_AWS_72"],
)
def sqs_no_public_policy(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    doc = policy_document(resource.props.get("policy"), "policy")
    for i, stmt in enumerate(statements(doc)):
        sid = stmt.get("Sid") or i
        if internet_accessible(stmt):
            yield f"queue policy statement {sid} is open to everyone"
        if allows(stmt) and any(str(a) in ("*", "sqs:*") for a in as_list(stmt.get("Action"))):
            yield f"queue policy statement {sid} allows every SQS action"


# --- EventBridge targets that start pipelines -------------------------------------------------


def _is_pipeline_arn(value: Any) -> bool:
    parts = value.split(":", 5) if isinstance(value, str) else []
    return len(parts) == 6 and parts[2] == "sagemaker" and parts[5].startswith("pipeline/")


def _starts_pipeline(target: Resource, pipelines: set[str]) -> bool:
    if target.props.get("sagemakerPipelineTarget") is not None:
        return True
    deps = target.property_dependencies.get("arn") or []
    if deps:
        return any(d in pipelines for d in deps)
    return _is_pipeline_arn(known(target.props.get("arn"), f"{target.name}.arn"))


def _is_queue(target: Resource, value: Any, queues: set[str]) -> bool:
    deps = target.property_dependencies.get("deadLetterConfig") or []
    if deps:
        return any(d in queues for d in deps)
    parts = str(known(value, "deadLetterConfig.arn")).split(":")
    return len(parts) >= 6 and parts[2] == "sqs"


@stack_rule(
    "event-target-pipeline-dlq", area="retraining", severity=Severity.HIGH,
    types=[tokens.EVENT_TARGET, tokens.SAGEMAKER_PIPELINE, tokens.SQS_QUEUE],
    description="EventBridge targets that start a SageMaker pipeline run as a role, retry "
                "(retryPolicy with maximumRetryAttempts and maximumEventAgeInSeconds) and send "
                "what they could not deliver to an SQS dead-letter queue: a retraining trigger "
                "is never dropped silently.",
    remediation="Set role_arn, retry_policy (maximum_retry_attempts, "
                "maximum_event_age_in_seconds) and dead_letter_config.arn (the project's "
                "encrypted aws.sqs.Queue) on the aws.cloudwatch.EventTarget.",
)
def event_target_pipeline_dlq(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[Finding]:
    pipelines = {p.urn for p in of_type(resources, tokens.SAGEMAKER_PIPELINE)}
    queues = {q.urn for q in of_type(resources, tokens.SQS_QUEUE)}

    def judge(target: Resource) -> Iterator[str]:
        if not _starts_pipeline(target, pipelines):
            return

        def role() -> Iterator[str]:
            if not get(target.props, "roleArn"):
                yield "roleArn is not set (EventBridge needs a role to start the pipeline)"

        def retry() -> Iterator[str]:
            policy = get(target.props, "retryPolicy")
            if not policy:
                yield "retryPolicy is not set"
                return
            for field in ("maximumRetryAttempts", "maximumEventAgeInSeconds"):
                if get(policy, field) is None:
                    yield f"retryPolicy.{field} is not set"

        def dead_letter() -> Iterator[str]:
            arn = get(target.props, "deadLetterConfig.arn")
            if not arn:
                yield "deadLetterConfig.arn is not set (failed starts are dropped)"
            elif not _is_queue(target, arn, queues):
                yield f"deadLetterConfig.arn {arn} is not an SQS queue"

        yield from each(role, retry, dead_letter)

    return iter_findings(of_type(resources, tokens.EVENT_TARGET), judge)


# --- Model Monitor job definitions and schedules -------------------------------------------

# Where each type holds the job's settings: (network config, output config, cluster config).
_JOB_PATHS = {
    tokens.SAGEMAKER_DATA_QUALITY_JOB_DEFINITION: (
        "networkConfig", "dataQualityJobOutputConfig", "jobResources.clusterConfig"),
    tokens.SAGEMAKER_MONITORING_SCHEDULE: (
        "monitoringScheduleConfig.monitoringJobDefinition.networkConfig",
        "monitoringScheduleConfig.monitoringJobDefinition.monitoringOutputConfig",
        "monitoringScheduleConfig.monitoringJobDefinition.monitoringResources.clusterConfig"),
}
_MONITOR_TYPES = list(_JOB_PATHS)


def _job(resource: Resource) -> tuple[str, str, str] | None:
    """The job's setting paths; None for a schedule that names a job definition (the definition
    is judged on its own)."""
    if resource.type == tokens.SAGEMAKER_MONITORING_SCHEDULE and \
            get(resource.props, "monitoringScheduleConfig.monitoringJobDefinition") is None:
        return None
    return _JOB_PATHS[resource.type]


@resource_rule(
    "monitor-job-network-isolation", area="retraining", severity=Severity.HIGH,
    types=_MONITOR_TYPES,
    description="Data quality job definitions (and monitoring schedules with an inline job "
                "definition) run their containers with network isolation: no outbound calls "
                "and no AWS credentials in the container.",
    remediation="Set network_config.enable_network_isolation=True on the "
                "DataQualityJobDefinition (or the schedule's monitoring_job_definition).",
    references=["Security Hub SageMaker.11", "Security Hub SageMaker.14"],
)
def monitor_job_network_isolation(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    paths = _job(resource)
    if paths and not truthy(get(resource.props, f"{paths[0]}.enableNetworkIsolation", False)):
        yield f"{paths[0]}.enableNetworkIsolation is not true"


@resource_rule(
    "monitor-job-traffic-encryption", area="retraining", severity=Severity.HIGH,
    types=_MONITOR_TYPES,
    description="Monitoring jobs encrypt the traffic between their instances "
                "(enableInterContainerTrafficEncryption).",
    remediation="Set network_config.enable_inter_container_traffic_encryption=True on the "
                "job definition.",
    references=["CKV_AWS_369", "Security Hub SageMaker.9", "Security Hub SageMaker.22"],
)
def monitor_job_traffic_encryption(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    paths = _job(resource)
    if paths and not truthy(get(resource.props,
                                f"{paths[0]}.enableInterContainerTrafficEncryption", False)):
        yield f"{paths[0]}.enableInterContainerTrafficEncryption is not true"


@resource_rule(
    "monitor-job-output-kms", area="retraining", severity=Severity.HIGH, types=_MONITOR_TYPES,
    description="Monitoring jobs encrypt their reports (statistics, constraint violations) in "
                "S3 with a customer-managed key.",
    remediation="Set data_quality_job_output_config.kms_key_id (or the inline "
                "monitoring_output_config.kms_key_id) to the environment key.",
    references=["CKV_AWS_367"],
)
def monitor_job_output_kms(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    paths = _job(resource)
    if paths and not get(resource.props, f"{paths[1]}.kmsKeyId"):
        yield f"{paths[1]}.kmsKeyId is not set"


@resource_rule(
    "monitor-job-volume-kms", area="retraining", severity=Severity.HIGH, types=_MONITOR_TYPES,
    description="Monitoring jobs encrypt the storage volumes of their instances with a "
                "customer-managed key.",
    remediation="Set job_resources.cluster_config.volume_kms_key_id (or the inline "
                "monitoring_resources.cluster_config.volume_kms_key_id) to the environment key.",
    references=["CKV_AWS_368"],
)
def monitor_job_volume_kms(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    paths = _job(resource)
    if paths and not get(resource.props, f"{paths[2]}.volumeKmsKeyId"):
        yield f"{paths[2]}.volumeKmsKeyId is not set"


# --- drift alarms -----------------------------------------------------------------------------


def _drift_namespaces(alarm: Resource) -> list[str]:
    namespaces = [get(alarm.props, "namespace")]
    namespaces += [get(q, "metric.namespace") for q in as_list(get(alarm.props, "metricQueries"))]
    return [str(n) for n in namespaces if isinstance(n, str) and n.startswith(
        DRIFT_NAMESPACE_PREFIX) and n.endswith(DRIFT_NAMESPACE_SUFFIX)]


def _count(value: Any) -> int | None:
    if value is None or is_unknown(value):
        return None
    return int(float(value))


@resource_rule(
    "drift-alarm-debounce", area="retraining", severity=Severity.HIGH,
    types=[tokens.METRIC_ALARM],
    description="Drift alarms (namespace MLOps/<project>/Drift) go off on M of N periods with "
                "M >= minDatapoints (datapointsToAlarm set, evaluationPeriods >= "
                "datapointsToAlarm): one noisy window does not start a retraining.",
    remediation="Set datapoints_to_alarm (>= 2) and evaluation_periods (>= "
                "datapoints_to_alarm) on the drift MetricAlarm.",
    config_schema={"minDatapoints": {"type": "integer", "minimum": 1, "default": 2,
                                     "description": "Fewest breaching periods (M) that may "
                                                    "raise a drift alarm."}},
)
def drift_alarm_debounce(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if not _drift_namespaces(resource):
        return
    minimum = int(config.get("minDatapoints", 2))
    m = _count(known(get(resource.props, "datapointsToAlarm"), "datapointsToAlarm"))
    n = _count(known(get(resource.props, "evaluationPeriods"), "evaluationPeriods"))
    if m is None:
        yield f"datapointsToAlarm is not set (a drift alarm needs M of N, M >= {minimum})"
    elif m < minimum:
        yield f"datapointsToAlarm is {m}, below {minimum}: one noisy window starts a retraining"
    if n is None:
        yield "evaluationPeriods is not set"
    elif m is not None and n < m:
        yield f"evaluationPeriods {n} is below datapointsToAlarm {m}"
