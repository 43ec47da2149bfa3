"""CloudWatch Logs: log groups (pulumi-aws keeps them in its `cloudwatch` module)."""

from __future__ import annotations

from common import tokens
from mlops.offline.cloud import Cloud
from mlops.sandbox.handlers import Ctx, Result
from mlops.specs.spec import ResourceSpec, Terraform


def fake_log_group(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    group = inputs.get("name") or name
    return group, {"arn": c.arn("logs", f"log-group:{group}")}


def apply_log_group(ctx: Ctx, name: str, inputs: dict) -> Result:
    logs = ctx.client("logs")
    group = inputs.get("name") or name
    found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    exists = any(g["logGroupName"] == group for g in found)
    if not exists:
        extra = {"kmsKeyId": inputs["kmsKeyId"]} if inputs.get("kmsKeyId") else {}
        logs.create_log_group(logGroupName=group, tags=ctx.tags(inputs), **extra)
    if inputs.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=group,
                                  retentionInDays=int(inputs["retentionInDays"]))
    return group, {"arn": ctx.cloud.arn("logs", f"log-group:{group}"), "name": group}, not exists


SPECS = [
    ResourceSpec(tokens.LOG_GROUP, fake_log_group, apply_log_group,
                 Terraform("aws_cloudwatch_log_group", default_tags=True)),
]
