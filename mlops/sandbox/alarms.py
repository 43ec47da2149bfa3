"""Alarms in the sandbox: the notification CloudWatch sends, and tripping an alarm.

``notification`` is the standard alarm notification (the JSON CloudWatch sends to SNS), which the
sandbox's alarm patches (mlops/sandbox/events.py) publish on every state transition; ``trip``
puts an alarm through OK into ALARM, the way people test alarms in AWS.
"""

from __future__ import annotations

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


def trip(cloudwatch: Any, alarm_name: str, reason: str) -> dict[str, Any]:
    """Put the alarm through OK into ALARM; the sandbox's SetAlarmState then does what
    CloudWatch does on a transition (SNS actions, the EventBridge state-change event). Returns
    the alarm as it was described before."""
    alarms = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    if not alarms:
        raise LookupError(f"no alarm named {alarm_name}")
    cloudwatch.set_alarm_state(AlarmName=alarm_name, StateValue="OK", StateReason="reset")
    cloudwatch.set_alarm_state(AlarmName=alarm_name, StateValue="ALARM", StateReason=reason)
    return dict(alarms[0])
