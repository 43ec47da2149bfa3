"""Application Auto Scaling: scalable targets and scaling policies (SageMaker endpoint variants)."""

from __future__ import annotations

import hashlib
from typing import Any

from common import tokens
from mlops.offline.cloud import Cloud, stable_uuid
from mlops.sandbox.handlers import Ctx, Result, Retry, boto_shape, pick
from mlops.specs.spec import ResourceSpec, Terraform

# The role Application Auto Scaling uses for a namespace when the target names none.
SERVICE_ROLES = {"sagemaker": "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                              "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"}
_KEY = {"serviceNamespace": "ServiceNamespace", "resourceId": "ResourceId",
        "scalableDimension": "ScalableDimension"}


def _service_role(c: Cloud, inputs: dict) -> str | None:
    role = SERVICE_ROLES.get(str(inputs.get("serviceNamespace")))
    return f"arn:{c.partition}:iam::{c.account_id}:role/{role}" if role else None


def fake_target(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    resource = inputs.get("resourceId") or name
    digest = hashlib.sha256(f"{c.account_id}/{resource}".encode()).hexdigest()[:36]
    outputs: dict[str, Any] = {"arn": c.arn("application-autoscaling", f"scalable-target/{digest}"),
                               "resourceId": resource}
    role = inputs.get("roleArn") or _service_role(c, inputs)
    if role:
        outputs["roleArn"] = role
    return resource, outputs


def fake_policy(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    policy = inputs.get("name") or name
    resource, namespace = inputs.get("resourceId"), inputs.get("serviceNamespace")
    guid = stable_uuid(c.account_id, str(resource), policy)
    arn = c.arn("autoscaling", f"scalingPolicy:{guid}:resource/{namespace}/{resource}:"
                               f"policyName/{policy}")
    alarms = []
    if inputs.get("policyType") == "TargetTrackingScaling":  # it creates a high and a low alarm
        alarms = [c.arn("cloudwatch", f"alarm:TargetTracking-{resource}-Alarm{side}-"
                                      f"{stable_uuid(guid, side)}") for side in ("High", "Low")]
    return policy, {"arn": arn, "name": policy, "alarmArns": alarms}


def _targets(ctx: Ctx, key: dict) -> list[dict]:
    listed = ctx.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace=key["ServiceNamespace"], ResourceIds=[key["ResourceId"]],
        ScalableDimension=key["ScalableDimension"])["ScalableTargets"]
    return [t for t in listed if t["ResourceId"] == key["ResourceId"]]


def apply_target(ctx: Ctx, name: str, inputs: dict) -> Result:
    """Register the target, or re-register it when its capacities or suspension drifted.

    RegisterScalableTarget tags a target only when it creates it (existing targets are tagged
    with TagResource, which moto lacks)."""
    aas = ctx.client("application-autoscaling")
    key = pick(inputs, _KEY)
    params = pick(inputs, {"minCapacity": "MinCapacity", "maxCapacity": "MaxCapacity",
                           "roleArn": "RoleARN", "suspendedState": "SuspendedState"})
    existing = next(iter(_targets(ctx, key)), None)
    if existing is None:
        tags = ctx.tags(inputs)
        aas.register_scalable_target(**key, **params, **({"Tags": tags} if tags else {}))
    elif any(existing.get(k) != v for k, v in params.items() if k != "RoleARN"):
        aas.register_scalable_target(**key, **params)
    found = _targets(ctx, key)[0]
    role = found.get("RoleARN") or inputs.get("roleArn") or _service_role(ctx.cloud, inputs)
    return key["ResourceId"], {"arn": found["ScalableTargetARN"], "resourceId": key["ResourceId"],
                               "roleArn": role, "tagsAll": ctx.tags(inputs)}, existing is None


def apply_policy(ctx: Ctx, name: str, inputs: dict) -> Result:
    """Put the scaling policy (PutScalingPolicy creates or replaces it) on its registered
    target; until the target is registered, wait (AWS refuses a policy without one)."""
    aas = ctx.client("application-autoscaling")
    policy = inputs.get("name") or name
    key = pick(inputs, _KEY)
    if not _targets(ctx, key):
        raise Retry(f"no scalable target {key['ResourceId']} ({key['ScalableDimension']}) yet")
    listed = aas.describe_scaling_policies(PolicyNames=[policy], **key)["ScalingPolicies"]
    existed = any(p["PolicyName"] == policy and p["ResourceId"] == key["ResourceId"]
                  for p in listed)
    configurations = {k: boto_shape(inputs[k]) for k in (
        "stepScalingPolicyConfiguration", "targetTrackingScalingPolicyConfiguration",
        "predictiveScalingPolicyConfiguration") if inputs.get(k)}
    answer = aas.put_scaling_policy(
        PolicyName=policy, PolicyType=inputs.get("policyType") or "StepScaling", **key,
        **{k[:1].upper() + k[1:]: v for k, v in configurations.items()})
    alarms = [a["AlarmARN"] for a in answer.get("Alarms") or []]
    return policy, {"arn": answer["PolicyARN"], "name": policy, "alarmArns": alarms}, not existed


SPECS = [
    ResourceSpec(tokens.AUTOSCALING_TARGET, fake_target, apply_target,
                 Terraform("aws_appautoscaling_target", default_tags=True),
                 caveat="stored; nothing scales, and moto keeps no tags"),
    # Terraform spells the step and predictive blocks in the singular. (Its predictive metric
    # `dimension` block is not renamed: target tracking's `dimensions` block keeps the plural.)
    ResourceSpec(tokens.AUTOSCALING_POLICY, fake_policy, apply_policy,
                 Terraform("aws_appautoscaling_policy", blocks={
                     "stepAdjustments": "step_adjustment",
                     "metricSpecifications": "metric_specification",
                     "metricDataQueries": "metric_data_query"}),
                 caveat="stored; no alarms are created and nothing scales",
                 unchecked="a scaling rule for a registered target: it grants no access and "
                           "holds no data, and the capacity it scales within is judged on the "
                           "target"),
]
