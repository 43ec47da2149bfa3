"""CloudWatch: metric alarms and dashboards."""

from __future__ import annotations

from typing import Any

from common import tokens
from mlops.offline.cloud import Cloud
from mlops.sandbox.handlers import Ctx, Result, pick
from mlops.specs.spec import ResourceSpec, Terraform


def fake_alarm(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    alarm = inputs.get("name") or name
    return alarm, {"arn": c.arn("cloudwatch", f"alarm:{alarm}")}


def _dimensions(value: Any) -> Any:
    """Pulumi alarm dimensions are a map; CloudWatch wants [{Name, Value}]."""
    if isinstance(value, dict):
        return [{"Name": k, "Value": str(v)} for k, v in value.items()]
    return value


def apply_alarm(ctx: Ctx, name: str, inputs: dict) -> Result:
    cw = ctx.client("cloudwatch")
    alarm = inputs.get("name") or name
    existing = cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    params = pick(inputs, {
        "alarmDescription": "AlarmDescription", "actionsEnabled": "ActionsEnabled",
        "alarmActions": "AlarmActions", "okActions": "OKActions",
        "insufficientDataActions": "InsufficientDataActions",
        "comparisonOperator": "ComparisonOperator", "datapointsToAlarm": "DatapointsToAlarm",
        "evaluationPeriods": "EvaluationPeriods", "extendedStatistic": "ExtendedStatistic",
        "metricName": "MetricName", "namespace": "Namespace", "period": "Period",
        "statistic": "Statistic", "threshold": "Threshold", "thresholdMetricId":
        "ThresholdMetricId", "treatMissingData": "TreatMissingData", "unit": "Unit",
        "evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentile"})
    if inputs.get("dimensions"):
        params["Dimensions"] = _dimensions(inputs["dimensions"])
    if inputs.get("metricQueries"):
        queries = []
        for query in inputs["metricQueries"]:
            shaped = pick(query, {"id": "Id", "accountId": "AccountId", "expression":
                                  "Expression", "label": "Label", "period": "Period",
                                  "returnData": "ReturnData"})
            metric = query.get("metric")
            if metric:  # Pulumi: metric{name, namespace, dimensions, period, stat, unit}
                shaped["MetricStat"] = {
                    "Metric": {**pick(metric, {"namespace": "Namespace",
                                               "metricName": "MetricName"}),
                               "Dimensions": _dimensions(metric.get("dimensions") or {})},
                    **pick(metric, {"period": "Period", "stat": "Stat", "unit": "Unit"}),
                }
            queries.append(shaped)
        params["Metrics"] = queries
    cw.put_metric_alarm(AlarmName=alarm, Tags=ctx.tag_list(inputs), **params)
    arn = cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["AlarmArn"]
    return alarm, {"arn": arn, "name": alarm, "tagsAll": ctx.tags(inputs)}, not existing


def fake_dashboard(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    dash = inputs.get("dashboardName") or name
    return dash, {"dashboardArn": f"arn:{c.partition}:cloudwatch::{c.account_id}:dashboard/{dash}"}


def apply_dashboard(ctx: Ctx, name: str, inputs: dict) -> Result:
    cw = ctx.client("cloudwatch")
    dash = inputs.get("dashboardName") or name
    existing = {d["DashboardName"] for d in cw.list_dashboards(DashboardNamePrefix=dash)
                .get("DashboardEntries", [])}
    cw.put_dashboard(DashboardName=dash, DashboardBody=inputs["dashboardBody"])
    return dash, {"dashboardArn": f"arn:{ctx.cloud.partition}:cloudwatch::"
                                  f"{ctx.cloud.account_id}:dashboard/{dash}"}, dash not in existing


SPECS = [
    ResourceSpec(tokens.METRIC_ALARM, fake_alarm, apply_alarm,
                 Terraform("aws_cloudwatch_metric_alarm", blocks={"metricQueries": "metric_query"},
                           maps=frozenset({"dimensions"}), default_tags=True),
                 caveat="stored; moto runs no alarm actions"),
    ResourceSpec(tokens.DASHBOARD, fake_dashboard, apply_dashboard,
                 Terraform("aws_cloudwatch_dashboard", json=frozenset({"dashboardBody"})),
                 unchecked="a layout of metric widgets: it holds no data and has no access or "
                           "encryption settings to check"),
]
