"""Alarm delivery in the sandbox: moto records alarm state changes but runs no alarm actions.

``trip`` sets an alarm to ALARM and then does what CloudWatch does next: it publishes the
standard alarm notification (the JSON CloudWatch sends to SNS) to each SNS topic in the alarm's
actions. Subscribers of the topic (an SQS queue, say) then receive it through moto's SNS.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def notification(alarm: dict[str, Any], reason: str, region: str) -> dict[str, Any]:
    """The message body CloudWatch publishes to SNS when an alarm changes state."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": alarm["AlarmArn"].split(":")[4],
        "AlarmConfigurationUpdatedTimestamp": now,
        "NewStateValue": "ALARM",
        "NewStateReason": reason,
        "StateChangeTime": now,
        "Region": region,
        "AlarmArn": alarm["AlarmArn"],
        "OldStateValue": alarm.get("StateValue", "INSUFFICIENT_DATA"),
        "Trigger": {
            "MetricName": alarm.get("MetricName"),
            "Namespace": alarm.get("Namespace"),
            "Statistic": alarm.get("Statistic"),
            "Period": alarm.get("Period"),
            "EvaluationPeriods": alarm.get("EvaluationPeriods"),
            "ComparisonOperator": alarm.get("ComparisonOperator"),
            "Threshold": alarm.get("Threshold"),
            "Dimensions": [{"name": d["Name"], "value": d["Value"]}
                           for d in alarm.get("Dimensions", [])],
        },
    }


def trip(cloudwatch: Any, sns: Any, alarm_name: str, reason: str) -> list[str]:
    """Put the alarm in ALARM and deliver it to its SNS actions; returns the message IDs."""
    alarms = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    if not alarms:
        raise LookupError(f"no alarm named {alarm_name}")
    alarm = alarms[0]
    cloudwatch.set_alarm_state(AlarmName=alarm_name, StateValue="OK", StateReason="reset")
    alarm["StateValue"] = "OK"
    cloudwatch.set_alarm_state(AlarmName=alarm_name, StateValue="ALARM", StateReason=reason)
    if not alarm.get("ActionsEnabled", True):
        return []
    region = alarm["AlarmArn"].split(":")[3]
    body = json.dumps(notification(alarm, reason, region))
    subject = f'ALARM: "{alarm_name}" in {region}'
    return [
        sns.publish(TopicArn=action, Subject=subject[:100], Message=body)["MessageId"]
        for action in alarm.get("AlarmActions", []) if action.split(":")[2:3] == ["sns"]
    ]
