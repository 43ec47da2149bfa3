"""Monitoring and events rules: encrypted private topics, alarms that notify, pipelines and
endpoints that are watched, log retention, event targets inside the stack."""

from __future__ import annotations

import json
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
    refers_to,
    resource_rule,
    stack_rule,
    statements,
)

PIPELINE_DETAIL_TYPE = "SageMaker Model Building Pipeline Execution Status Change"
PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"
ERROR_METRICS = ("Invocation5XXErrors",)
LATENCY_METRICS = ("ModelLatency", "OverheadLatency")


@resource_rule(
    "sns-kms", area="monitoring", severity=Severity.HIGH, types=[tokens.SNS_TOPIC],
    description="SNS topics are encrypted at rest with KMS (kmsMasterKeyId set); whether the "
                "key is usable by the publishers is sns-key-usable.",
    remediation="Set kms_master_key_id on the topic to the environment key ARN.",
    references=["CKV_AWS_26", "Security Hub SNS.1"],
)
def sns_kms(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if not get(resource.props, "kmsMasterKeyId"):
        yield "kmsMasterKeyId is not set (topic is not encrypted)"


@resource_rule(
    "sns-no-public-policy", area="monitoring", severity=Severity.CRITICAL,
    types=[tokens.SNS_TOPIC, tokens.SNS_TOPIC_POLICY],
    description="Topic policies grant nothing to everyone: no Allow statement whose principal is "
                "'*' or an ARN of every account, unless a condition limits the caller by "
                "account, ARN, organisation, source IP, VPC or VPC endpoint (without a wildcard).",
    remediation="Name the account root and the service principals that publish, with an "
                "aws:SourceAccount condition.",
    references=["CKV_AWS_169", "Security Hub SNS.4"],
)
def sns_no_public_policy(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    doc = policy_document(resource.props.get("policy"), "policy")
    for i, stmt in enumerate(statements(doc)):
        if internet_accessible(stmt):
            yield f"topic policy statement {stmt.get('Sid') or i} is open to everyone"


@resource_rule(
    "sns-subscription-encrypted", area="monitoring", severity=Severity.MEDIUM,
    types=[tokens.SNS_TOPIC_SUBSCRIPTION],
    description="Topic subscriptions deliver over an encrypted channel: no plain 'http' "
                "endpoints.",
    remediation="Use protocol 'https' (or email, sqs, lambda) with an https:// endpoint.",
)
def sns_subscription_encrypted(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    protocol = str(get(resource.props, "protocol", "")).lower()
    endpoint = str(get(resource.props, "endpoint", ""))
    if protocol == "http" or endpoint.lower().startswith("http://"):
        yield f"delivers to {endpoint or 'an endpoint'} over plain HTTP"


@resource_rule(
    "alarm-has-actions", area="monitoring", severity=Severity.MEDIUM, types=[tokens.METRIC_ALARM],
    description="Every alarm notifies someone: alarm actions set and actions enabled.",
    remediation="Set alarm_actions to the environment's alert topic and leave actions_enabled "
                "at True.",
    references=["CKV_AWS_319"],
)
def alarm_has_actions(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    def actions() -> Iterator[str]:
        if not as_list(get(resource.props, "alarmActions")):
            yield "alarmActions is empty"

    def enabled() -> Iterator[str]:
        value = get(resource.props, "actionsEnabled", True)
        if value is False or (isinstance(value, str) and value.lower() == "false"):
            yield "actionsEnabled is false"

    return each(actions, enabled)


def _pattern(rule: Resource) -> dict[str, Any]:
    raw = known(rule.props.get("eventPattern"), f"{rule.name}.eventPattern")
    if not raw:
        return {}
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _to_topic(target_arn_holder: Resource, prop: str, topics: Sequence[Resource]) -> bool:
    """Whether a target/action property points to an SNS topic (of the stack or by ARN)."""
    deps = target_arn_holder.property_dependencies.get(prop) or []
    if any(t.urn in deps for t in topics):
        return True
    values = as_list(target_arn_holder.props.get(prop))
    return any(isinstance(v, str) and v.startswith("arn:") and ":sns:" in v for v in values)


def _pipeline_rule_covers(pattern: Mapping[str, Any], pipeline: Resource) -> bool:
    if "aws.sagemaker" not in as_list(pattern.get("source")):
        return False
    if PIPELINE_DETAIL_TYPE not in as_list(pattern.get("detail-type")):
        return False
    detail = pattern.get("detail") or {}
    statuses = as_list(detail.get("currentPipelineExecutionStatus"))
    if statuses and "Failed" not in statuses:
        return False
    arns = as_list(detail.get("pipelineArn"))
    if not arns:
        return True
    name = str(known(pipeline.props.get("pipelineName"), f"{pipeline.name}.pipelineName"))
    return any(isinstance(a, str) and a.lower().endswith(f":pipeline/{name.lower()}")
               for a in arns)


def _alarm_on(alarm: Resource, subject: Resource, dimension: str, name: Any) -> bool:
    deps = alarm.property_dependencies.get("dimensions") or []
    if deps:
        return subject.urn in deps
    dims = alarm.props.get("dimensions") or {}
    value = dims.get(dimension) if isinstance(dims, Mapping) else None
    if is_unknown(value) or is_unknown(name):
        known(value, f"{alarm.name}.dimensions.{dimension}")
        known(name, f"{subject.name}.name")
    return value is not None and value == name


@stack_rule(
    "every-pipeline-alarmed", area="monitoring", severity=Severity.HIGH,
    types=[tokens.SAGEMAKER_PIPELINE, tokens.METRIC_ALARM, tokens.EVENT_RULE, tokens.EVENT_TARGET],
    description="Every SageMaker pipeline has a failure alarm or an EventBridge rule on its "
                "failed executions, routed to an SNS topic.",
    remediation="Add a MetricAlarm on AWS/Sagemaker/ModelBuildingPipeline ExecutionFailed with "
                "dimension PipelineName and the alert topic as action, or an EventRule on "
                "'SageMaker Model Building Pipeline Execution Status Change' (Failed) with an "
                "EventTarget to the alert topic.",
)
def every_pipeline_alarmed(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[Finding]:
    topics = of_type(resources, tokens.SNS_TOPIC)
    alarms = of_type(resources, tokens.METRIC_ALARM)
    rules = of_type(resources, tokens.EVENT_RULE)
    targets = of_type(resources, tokens.EVENT_TARGET)

    def routed(rule: Resource) -> bool:
        values = [rule.props.get("name"), rule.props.get("arn")]
        return any(refers_to(t, "rule", rule, values) and _to_topic(t, "arn", topics)
                   for t in targets)

    def judge(pipeline: Resource) -> Iterator[str]:
        name = pipeline.props.get("pipelineName")
        for alarm in alarms:
            if get(alarm.props, "namespace") == PIPELINE_NAMESPACE \
                    and _alarm_on(alarm, pipeline, "PipelineName", name) \
                    and _to_topic(alarm, "alarmActions", topics):
                return
        for rule in rules:
            if _pipeline_rule_covers(_pattern(rule), pipeline) and routed(rule):
                return
        yield "no failure alarm or failed-execution event rule routed to an SNS topic"

    return iter_findings(of_type(resources, tokens.SAGEMAKER_PIPELINE), judge)


@stack_rule(
    "every-endpoint-alarmed", area="monitoring", severity=Severity.HIGH,
    types=[tokens.SAGEMAKER_ENDPOINT, tokens.METRIC_ALARM],
    description="Every SageMaker endpoint has a 5XX-error alarm and a latency alarm.",
    remediation="Add MetricAlarms on AWS/SageMaker Invocation5XXErrors and ModelLatency with "
                "dimension EndpointName (and VariantName), actions to the alert topic.",
)
def every_endpoint_alarmed(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[Finding]:
    alarms = of_type(resources, tokens.METRIC_ALARM)

    def judge(endpoint: Resource) -> Iterator[str]:
        name = endpoint.props.get("name")
        mine = [a for a in alarms if _alarm_on(a, endpoint, "EndpointName", name)]
        metrics = {str(get(a.props, "metricName")) for a in mine}
        if not metrics & set(ERROR_METRICS):
            yield "no Invocation5XXErrors alarm"
        if not metrics & set(LATENCY_METRICS):
            yield "no ModelLatency alarm"

    return iter_findings(of_type(resources, tokens.SAGEMAKER_ENDPOINT), judge)


@resource_rule(
    "log-group-retention-kms", area="monitoring", severity=Severity.MEDIUM, types=[tokens.LOG_GROUP],
    description="Log groups set a retention (at least minRetentionDays, or 0 for never expire) "
                "and are encrypted with a customer-managed KMS key.",
    remediation="Set retention_in_days (>= 365 in prod) and kms_key_id on the LogGroup.",
    references=["CKV_AWS_66", "CKV_AWS_338", "CKV_AWS_158"],
    config_schema={"minRetentionDays": {"type": "integer", "minimum": 1, "default": 365,
                                        "description": "Shortest allowed retention in days."}},
)
def log_group_retention_kms(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    def retention() -> Iterator[str]:
        days = get(resource.props, "retentionInDays")
        minimum = int(config.get("minRetentionDays", 365))
        if days is None:
            yield "retentionInDays is not set"
        elif int(float(days)) != 0 and int(float(days)) < minimum:
            yield f"retentionInDays is {int(float(days))}, below {minimum}"

    def kms() -> Iterator[str]:
        if not get(resource.props, "kmsKeyId"):
            yield "kmsKeyId is not set"

    return each(retention, kms)


# ARN service -> (resource type, property holding the name that ends the ARN)
_ARN_NAMES = {
    "sns": (tokens.SNS_TOPIC, "name"),
    "sagemaker": (tokens.SAGEMAKER_PIPELINE, "pipelineName"),
    "lambda": (tokens.LAMBDA_FUNCTION, "name"),
    "sqs": (tokens.SQS_QUEUE, "name"),
}


def _stack_arn(holder: Resource, prop: str, value: Any, resources: Sequence[Resource]) -> bool:
    """Whether the ARN in ``holder.props[prop]`` belongs to a resource of this stack: by
    property dependency, else by the name at the end of the ARN (same service)."""
    others = [r for r in resources if r.urn != holder.urn]
    urns = {r.urn for r in others}
    deps = holder.property_dependencies.get(prop) or []
    if deps:
        return any(d in urns for d in deps)
    known(value, f"{holder.name}.{prop}")
    if not isinstance(value, str):
        return False
    if any(r.props.get("arn") == value for r in others):
        return True
    parts = value.split(":")
    if len(parts) < 6 or parts[2] not in _ARN_NAMES:
        return False
    token, name_prop = _ARN_NAMES[parts[2]]
    tail = parts[-1].rsplit("/", 1)[-1]
    return any(r.type == token and r.props.get(name_prop) == tail for r in others)


@stack_rule(
    "event-targets-known", area="monitoring", severity=Severity.HIGH,
    types=[tokens.EVENT_TARGET, tokens.SCHEDULE],
    description="EventBridge rule targets and Scheduler schedule targets are resources of this "
                "stack, not arbitrary ARNs in other accounts.",
    remediation="Pass the target resource's output (topic.arn, pipeline.arn) as the target "
                "ARN instead of a literal ARN.",
)
def event_targets_known(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[Finding]:
    def judge(holder: Resource) -> Iterator[str]:
        if holder.type == tokens.EVENT_TARGET:
            arn = holder.props.get("arn")
            if not _stack_arn(holder, "arn", arn, resources):
                yield f"target {arn} is not a resource of this stack"
            return
        target = holder.props.get("target")
        known(target, f"{holder.name}.target")
        arn = get(target, "arn") if isinstance(target, Mapping) else None
        if isinstance(arn, str) and ":scheduler:::aws-sdk:" in arn:
            # Universal target: the addressed resource is named in the input.
            deps = holder.property_dependencies.get("target") or []
            urns = {r.urn for r in resources}
            text = str(get(target, "input", ""))
            if not any(d in urns for d in deps) and not any(
                isinstance(r.props.get(k), str) and str(r.props.get(k)) in text
                for r in resources for k in ("pipelineName", "name")
            ):
                yield f"universal target {arn} does not address a resource of this stack"
            return
        if not _stack_arn(holder, "target", arn, resources):
            yield f"target {arn} is not a resource of this stack"

    return iter_findings(of_type(resources, tokens.EVENT_TARGET, tokens.SCHEDULE), judge)


@resource_rule(
    "schedule-kms", area="monitoring", severity=Severity.LOW, types=[tokens.SCHEDULE],
    description="EventBridge Scheduler schedules encrypt their payload with a customer-managed "
                "key (kmsKeyArn set).",
    remediation="Set kms_key_arn on the aws.scheduler.Schedule to the environment key ARN.",
    references=["CKV_AWS_297"],
)
def schedule_kms(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if not get(resource.props, "kmsKeyArn"):
        yield "kmsKeyArn is not set (payload encrypted with an AWS-owned key)"


KEY_USE_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def _allows_service_use(key_doc: Mapping[str, Any] | None, service: str) -> bool:
    """Whether a key policy lets ``service`` generate data keys and decrypt."""
    granted: set[str] = set()
    for stmt in statements(key_doc):
        if not allows(stmt):
            continue
        principal = stmt.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
        if service not in services and principal != "*":
            continue
        for action in as_list(stmt.get("Action")):
            action = str(action)
            if action in ("*", "kms:*"):
                granted.update(KEY_USE_ACTIONS)
            elif action.endswith("*"):
                granted.update(a for a in KEY_USE_ACTIONS if a.startswith(action[:-1]))
            elif action in KEY_USE_ACTIONS:
                granted.add(action)
    return granted >= set(KEY_USE_ACTIONS)


@stack_rule(
    "sns-key-usable", area="monitoring", severity=Severity.HIGH,
    types=[tokens.SNS_TOPIC, tokens.KMS_KEY, tokens.SNS_TOPIC_POLICY,
           tokens.METRIC_ALARM, tokens.EVENT_TARGET],
    description="Every service that publishes to an encrypted topic (alarms, event rules, the "
                "services its topic policy allows) may use the topic's KMS key; otherwise "
                "notifications are silently dropped.",
    remediation="Add a key policy statement allowing the publishing service principals "
                "(cloudwatch.amazonaws.com, events.amazonaws.com, ...) kms:GenerateDataKey* and "
                "kms:Decrypt, with an aws:SourceAccount condition.",
    references=["AWS SNS SSE: enable compatibility between event sources and encrypted topics"],
)
def sns_key_usable(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    keys = {k.urn: k for k in of_type(resources, tokens.KMS_KEY)}
    topic_policies = of_type(resources, tokens.SNS_TOPIC_POLICY)
    alarms = of_type(resources, tokens.METRIC_ALARM)
    targets = of_type(resources, tokens.EVENT_TARGET)

    def publishers(topic: Resource) -> set[str]:
        found: set[str] = set()
        values = [topic.props.get("arn"), topic.props.get("name")]
        for tp in topic_policies:
            if not refers_to(tp, "arn", topic, values):
                continue
            doc = policy_document(tp.props.get("policy"), f"{tp.name}.policy")
            for stmt in statements(doc):
                principal = stmt.get("Principal")
                actions = [str(a) for a in as_list(stmt.get("Action"))]
                if allows(stmt) and isinstance(principal, Mapping) and \
                        any(a in ("sns:Publish", "sns:*", "*") for a in actions):
                    found.update(str(s) for s in as_list(principal.get("Service")))
        if any(topic.urn in (a.property_dependencies.get("alarmActions") or []) for a in alarms):
            found.add("cloudwatch.amazonaws.com")
        if any(topic.urn in (t.property_dependencies.get("arn") or []) for t in targets):
            found.add("events.amazonaws.com")
        return found

    def judge(topic: Resource) -> Iterator[str]:
        key_deps = [keys[u] for u in topic.property_dependencies.get("kmsMasterKeyId") or []
                    if u in keys]
        if not key_deps:
            services = sorted(publishers(topic))
            if not services:
                return
            key_id = get(topic.props, "kmsMasterKeyId")
            aws_managed = isinstance(key_id, str) and key_id.startswith("alias/aws/")
            for service in services:
                if aws_managed:
                    yield (f"the AWS-managed key {key_id} cannot be used by {service}: its "
                           "messages to this topic would be dropped")
            return  # a key outside the stack: its policy is not visible here
        key = key_deps[0]
        doc = policy_document(key.props.get("policy"), f"{key.name}.policy")
        if doc is None:
            return  # the default key policy delegates to IAM in the account
        for service in sorted(publishers(topic)):
            if not _allows_service_use(doc, service):
                yield (f"key {key.name} does not let {service} use it: its messages to this "
                       "topic would be dropped")

    return iter_findings(of_type(resources, tokens.SNS_TOPIC), judge)

