"""Retraining triggers in the sandbox: what CloudWatch, EventBridge and S3 do in AWS with no code
of ours in the path, and moto does not. :mod:`mlops.sandbox.moto_patches` installs these as
patches (``install_patches``), for the sandbox server's life or one in-process test.

Alarms. moto stores metric data and alarms but never evaluates one, starts every alarm in
``OK`` and runs no actions. With the patches a new alarm starts in ``INSUFFICIENT_DATA`` (an
updated one keeps its state), and each PutMetricData evaluates every standard alarm on the
metrics it wrote (:func:`evaluate`): the alarm's statistic over each ``Period`` (periods aligned
to the epoch, as CloudWatch aligns them to the clock), the last ``EvaluationPeriods`` periods up to
the period of the metric's newest datapoint ("now" is that period's end, so explicit timestamps
give deterministic results), ``ALARM`` when at least ``DatapointsToAlarm`` of them breach,
``TreatMissingData`` for the periods without data. A state change (and a SetAlarmState that
changes the state) runs the alarm's SNS actions for the new state with CloudWatch's notification
and puts a "CloudWatch Alarm State Change" event on the default bus.

Event delivery. moto delivers events to log groups, SQS queues, archives and event buses, but
raises for a SageMaker pipeline target and delivers to disabled rules too. With the patches a
rule delivers only when enabled and matched (moto's ``EventPattern``); each SageMaker pipeline
target starts an execution with its static ``PipelineParameterList`` (EventBridge passes no event
data to a pipeline), and a failed start goes to the target's dead-letter queue. Every delivery to a
pipeline target is recorded (:func:`deliveries`) and reported to the callbacks registered with
:func:`on_pipeline_started`.

S3. moto routes an object event to every rule of every bus of the region, in its own shape
(``eTag``, ``reason`` ``ObjectCreated``, one fixed event id). With the patches a bucket whose
notification configuration enables EventBridge puts AWS's event (:func:`s3_event`) on the
default bus of its region, and nowhere else. See docs/sandbox.md.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from mlops.sandbox.alarms import notification

log = logging.getLogger(__name__)

DEFAULT_BUS = "default"
ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"
INITIAL_REASON = "Unchecked: Initial alarm creation"
ENABLED_STATES = ("ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")

# ComparisonOperator -> (breaches(value, threshold), the words CloudWatch's reasons use).
COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
# S3 notification event -> EventBridge detail-type and reason (S3 User Guide, "EventBridge event
# message structure"); the events S3 sends to EventBridge that the sandbox produces.
S3_EVENTS: dict[str, tuple[str, str]] = {
    "s3:ObjectCreated:Put": ("Object Created", "PutObject"),
    "s3:ObjectCreated:Post": ("Object Created", "POST Object"),
    "s3:ObjectCreated:Copy": ("Object Created", "CopyObject"),
    "s3:ObjectCreated:CompleteMultipartUpload": ("Object Created", "CompleteMultipartUpload"),
    "s3:ObjectRemoved:Delete": ("Object Deleted", "DeleteObject"),
    "s3:ObjectRemoved:DeleteMarkerCreated": ("Object Deleted", "DeleteObject"),
}
_DELETION_TYPES = {"s3:ObjectRemoved:Delete": "Permanently Deleted",
                   "s3:ObjectRemoved:DeleteMarkerCreated": "Delete Marker Created"}


# --- deliveries to pipeline targets, and the hook -------------------------------------------

PipelineStarted = Callable[[str, str, dict[str, str]], None]
"""A callback of :func:`on_pipeline_started`: (pipeline name, execution ARN, parameters)."""

_LOCK = threading.Lock()
_CALLBACKS: list[PipelineStarted] = []


class DeliveryError(Exception):
    """A pipeline target could not be invoked; ``code`` and ``message`` are what EventBridge
    writes to the dead-letter queue as ``ERROR_CODE`` and ``ERROR_MESSAGE``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PipelineNotFound(DeliveryError):
    """The target names a pipeline that does not exist (SageMaker's ``ResourceNotFound``)."""

    def __init__(self, pipeline_arn: str) -> None:
        super().__init__("ResourceNotFound", f"Pipeline '{pipeline_arn}' does not exist.")


@dataclass(frozen=True)
class Delivery:
    """One event delivered (or not) to one SageMaker pipeline target."""

    event_id: str
    rule_arn: str
    target_id: str
    pipeline_arn: str
    parameters: dict[str, str]
    execution_arn: str | None = None
    error: DeliveryError | None = None
    dead_letter_arn: str | None = None  # where the failed event went, if anywhere

    @property
    def started(self) -> bool:
        return self.execution_arn is not None


_DELIVERIES: list[Delivery] = []


def on_pipeline_started(callback: PipelineStarted) -> Callable[[], None]:
    """Call ``callback(pipeline_name, execution_arn, parameters)`` after each execution an
    EventBridge target starts, in the delivering request's thread; returns what unregisters it.
    An exception in a callback is logged: the execution stays started, the request succeeds."""
    with _LOCK:
        _CALLBACKS.append(callback)

    def unregister() -> None:
        with _LOCK:
            if callback in _CALLBACKS:
                _CALLBACKS.remove(callback)

    return unregister


def deliveries() -> list[Delivery]:
    """Every delivery to a pipeline target since the patches were installed, oldest first."""
    with _LOCK:
        return list(_DELIVERIES)


def reset() -> None:
    """Forget the deliveries and the callbacks (the patches do, when they are removed)."""
    with _LOCK:
        _DELIVERIES.clear()
        _CALLBACKS.clear()


def _record(delivery: Delivery) -> None:
    with _LOCK:
        _DELIVERIES.append(delivery)


# --- alarm evaluation (pure) -----------------------------------------------------------------

@dataclass(frozen=True)
class AlarmSpec:
    """What a standard metric alarm evaluates, read from moto's alarm."""

    name: str
    namespace: str
    metric_name: str
    dimensions: frozenset[tuple[str, str]]
    statistic: str  # Average, Sum, SampleCount, Minimum, Maximum, or pNN(.N)
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    comparison: str
    threshold: float
    treat_missing_data: str
    unit: str | None

    @classmethod
    def of(cls, alarm: Any) -> AlarmSpec | None:
        """The spec of a moto alarm, or None when the sandbox does not evaluate it (metric math,
        anomaly detection bands, composite alarms, statistics other than pNN)."""
        statistic = alarm.statistic or alarm.extended_statistic
        if (alarm.metric_data_queries or not alarm.metric_name or alarm.comparison_operator
                not in COMPARISONS or not statistic or not _known_statistic(statistic)):
            return None
        periods = int(alarm.evaluation_periods)
        return cls(
            name=alarm.name, namespace=alarm.namespace, metric_name=alarm.metric_name,
            dimensions=frozenset((d.name, d.value) for d in alarm.dimensions),
            statistic=statistic, period=int(alarm.period), evaluation_periods=periods,
            datapoints_to_alarm=int(alarm.datapoints_to_alarm or periods),
            comparison=alarm.comparison_operator, threshold=float(alarm.threshold),
            treat_missing_data=alarm.treat_missing_data or "missing", unit=alarm.unit)


def _known_statistic(statistic: str) -> bool:
    if statistic in ("Average", "Sum", "SampleCount", "Minimum", "Maximum"):
        return True
    try:
        return statistic.startswith("p") and 0 <= float(statistic[1:]) <= 100
    except ValueError:
        return False


@dataclass(frozen=True)
class Datum:
    """One stored datapoint: a value, or a statistic set (``StatisticValues``)."""

    timestamp: datetime
    sample_count: float
    total: float
    minimum: float
    maximum: float
    values: tuple[float, ...] = ()  # the raw values, for percentiles (empty for statistic sets)

    @classmethod
    def of(cls, datum: Any) -> Datum:
        stamp = _utc(datum.timestamp)
        if hasattr(datum, "value"):
            value = float(datum.value)
            return cls(stamp, 1.0, value, value, value, (value,))
        return cls(stamp, float(datum.sample_count), float(datum.sum), float(datum.min),
                   float(datum.max))


@dataclass(frozen=True)
class Evaluation:
    """The state an evaluation arrives at, with CloudWatch's reason and reason data."""

    state: str
    reason: str
    reason_data: dict[str, Any]


def statistic(name: str, data: Sequence[Datum]) -> float | None:
    """The statistic of one period's datapoints; None when the period has none usable."""
    count = sum(d.sample_count for d in data)
    if not data or count <= 0:
        return None
    table: dict[str, Callable[[], float]] = {
        "SampleCount": lambda: count,
        "Sum": lambda: sum(d.total for d in data),
        "Average": lambda: sum(d.total for d in data) / count,
        "Minimum": lambda: min(d.minimum for d in data),
        "Maximum": lambda: max(d.maximum for d in data),
    }
    if name in table:
        return table[name]()
    values = sorted(v for d in data for v in d.values)
    if not values:  # percentiles of statistic sets: CloudWatch cannot either
        return None
    rank = max(1, math.ceil(float(name[1:]) / 100 * len(values)))  # nearest rank
    return values[rank - 1]


def evaluate(spec: AlarmSpec, data: Iterable[Datum], current: str) -> Evaluation | None:
    """Evaluate the alarm over its last ``EvaluationPeriods`` periods ending with the period of
    the newest datapoint; None when the state is kept (``ignore`` with no data in range)."""
    data = list(data)
    if not data:  # no metric data at all: nothing to evaluate against, the state is kept
        return None
    period = spec.period
    newest = max(_epoch(d.timestamp) for d in data)
    end = (newest // period + 1) * period  # "now": the newest datapoint's period end
    starts = [end - period * (i + 1) for i in range(spec.evaluation_periods)]  # newest first
    buckets: dict[int, list[Datum]] = {s: [] for s in starts}
    for datum in data:
        start = _epoch(datum.timestamp) // period * period
        if start in buckets:
            buckets[start].append(datum)
    values = {s: statistic(spec.statistic, buckets[s]) for s in starts}
    present = [s for s in starts if values[s] is not None]
    if not present:
        if spec.treat_missing_data == "ignore":
            return None
        if spec.treat_missing_data == "missing":
            return _insufficient(spec, len(starts))
    breaches, words = COMPARISONS[spec.comparison]

    def breaching(start: int) -> bool:
        value = values[start]
        if value is None:
            return spec.treat_missing_data == "breaching"
        return breaches(value, spec.threshold)

    breaching_starts = [s for s in starts if breaching(s)]
    state = "ALARM" if len(breaching_starts) >= spec.datapoints_to_alarm else "OK"
    shown = breaching_starts if state == "ALARM" else [s for s in starts if not breaching(s)]
    return Evaluation(state, _reason(spec, state, current, shown, values, words),
                      _reason_data(spec, end, starts, values))


def _insufficient(spec: AlarmSpec, count: int) -> Evaluation:
    return Evaluation("INSUFFICIENT_DATA",
                      f"Insufficient Data: {count} datapoint{'s were' if count > 1 else ' was'} "
                      "unknown.", {"version": "1.0", "statistic": spec.statistic,
                                   "period": spec.period, "recentDatapoints": [],
                                   "threshold": spec.threshold})


def _reason(spec: AlarmSpec, state: str, current: str, shown: list[int],
            values: Mapping[int, float | None], words: str) -> str:
    """CloudWatch's "Threshold Crossed" reason: the datapoints that decided, newest first."""
    points = ", ".join(f"{_number(values[s])} ({_stamp(s)})" for s in shown)
    verb = ("was" if len(shown) == 1 else "were") + ("" if state == "ALARM" else " not")
    needed = spec.datapoints_to_alarm if state == "ALARM" else (
        spec.evaluation_periods - spec.datapoints_to_alarm + 1)
    plural = "s" if needed != 1 else ""
    return (f"Threshold Crossed: {len(shown)} out of the last {spec.evaluation_periods} "
            f"datapoints [{points}] {verb} {words} the threshold ({spec.threshold}) "
            f"(minimum {needed} datapoint{plural} for {current} -> {state} transition).")


def _reason_data(spec: AlarmSpec, end: int, starts: list[int],
                 values: Mapping[int, float | None]) -> dict[str, Any]:
    return {
        "version": "1.0",
        "queryDate": _cloudwatch_time(datetime.fromtimestamp(end, UTC)),
        "startDate": _cloudwatch_time(datetime.fromtimestamp(starts[-1], UTC)),
        "statistic": spec.statistic,
        "period": spec.period,
        "recentDatapoints": [values[s] for s in reversed(starts) if values[s] is not None],
        "threshold": spec.threshold,
        "evaluatedDatapoints": [
            {"timestamp": _cloudwatch_time(datetime.fromtimestamp(s, UTC)), "value": values[s]}
            if values[s] is not None else
            {"timestamp": _cloudwatch_time(datetime.fromtimestamp(s, UTC))}
            for s in starts],
    }


def _number(value: float | None) -> str:
    return "missing" if value is None else repr(float(value))


def _stamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%d/%m/%y %H:%M:%S")


def _utc(stamp: Any) -> datetime:
    if isinstance(stamp, str):
        stamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _epoch(stamp: datetime) -> int:
    return int(_utc(stamp).timestamp())


def _cloudwatch_time(stamp: datetime) -> str:
    """CloudWatch's timestamps in events and reasons: 2019-10-02T17:04:40.989+0000."""
    stamp = _utc(stamp)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


def _event_time(stamp: datetime) -> str:
    """EventBridge's ``time``: 2019-10-02T17:04:40Z."""
    return _utc(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- alarm state changes: actions and events -------------------------------------------------

@dataclass(frozen=True)
class AlarmState:
    """An alarm's state as the state change event shows it."""

    value: str
    reason: str
    reason_data: str | None
    timestamp: datetime

    @classmethod
    def of(cls, alarm: Any) -> AlarmState:
        return cls(alarm.state_value, alarm.state_reason, alarm.state_reason_data,
                   _utc(alarm.state_updated_timestamp))

    def detail(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "reason": self.reason,
                               "timestamp": _cloudwatch_time(self.timestamp)}
        if self.reason_data and self.reason_data != "{}":
            out["reasonData"] = self.reason_data
        return out


def evaluate_alarms(backend: Any, namespace: str, metric_data: Sequence[Mapping[str, Any]]
                    ) -> None:
    """After PutMetricData: evaluate each alarm on a metric (name and dimensions) just written."""
    written = {(m["MetricName"], _dimensions(m.get("Dimensions") or [])) for m in metric_data}
    for alarm in list(backend.alarms.values()):
        spec = AlarmSpec.of(alarm)
        if spec is None or spec.namespace != namespace or (
                (spec.metric_name, spec.dimensions) not in written):
            continue
        data = [Datum.of(d) for d in backend.metric_data
                if d.namespace == namespace and d.name == spec.metric_name
                and frozenset((x.name, x.value) for x in d.dimensions) == spec.dimensions
                and (spec.unit is None or d.unit == spec.unit)]
        result = evaluate(spec, data, alarm.state_value)
        if result is not None and result.state != alarm.state_value:
            previous = AlarmState.of(alarm)
            alarm.update_state(result.reason, json.dumps(result.reason_data), result.state)
            state_changed(backend, alarm, previous)


def _dimensions(dimensions: Iterable[Mapping[str, Any]]) -> frozenset[tuple[str, str]]:
    return frozenset((str(d["Name"]), str(d["Value"])) for d in dimensions)


def state_changed(backend: Any, alarm: Any, previous: AlarmState) -> None:
    """What CloudWatch does after an alarm changed state: its actions for the new state, and
    the state change event on the default bus."""
    current = AlarmState.of(alarm)
    account, region = backend.account_id, backend.region_name
    if alarm.actions_enabled:
        _run_actions(account, region, alarm, previous, current)
    put_event(account, region, alarm_event(alarm, previous, current, account, region))


_ACTIONS = {"ALARM": "alarm_actions", "OK": "ok_actions",
            "INSUFFICIENT_DATA": "insufficient_data_actions"}


def _run_actions(account: str, region: str, alarm: Any, previous: AlarmState,
                 current: AlarmState) -> None:
    """Publish CloudWatch's notification to each SNS topic among the new state's actions (other
    action types are not simulated); a topic that cannot take it is logged, as CloudWatch
    records a failed action in the alarm's history."""
    from moto.core.exceptions import ServiceException
    from moto.sns.models import sns_backends

    body = json.dumps(alarm_notification(alarm, previous, current, region))
    subject = f'{current.value}: "{alarm.name}" in {region}'[:100]
    for action in getattr(alarm, _ACTIONS[current.value]) or []:
        parts = action.split(":")
        if parts[2:3] != ["sns"]:
            continue
        try:
            sns_backends[parts[4]][parts[3]].publish(message=body, arn=action, subject=subject)
        except ServiceException as exc:
            log.warning("alarm %s: action %s failed: %s", alarm.name, action, exc)


def alarm_notification(alarm: Any, previous: AlarmState, current: AlarmState, region: str
                       ) -> dict[str, Any]:
    """The message CloudWatch publishes to an SNS action (:func:`mlops.sandbox.alarms.
    notification`, for this transition)."""
    described = {
        "AlarmName": alarm.name, "AlarmDescription": alarm.description,
        "AlarmArn": alarm.alarm_arn, "StateValue": previous.value,
        "MetricName": alarm.metric_name, "Namespace": alarm.namespace,
        "Statistic": alarm.statistic or alarm.extended_statistic, "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
        "ComparisonOperator": alarm.comparison_operator, "Threshold": alarm.threshold,
        "Dimensions": [{"Name": d.name, "Value": d.value} for d in alarm.dimensions],
    }
    message = notification(described, current.reason, region)
    message["NewStateValue"] = current.value
    message["StateChangeTime"] = _cloudwatch_time(current.timestamp)
    message["AlarmConfigurationUpdatedTimestamp"] = _cloudwatch_time(
        alarm.configuration_updated_timestamp)
    message["Trigger"].update({
        "Unit": alarm.unit, "DatapointsToAlarm": alarm.datapoints_to_alarm,
        "TreatMissingData": alarm.treat_missing_data or "",
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or ""})
    return message


def alarm_event(alarm: Any, previous: AlarmState, current: AlarmState, account: str,
                region: str) -> dict[str, Any]:
    """The "CloudWatch Alarm State Change" event of a single-metric alarm (CloudWatch User
    Guide, "Alarm events and EventBridge"), with ``time`` as moto's delivery wants it."""
    metric: dict[str, Any] = {"namespace": alarm.namespace, "name": alarm.metric_name}
    if alarm.dimensions:
        metric["dimensions"] = {d.name: d.value for d in alarm.dimensions}
    configuration: dict[str, Any] = {"metrics": [{
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, alarm.alarm_arn)),
        "metricStat": {"metric": metric, "period": alarm.period,
                       "stat": alarm.statistic or alarm.extended_statistic},
        "returnData": True}]}
    if alarm.description:
        configuration = {"description": alarm.description, **configuration}
    return _event("aws.cloudwatch", ALARM_STATE_CHANGE, account, region, [alarm.alarm_arn], {
        "alarmName": alarm.name, "state": current.detail(), "previousState": previous.detail(),
        "configuration": configuration}, current.timestamp)


def _event(source: str, detail_type: str, account: str, region: str, resources: list[str],
           detail: dict[str, Any], time: datetime) -> dict[str, Any]:
    """An event as moto's buses carry it (``time`` in epoch seconds; :func:`wire` for AWS's)."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type,
            "source": source, "account": account, "time": _utc(time).timestamp(),
            "region": region, "resources": resources, "detail": detail}


def wire(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as EventBridge delivers it: ``time`` as ``2019-10-02T17:04:40Z``."""
    out = {k: v for k, v in event.items() if k != "ingestion-time"}
    stamp = out.get("time")
    if isinstance(stamp, int | float):
        out["time"] = _event_time(datetime.fromtimestamp(stamp, UTC))
    elif isinstance(stamp, datetime):
        out["time"] = _event_time(stamp)
    return out


# --- S3 events -------------------------------------------------------------------------------

def s3_event(account: str, bucket: Any, event_name: str, key: Any) -> dict[str, Any] | None:
    """The event S3 sends to EventBridge for ``event_name`` (S3 User Guide, "EventBridge event
    message structure"), or None for the event types the sandbox does not send."""
    name = str(getattr(event_name, "value", event_name))  # moto passes its S3NotificationEvent
    kind = S3_EVENTS.get(name)
    if kind is None:
        return None
    if name == "s3:ObjectCreated:Put" and getattr(key, "multipart", None) is not None:
        return None  # moto's CompleteMultipartUpload stores the object with a PutObject event too
    detail_type, reason = kind
    obj: dict[str, Any] = {"key": key.name, "etag": str(key.etag).strip('"')}
    if detail_type == "Object Created":
        obj["size"] = key.size
    if key.version_id and key.version_id != "null":
        obj["version-id"] = key.version_id
    obj["sequencer"] = f"{int(datetime.now(UTC).timestamp() * 1e6):016X}"
    detail: dict[str, Any] = {
        "version": "0", "bucket": {"name": bucket.name}, "object": obj,
        "request-id": uuid.uuid4().hex[:16].upper(), "requester": account,
        "source-ip-address": "127.0.0.1", "reason": reason}
    if name in _DELETION_TYPES:
        detail["deletion-type"] = _DELETION_TYPES[name]
    return _event("aws.s3", detail_type, account, bucket.region_name,
                  [f"arn:aws:s3:::{bucket.name}"], detail, datetime.now(UTC))


def send_s3_event(account: str, bucket: Any, event_name: str, key: Any) -> None:
    """Replaces moto's S3-to-EventBridge routing (moto checks that the bucket's configuration
    enables EventBridge before calling it)."""
    event = s3_event(account, bucket, event_name, key)
    if event is not None:
        put_event(account, bucket.region_name, event)


# --- the bus and its rules -------------------------------------------------------------------

def put_event(account: str, region: str, event: dict[str, Any], bus: str = DEFAULT_BUS) -> None:
    """Put an AWS service's event on a bus: every rule of the bus delivers it (as
    :func:`deliver`). A delivery that fails never fails the API call that caused the event."""
    from moto.events.models import events_backends

    buses = events_backends[account][region].event_buses
    if bus not in buses:
        return
    rules: list[Any] = list(buses[bus].rules.values())
    for rule in rules:
        rule.send_to_targets(event)


def deliver(rule: Any, event: Mapping[str, Any], moto_send: Callable[..., None],
            transform_input: bool = True) -> None:
    """Deliver an event to an enabled rule whose pattern matches it: pipeline targets here,
    every other target through moto (``moto_send``, its original ``send_to_targets``), one at a
    time, so that one failing target does not keep the event from the others. A target without
    an ``InputTransformer`` gets the whole event; with one, moto's transformation."""
    if rule.state not in ENABLED_STATES or not rule.event_pattern.matches_event(event):
        return
    for target in list(rule.targets):
        if is_pipeline_arn(target["Arn"]):
            start_pipeline(rule, target, event)
            continue
        single = _with_targets(rule, [target])
        try:
            if target.get("InputTransformer") and transform_input:
                moto_send(single, {"ingestion-time": event.get("time"), **event})
            else:  # the whole event, as EventBridge sends it (moto's default template drops
                # ``account``)
                whole = {k: v for k, v in event.items() if k != "ingestion-time"}
                moto_send(single, whole, transform_input=False)
        except Exception as exc:  # noqa: BLE001 (EventBridge delivers asynchronously: never fails the caller)
            log.warning("rule %s: delivery to %s failed: %s: %s", rule.arn, target["Arn"],
                        type(exc).__name__, exc)


def _with_targets(rule: Any, targets: list[dict[str, Any]]) -> Any:
    """A shallow copy of the rule with these targets (the rule itself is left alone, since the
    server delivers from several threads)."""
    single = object.__new__(type(rule))
    single.__dict__.update(rule.__dict__)
    single.targets = targets
    return single


def is_pipeline_arn(arn: str) -> bool:
    """``arn:aws:sagemaker:<region>:<account>:pipeline/<name>``."""
    parts = arn.split(":", 5)
    return (len(parts) == 6 and parts[2] == "sagemaker" and parts[5].startswith("pipeline/")
            and "/" not in parts[5].removeprefix("pipeline/"))


def start_pipeline(rule: Any, target: Mapping[str, Any], event: Mapping[str, Any]) -> Delivery:
    """StartPipelineExecution for a pipeline target, with its static parameters; a failure goes
    to the target's dead-letter queue. Recorded, and reported to the callbacks when started."""
    arn = str(target["Arn"])
    listed = (target.get("SageMakerPipelineParameters") or {}).get("PipelineParameterList") or []
    parameters = [{"Name": str(p["Name"]), "Value": str(p["Value"])} for p in listed]
    delivery = Delivery(event_id=str(event.get("id")), rule_arn=rule.arn,
                        target_id=str(target["Id"]), pipeline_arn=arn,
                        parameters={p["Name"]: p["Value"] for p in parameters})
    try:
        execution_arn = _start(arn, parameters)
    except DeliveryError as error:
        delivery = replace(delivery, error=error,
                           dead_letter_arn=_dead_letter(rule, target, event, error))
        _record(delivery)
        return delivery
    delivery = replace(delivery, execution_arn=execution_arn)
    _record(delivery)
    _notify(arn.rsplit("/", 1)[1], execution_arn, dict(delivery.parameters))
    return delivery


def _start(pipeline_arn: str, parameters: list[dict[str, str]]) -> str:
    from moto.core.exceptions import ServiceException
    from moto.sagemaker.models import sagemaker_backends

    _, _, _, region, account, resource = pipeline_arn.split(":", 5)
    name = resource.removeprefix("pipeline/")
    backend: Any = sagemaker_backends[account][region]
    if name not in backend.pipelines:
        raise PipelineNotFound(pipeline_arn)
    try:
        started = backend.start_pipeline_execution(
            pipeline_name=name, pipeline_execution_display_name=None,
            pipeline_parameters=parameters, pipeline_execution_description=None,
            parallelism_configuration=None, client_request_token=uuid.uuid4().hex)
    except ServiceException as exc:
        raise DeliveryError(str(exc.code), str(exc.message)) from exc
    return str(started["PipelineExecutionArn"])


def _dead_letter(rule: Any, target: Mapping[str, Any], event: Mapping[str, Any],
                 error: DeliveryError) -> str | None:
    """Send the event to the target's DLQ with the attributes EventBridge adds; the DLQ's ARN,
    or None when there is none or it cannot take the message (the event is then dropped)."""
    from moto.core.exceptions import ServiceException
    from moto.sqs.models import sqs_backends

    queue_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
    if not queue_arn:
        log.warning("rule %s: %s dropped the event: %s", rule.arn, target["Arn"], error)
        return None
    _, _, _, region, account, queue = str(queue_arn).split(":", 5)
    attributes = {"ERROR_CODE": error.code, "ERROR_MESSAGE": error.message,
                  "RULE_ARN": rule.arn, "TARGET_ARN": str(target["Arn"]), "RETRY_ATTEMPTS": "0"}
    try:
        sqs_backends[account][region].send_message(
            queue_name=queue, message_body=json.dumps(wire(event)),
            message_attributes={k: {"DataType": "String", "StringValue": v}
                                for k, v in attributes.items()})
    except ServiceException as exc:
        log.warning("rule %s: dead-letter queue %s failed: %s", rule.arn, queue_arn, exc)
        return None
    return str(queue_arn)


def _notify(pipeline: str, execution_arn: str, parameters: dict[str, str]) -> None:
    with _LOCK:
        callbacks = list(_CALLBACKS)
    for callback in callbacks:
        try:
            callback(pipeline, execution_arn, dict(parameters))
        except Exception:  # a callback's failure must not fail the request that caused it
            log.exception("pipeline started callback %r failed for %s", callback, execution_arn)


# --- the patches (installed by mlops.sandbox.moto_patches) -----------------------------------

Replace = Callable[[Any, str, Any], None]


def install_patches(replace_attribute: Replace) -> None:
    """Install the patches through moto_patches' ``_replace`` (which records what to restore)."""
    _patch_alarms(replace_attribute)
    _patch_rules(replace_attribute)
    _patch_s3(replace_attribute)


def _patch_alarms(replace_attribute: Replace) -> None:
    from moto.cloudwatch.models import CloudWatchBackend

    backend_cls: Any = CloudWatchBackend
    put_alarm, put_data = backend_cls.put_metric_alarm, backend_cls.put_metric_data
    set_state = backend_cls.set_alarm_state

    def put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        before = self.alarms.get(name)
        alarm = put_alarm(self, name, *args, **kwargs)
        if before is not None:  # an update keeps the state (CloudWatch re-evaluates it later)
            for attribute in ("state_value", "state_reason", "state_reason_data",
                              "state_updated_timestamp", "history"):
                setattr(alarm, attribute, getattr(before, attribute))
        else:
            alarm.state_value, alarm.state_reason = "INSUFFICIENT_DATA", INITIAL_REASON
        return alarm

    def put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        put_data(self, namespace, metric_data)
        evaluate_alarms(self, namespace, metric_data)

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str,
                        state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        previous = AlarmState.of(alarm) if alarm is not None else None
        set_state(self, alarm_name, reason, reason_data, state_value)
        if previous is not None and previous.value != state_value:
            state_changed(self, self.alarms[alarm_name], previous)

    replace_attribute(backend_cls, "put_metric_alarm", put_metric_alarm)
    replace_attribute(backend_cls, "put_metric_data", put_metric_data)
    replace_attribute(backend_cls, "set_alarm_state", set_alarm_state)


def _patch_rules(replace_attribute: Replace) -> None:
    from moto.events.models import Rule

    rule_cls: Any = Rule
    original = rule_cls.send_to_targets

    def send_to_targets(self: Any, event: Any, transform_input: bool = True) -> None:
        deliver(self, event, original, transform_input)

    replace_attribute(rule_cls, "send_to_targets", send_to_targets)


def _patch_s3(replace_attribute: Replace) -> None:
    from moto.s3 import notifications

    replace_attribute(notifications, "_send_event_bridge_message", send_s3_event)
