"""Retraining triggers in the sandbox: alarms that evaluate metrics (M of N, missing data), state
change events and actions, EventBridge rules that start SageMaker pipelines (or dead-letter the
event), and S3 "Object Created" events; read back with plain boto3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from mlops.sandbox import events
from mlops.sandbox.events import Delivery, PipelineNotFound
from tests.mlops.sandbox.test_engine import ACCOUNT, REGION, ROLE_ARN, client

T0 = datetime(2024, 3, 11, 12, 0, tzinfo=UTC)  # a period boundary for any period dividing 1 h
PERIOD = 300
NAMESPACE = "mlops/drift"
METRIC = "feature_drift"
DIMENSIONS = [{"Name": "Project", "Value": "churn"}]
BUCKET = "mlops-dev-raw-data-123456789012-eu-west-1"
PIPELINE = "mlops-dev-churn-train"
DEFINITION = json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": []})
PARAMETERS = [{"Name": "TriggerSource", "Value": "drift"},
              {"Name": "TriggerDetail", "Value": "mlops-dev-churn-drift"}]


def at(period: int) -> datetime:
    return T0 + timedelta(seconds=PERIOD * period)


def put_metric(value: float, when: datetime, dimensions: list[dict[str, str]] = DIMENSIONS,
               unit: str = "None") -> None:
    client("cloudwatch").put_metric_data(Namespace=NAMESPACE, MetricData=[{
        "MetricName": METRIC, "Dimensions": dimensions, "Timestamp": when, "Value": value,
        "Unit": unit}])


def alarm(name: str = "mlops-dev-churn-drift", *, periods: int = 3, to_alarm: int = 2,
          missing: str | None = None, **extra: Any) -> str:
    options: dict[str, Any] = {"DatapointsToAlarm": to_alarm, **extra}
    if missing:
        options["TreatMissingData"] = missing
    client("cloudwatch").put_metric_alarm(
        AlarmName=name, Namespace=NAMESPACE, MetricName=METRIC, Dimensions=DIMENSIONS,
        Statistic="Maximum", Period=PERIOD, EvaluationPeriods=periods, Threshold=0.2,
        ComparisonOperator="GreaterThanOrEqualToThreshold", **options)
    return name


def state(name: str) -> str:
    alarms = client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return str(alarms[0]["StateValue"])


def queue(name: str) -> tuple[str, str]:
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    return url, arn


def received(url: str, sqs: Any = None) -> list[dict[str, Any]]:
    """Every message in the queue (bodies parsed, attributes kept), removed from it."""
    sqs = sqs or client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return out
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            out.append({"body": json.loads(message["Body"]),
                        "attributes": {k: v["StringValue"] for k, v in
                                       message.get("MessageAttributes", {}).items()}})


def rule(name: str, pattern: dict[str, Any], *targets: dict[str, Any], events_client: Any = None,
         state_value: str = "ENABLED") -> str:
    eb = events_client or client("events")
    arn = eb.put_rule(Name=name, EventPattern=json.dumps(pattern), State=state_value)["RuleArn"]
    eb.put_targets(Rule=name, Targets=list(targets))
    return str(arn)


def pipeline_arn(name: str = PIPELINE) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{name}"


def pipeline_target(name: str = PIPELINE, parameters: list[dict[str, str]] = PARAMETERS,
                    **extra: Any) -> dict[str, Any]:
    return {"Id": f"start-{name}", "Arn": pipeline_arn(name), "RoleArn": ROLE_ARN,
            "SageMakerPipelineParameters": {"PipelineParameterList": parameters}, **extra}


def create_pipeline(sm: Any = None, name: str = PIPELINE) -> None:
    (sm or client("sagemaker")).create_pipeline(PipelineName=name, PipelineDefinition=DEFINITION,
                                                RoleArn=ROLE_ARN)


def executions(sm: Any = None, name: str = PIPELINE) -> list[dict[str, Any]]:
    """(arn, parameters) of each execution of the pipeline, as SageMaker lists them."""
    sm = sm or client("sagemaker")
    summaries = sm.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]
    return [{"arn": s["PipelineExecutionArn"], "parameters": sm.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=s["PipelineExecutionArn"])["PipelineParameters"]}
        for s in summaries]


def drift_pattern(alarm_name: str = "mlops-dev-churn-drift") -> dict[str, Any]:
    return {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
            "detail": {"state": {"value": ["ALARM"]}, "alarmName": [alarm_name]}}


@pytest.fixture
def inbox(moto_backend: None) -> Iterator[str]:
    """An SQS queue that receives every event of the default bus."""
    url, arn = queue("every-event")
    rule("everything", {"account": [ACCOUNT]}, {"Id": "inbox", "Arn": arn})
    yield url


# --- 1. alarms evaluate metrics --------------------------------------------------------------

def test_a_new_alarm_has_insufficient_data_until_metrics_arrive(moto_backend):
    name = alarm()
    assert state(name) == "INSUFFICIENT_DATA"
    put_metric(0.1, at(0))
    assert state(name) == "OK"


def test_two_of_three_breaching_periods_set_the_alarm_one_does_not(moto_backend):
    sns, sqs = client("sns"), client("sqs")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url, arn = queue("alerts-inbox")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})
    name = alarm(AlarmActions=[topic], OKActions=[topic])

    put_metric(0.1, at(0))
    put_metric(0.5, at(1))  # 1 of the last 3 breaches: stays OK
    assert state(name) == "OK"
    put_metric(0.7, at(2))  # 2 of 3: ALARM
    assert state(name) == "ALARM"

    notes = [m["body"] for m in received(url, sqs)]
    assert [(n["OldStateValue"], n["NewStateValue"]) for n in notes] == [
        ("INSUFFICIENT_DATA", "OK"), ("OK", "ALARM")]
    assert notes[1]["AlarmName"] == name
    assert notes[1]["NewStateReason"] == (
        "Threshold Crossed: 2 out of the last 3 datapoints [0.7 (11/03/24 12:10:00), "
        "0.5 (11/03/24 12:05:00)] were greater than or equal to the threshold (0.2) "
        "(minimum 2 datapoints for OK -> ALARM transition).")
    assert notes[1]["Trigger"]["DatapointsToAlarm"] == 2


def test_periods_are_aligned_and_the_statistic_is_taken_over_each(moto_backend):
    client("cloudwatch").put_metric_alarm(
        AlarmName="avg", Namespace=NAMESPACE, MetricName=METRIC, Dimensions=DIMENSIONS,
        Statistic="Average", Period=PERIOD, EvaluationPeriods=1, Threshold=0.5,
        ComparisonOperator="GreaterThanThreshold")
    put_metric(0.9, at(0) + timedelta(seconds=10))
    assert state("avg") == "ALARM"  # the period 12:00-12:05 averages 0.9
    put_metric(0.0, at(0) + timedelta(seconds=290))
    assert state("avg") == "OK"  # same period: (0.9 + 0.0) / 2 = 0.45
    put_metric(0.6, at(1))
    assert state("avg") == "ALARM"  # the next period, on its own


@pytest.mark.parametrize(("missing", "value", "expected"), [
    (None, 0.1, "OK"),           # missing: only the real datapoint decides
    ("missing", 0.9, "OK"),      # 1 breaching of the 2 needed
    ("breaching", 0.1, "ALARM"),  # the 2 empty periods breach
    ("notBreaching", 0.9, "OK"),
    ("ignore", 0.9, "OK"),
])
def test_treat_missing_data(moto_backend, missing, value, expected):
    name = alarm(missing=missing)
    put_metric(value, at(2))  # the periods at(0) and at(1) have no data
    assert state(name) == expected


def test_breaching_missing_data_can_hold_an_alarm_that_real_data_would_clear(moto_backend):
    name = alarm(periods=3, to_alarm=3, missing="breaching")
    put_metric(0.9, at(0))
    assert state(name) == "ALARM"  # 1 real + 2 missing periods breach
    put_metric(0.0, at(4))  # at(3) and at(2) missing, at(4) fine: 2 of 3 breach, 3 needed
    assert state(name) == "OK"


def test_data_of_another_unit_or_dimension_leaves_insufficient_data(moto_backend):
    name = alarm(Unit="Count")
    put_metric(0.9, at(0), unit="Seconds")
    put_metric(0.9, at(0), dimensions=[{"Name": "Project", "Value": "other"}], unit="Count")
    assert state(name) == "INSUFFICIENT_DATA"


def test_updating_an_alarm_keeps_its_state(moto_backend):
    name = alarm(periods=1, to_alarm=1)
    put_metric(0.9, at(0))
    assert state(name) == "ALARM"
    alarm(periods=1, to_alarm=1, AlarmDescription="now described")
    assert state(name) == "ALARM"


# --- state change events ---------------------------------------------------------------------

def test_only_transitions_emit_the_state_change_event_in_cloudwatch_format(inbox):
    name = alarm(periods=1, to_alarm=1, AlarmDescription="drift of the churn features")
    put_metric(0.9, at(0))
    put_metric(0.8, at(1))  # still ALARM: no event
    put_metric(0.95, at(2))
    got = [m["body"] for m in received(inbox)]
    assert len(got) == 1
    event = got[0]
    alarm_arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"
    assert {k: event[k] for k in ("version", "detail-type", "source", "account", "region",
                                  "resources")} == {
        "version": "0", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": ACCOUNT, "region": REGION,
        "resources": [alarm_arn]}
    assert datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
    detail = event["detail"]
    assert detail["alarmName"] == name
    assert detail["state"]["value"] == "ALARM"
    assert detail["state"]["reason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints")
    assert json.loads(detail["state"]["reasonData"])["recentDatapoints"] == [0.9]
    assert detail["previousState"] == {"value": "INSUFFICIENT_DATA",
                                       "reason": "Unchecked: Initial alarm creation",
                                       "timestamp": detail["previousState"]["timestamp"]}
    assert detail["configuration"]["description"] == "drift of the churn features"
    [metric] = detail["configuration"]["metrics"]
    assert metric["returnData"] is True
    assert metric["metricStat"] == {
        "metric": {"namespace": NAMESPACE, "name": METRIC, "dimensions": {"Project": "churn"}},
        "period": PERIOD, "stat": "Maximum"}


def test_set_alarm_state_emits_on_change_only_and_runs_the_actions(inbox):
    sns = client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url, arn = queue("alerts-inbox")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})
    name = alarm(AlarmActions=[topic], InsufficientDataActions=[topic])
    cw = client("cloudwatch")
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing the route")
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="again")  # no change
    cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="back")  # no OK actions
    states = [(e["body"]["detail"]["previousState"]["value"], e["body"]["detail"]["state"]["value"])
              for e in received(inbox)]
    assert states == [("INSUFFICIENT_DATA", "ALARM"), ("ALARM", "OK")]
    notes = [m["body"] for m in received(url)]
    assert [(n["NewStateValue"], n["NewStateReason"]) for n in notes] == [
        ("ALARM", "testing the route")]


def test_disabled_actions_do_not_run_but_the_event_is_sent(inbox):
    sns = client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url, arn = queue("alerts-inbox")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})
    name = alarm(periods=1, to_alarm=1, AlarmActions=[topic], ActionsEnabled=False)
    put_metric(0.9, at(0))
    assert state(name) == "ALARM"
    assert received(url) == []
    assert len(received(inbox)) == 1


# --- 2. EventBridge starts pipelines ---------------------------------------------------------

def test_the_drift_rule_starts_the_pipeline_with_exactly_its_parameters(moto_backend):
    create_pipeline()
    create_pipeline(name="other-pipeline")
    rule("retrain-drift", drift_pattern(), pipeline_target())
    rule("retrain-other", drift_pattern("another-alarm"), pipeline_target("other-pipeline"))
    name = alarm(periods=1, to_alarm=1)
    put_metric(0.9, at(0))  # -> ALARM: matches retrain-drift only
    put_metric(0.0, at(1))  # -> OK: matches neither
    put_metric(0.9, at(2))  # -> ALARM again: a second execution
    assert state(name) == "ALARM"
    started = executions()
    assert len(started) == 2
    assert all(e["parameters"] == PARAMETERS for e in started)
    assert executions(name="other-pipeline") == []
    sm = client("sagemaker")
    described = sm.describe_pipeline_execution(PipelineExecutionArn=started[0]["arn"])
    assert described["PipelineArn"] == pipeline_arn()
    recorded = events.deliveries()
    assert [d.execution_arn for d in recorded] == [e["arn"] for e in started]
    assert {d.rule_arn.rsplit("/", 1)[-1] for d in recorded} == {"retrain-drift"}


def test_put_events_starts_pipelines_and_moto_still_delivers_the_rest(moto_backend):
    create_pipeline()
    url, arn = queue("copies")
    pattern = {"source": ["mlops.test"], "detail": {"project": ["churn"]}}
    rule("on", pattern, pipeline_target(parameters=[{"Name": "TriggerSource", "Value": "test"}]),
         {"Id": "copy", "Arn": arn})
    rule("off", pattern, pipeline_target(), {"Id": "copy", "Arn": arn}, state_value="DISABLED")
    eb = client("events")
    eb.put_events(Entries=[
        {"Source": "mlops.test", "DetailType": "t", "Detail": json.dumps({"project": "churn"})},
        {"Source": "mlops.test", "DetailType": "t", "Detail": json.dumps({"project": "fraud"})}])
    assert [e["parameters"] for e in executions()] == [[{"Name": "TriggerSource",
                                                         "Value": "test"}]]
    copies = received(url)
    assert [c["body"]["detail"] for c in copies] == [{"project": "churn"}]  # once: "off" is off


def test_an_input_transformer_does_not_reach_the_pipeline_parameters(moto_backend):
    create_pipeline()
    transformer = {"InputPathsMap": {"key": "$.detail.key"}, "InputTemplate": '{"k": <key>}'}
    rule("transformed", {"source": ["mlops.test"]}, pipeline_target(InputTransformer=transformer))
    client("events").put_events(Entries=[{"Source": "mlops.test", "DetailType": "t",
                                          "Detail": json.dumps({"key": "x"})}])
    assert [e["parameters"] for e in executions()] == [PARAMETERS]


def test_a_missing_pipeline_sends_the_event_to_the_dead_letter_queue(moto_backend):
    url, dlq = queue("retrain-dead-letters")
    rule_arn = rule("retrain-drift", drift_pattern(),
                    pipeline_target("no-such-pipeline", DeadLetterConfig={"Arn": dlq}))
    name = alarm(periods=1, to_alarm=1)
    put_metric(0.9, at(0))
    [letter] = received(url)
    assert letter["body"]["detail-type"] == "CloudWatch Alarm State Change"
    assert letter["body"]["detail"]["alarmName"] == name
    assert letter["attributes"] == {
        "ERROR_CODE": "ResourceNotFound",
        "ERROR_MESSAGE": f"Pipeline '{pipeline_arn('no-such-pipeline')}' does not exist.",
        "RULE_ARN": rule_arn, "TARGET_ARN": pipeline_arn("no-such-pipeline"),
        "RETRY_ATTEMPTS": "0"}
    [delivery] = events.deliveries()
    assert isinstance(delivery.error, PipelineNotFound)
    assert (delivery.started, delivery.dead_letter_arn) == (False, dlq)


def test_the_callback_hears_of_each_started_execution(moto_backend):
    create_pipeline()
    rule("retrain-test", {"source": ["mlops.test"]}, pipeline_target())
    heard: list[tuple[str, str, dict[str, str]]] = []
    unregister = events.on_pipeline_started(lambda *args: heard.append(args))

    def broken(*_: Any) -> None:
        raise RuntimeError("a callback that fails")

    events.on_pipeline_started(broken)  # logged; the request and the other callbacks go on
    entry = {"Source": "mlops.test", "DetailType": "t", "Detail": "{}"}
    client("events").put_events(Entries=[entry])
    unregister()
    client("events").put_events(Entries=[entry])
    first, second = events.deliveries()
    assert heard == [(PIPELINE, first.execution_arn,
                      {p["Name"]: p["Value"] for p in PARAMETERS})]
    assert second.started  # started with no callback to hear of it
    assert {e["arn"] for e in executions()} == {first.execution_arn, second.execution_arn}


# --- 3. S3 sends Object Created --------------------------------------------------------------

def raw_bucket(eventbridge: bool = True) -> Any:
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    if eventbridge:
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}})
    return s3


NEW_DATA = {"source": ["aws.s3"], "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [BUCKET]},
                       "object": {"key": [{"prefix": "incoming/churn/"}]}}}


def test_new_data_under_the_prefix_starts_the_pipeline(inbox):
    create_pipeline()
    rule("retrain-new-data", NEW_DATA, pipeline_target(
        parameters=[{"Name": "TriggerSource", "Value": "new-data"}]))
    s3 = raw_bucket()
    s3.put_object(Bucket=BUCKET, Key="incoming/churn/2024-03-11.csv", Body=b"a,b\n1,2\n")
    s3.put_object(Bucket=BUCKET, Key="incoming/fraud/2024-03-11.csv", Body=b"a\n")
    s3.copy_object(Bucket=BUCKET, Key="incoming/churn/copy.csv",
                   CopySource={"Bucket": BUCKET, "Key": "incoming/fraud/2024-03-11.csv"})
    assert [e["parameters"] for e in executions()] == [
        [{"Name": "TriggerSource", "Value": "new-data"}]] * 2
    got = [m["body"] for m in received(inbox)]
    assert [(e["detail"]["object"]["key"], e["detail"]["reason"]) for e in got] == [
        ("incoming/churn/2024-03-11.csv", "PutObject"),
        ("incoming/fraud/2024-03-11.csv", "PutObject"),
        ("incoming/churn/copy.csv", "CopyObject")]
    first = got[0]
    assert {k: first[k] for k in ("detail-type", "source", "account", "region", "resources")} == {
        "detail-type": "Object Created", "source": "aws.s3", "account": ACCOUNT,
        "region": REGION, "resources": [f"arn:aws:s3:::{BUCKET}"]}
    etag = s3.head_object(Bucket=BUCKET, Key="incoming/churn/2024-03-11.csv")["ETag"].strip('"')
    detail = first["detail"]
    assert detail["bucket"] == {"name": BUCKET}
    assert {k: detail["object"][k] for k in ("key", "size", "etag")} == {
        "key": "incoming/churn/2024-03-11.csv", "size": 8, "etag": etag}
    assert {"version", "request-id", "requester", "source-ip-address"} <= set(detail)
    assert len({e["id"] for e in got}) == 3  # a fresh id per event


def test_multipart_uploads_send_complete_multipart_upload(inbox):
    s3 = raw_bucket()
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="incoming/churn/big.csv")
    part = s3.upload_part(Bucket=BUCKET, Key="incoming/churn/big.csv", PartNumber=1,
                          UploadId=upload["UploadId"], Body=b"x" * 10)
    s3.complete_multipart_upload(Bucket=BUCKET, Key="incoming/churn/big.csv",
                                 UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1,
                                                             "ETag": part["ETag"]}]})
    [event] = [m["body"] for m in received(inbox)]  # one event, not a PutObject as well
    assert (event["detail"]["reason"], event["detail"]["object"]["size"]) == (
        "CompleteMultipartUpload", 10)


def test_a_bucket_without_eventbridge_notifications_sends_nothing(inbox):
    create_pipeline()
    rule("retrain-new-data", NEW_DATA, pipeline_target())
    raw_bucket(eventbridge=False).put_object(Bucket=BUCKET, Key="incoming/churn/x.csv", Body=b"1")
    assert received(inbox) == []
    assert executions() == []


def test_s3_events_go_to_the_default_bus_only(moto_backend):
    eb = client("events")
    eb.create_event_bus(Name="custom")
    url, arn = queue("custom-inbox")
    eb.put_rule(Name="custom-s3", EventBusName="custom", EventPattern=json.dumps(
        {"source": ["aws.s3"]}))
    eb.put_targets(Rule="custom-s3", EventBusName="custom", Targets=[{"Id": "q", "Arn": arn}])
    raw_bucket().put_object(Bucket=BUCKET, Key="incoming/churn/x.csv", Body=b"1")
    assert received(url) == []


# --- the sandbox server ----------------------------------------------------------------------

@pytest.mark.slow  # a real sandbox server
def test_the_sandbox_server_runs_the_triggers(sandbox):
    from mlops.sandbox import server

    state_, started = server.start()
    assert started

    def remote(service: str) -> Any:
        return boto3.client(service, endpoint_url=state_.endpoint, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    sm, eb, cw = remote("sagemaker"), remote("events"), remote("cloudwatch")
    create_pipeline(sm)
    rule("retrain-drift", drift_pattern(), pipeline_target(), events_client=eb)
    name = alarm_remote(cw)
    cw.put_metric_data(Namespace=NAMESPACE, MetricData=[{
        "MetricName": METRIC, "Dimensions": DIMENSIONS, "Timestamp": at(0), "Value": 0.9}])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "ALARM"
    assert [e["parameters"] for e in executions(sm)] == [PARAMETERS]


def alarm_remote(cw: Any) -> str:
    cw.put_metric_alarm(
        AlarmName="mlops-dev-churn-drift", Namespace=NAMESPACE, MetricName=METRIC,
        Dimensions=DIMENSIONS, Statistic="Maximum", Period=PERIOD, EvaluationPeriods=1,
        Threshold=0.2, ComparisonOperator="GreaterThanOrEqualToThreshold")
    return "mlops-dev-churn-drift"


def test_delivery_records_are_typed(moto_backend):
    delivery = Delivery(event_id="e", rule_arn="r", target_id="t", pipeline_arn=pipeline_arn(),
                        parameters={})
    assert not delivery.started
    assert events.is_pipeline_arn(pipeline_arn())
    assert not events.is_pipeline_arn(f"{pipeline_arn()}/execution/abc")
    assert not events.is_pipeline_arn(f"arn:aws:sqs:{REGION}:{ACCOUNT}:q")
