"""EventBridge: rules on the default bus and their targets."""

from __future__ import annotations

import re
from typing import Any

from common import tokens
from mlops.offline.cloud import Cloud, stable_uuid
from mlops.sandbox.handlers import Ctx, Result, absent, pick
from mlops.specs.spec import ResourceSpec, Terraform


def fake_rule(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    rule = inputs.get("name") or name
    return rule, {"arn": c.arn("events", f"rule/{rule}"), "name": rule}


def apply_rule(ctx: Ctx, name: str, inputs: dict) -> Result:
    events = ctx.client("events")
    rule = inputs.get("name") or name
    bus = inputs.get("eventBusName") or "default"
    created = absent(lambda: events.describe_rule(Name=rule, EventBusName=bus))
    params = pick(inputs, {"eventPattern": "EventPattern", "scheduleExpression":
                           "ScheduleExpression", "description": "Description",
                           "roleArn": "RoleArn", "state": "State"})
    arn = events.put_rule(Name=rule, EventBusName=bus, Tags=ctx.tag_list(inputs),
                          **params)["RuleArn"]
    return rule, {"arn": arn, "name": rule, "tagsAll": ctx.tags(inputs)}, created


def fake_target(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    target = inputs.get("targetId") or stable_uuid(name)[:8]
    return f"{inputs.get('rule')}-{target}", {"targetId": target}


def target_parameters(inputs: dict) -> dict[str, Any]:
    """PutTargets members of a Pulumi EventTarget besides Id and Arn: role, input, pipeline
    parameters, retry policy, dead-letter queue, input transformer, SQS message group."""
    params = pick(inputs, {"roleArn": "RoleArn", "input": "Input", "inputPath": "InputPath",
                           "retryPolicy": "RetryPolicy", "deadLetterConfig": "DeadLetterConfig",
                           "sqsTarget": "SqsParameters"})
    pipeline = inputs.get("sagemakerPipelineTarget")
    if pipeline is not None:
        listed = pipeline.get("pipelineParameterLists") or []
        params["SageMakerPipelineParameters"] = {"PipelineParameterList": [
            {"Name": str(p["name"]), "Value": str(p["value"])} for p in listed]}
    transformer = inputs.get("inputTransformer")
    if transformer is not None:  # its paths map keeps its keys as written
        params["InputTransformer"] = {"InputTemplate": transformer["inputTemplate"], **(
            {"InputPathsMap": dict(transformer["inputPaths"])}
            if transformer.get("inputPaths") else {})}
    return params


def apply_target(ctx: Ctx, name: str, inputs: dict) -> Result:
    events = ctx.client("events")
    rule, bus = inputs["rule"], inputs.get("eventBusName") or "default"
    target_id = inputs.get("targetId") or re.sub(r"[^A-Za-z0-9._-]", "-", name)[:64]
    existing = events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
    target = {"Id": target_id, "Arn": inputs["arn"], **target_parameters(inputs)}
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[target])
    return f"{bus}-{rule}-{target_id}", {"targetId": target_id}, \
        not any(t["Id"] == target_id for t in existing)


SPECS = [
    ResourceSpec(tokens.EVENT_RULE, fake_rule, apply_rule,
                 Terraform("aws_cloudwatch_event_rule", json=frozenset({"eventPattern"}),
                           default_tags=True)),
    # Terraform's sagemaker_pipeline_target holds repeated pipeline_parameter_list blocks;
    # retry_policy, dead_letter_config and input_transformer are single blocks.
    ResourceSpec(tokens.EVENT_TARGET, fake_target, apply_target,
                 Terraform("aws_cloudwatch_event_target",
                           blocks={"pipelineParameterLists": "pipeline_parameter_list"},
                           maps=frozenset({"inputPaths"}))),
]
