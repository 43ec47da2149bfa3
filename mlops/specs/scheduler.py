"""EventBridge Scheduler: the schedules that start project pipelines."""

from __future__ import annotations

from common import tokens
from mlops.offline.cloud import Cloud
from mlops.ops.aws import is_not_found
from mlops.sandbox.handlers import Ctx, Result, pick
from mlops.specs.spec import ResourceSpec, Terraform


def fake_schedule(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    sched = inputs.get("name") or name
    group = inputs.get("groupName") or "default"
    return f"{group}/{sched}", {"arn": c.arn("scheduler", f"schedule/{group}/{sched}")}


def apply_schedule(ctx: Ctx, name: str, inputs: dict) -> Result:
    scheduler = ctx.client("scheduler")
    schedule = inputs.get("name") or name
    group = inputs.get("groupName") or "default"
    params = pick(inputs, {
        "scheduleExpression": "ScheduleExpression", "scheduleExpressionTimezone":
        "ScheduleExpressionTimezone", "flexibleTimeWindow": "FlexibleTimeWindow",
        "target": "Target", "state": "State", "description": "Description",
        "kmsKeyArn": "KmsKeyArn", "startDate": "StartDate", "endDate": "EndDate",
        "actionAfterCompletion": "ActionAfterCompletion"})
    try:
        scheduler.get_schedule(Name=schedule, GroupName=group)
        arn = scheduler.update_schedule(Name=schedule, GroupName=group, **params)["ScheduleArn"]
        created = False
    except Exception as exc:
        if not is_not_found(exc):
            raise
        arn = scheduler.create_schedule(Name=schedule, GroupName=group, **params)["ScheduleArn"]
        created = True
    return f"{group}/{schedule}", {"arn": arn, "name": schedule, "groupName": group}, created


SPECS = [
    ResourceSpec(tokens.SCHEDULE, fake_schedule, apply_schedule,
                 Terraform("aws_scheduler_schedule"), caveat="stored; never fires"),
]
