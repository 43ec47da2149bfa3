"""Trigger: the first step of a monitored project's training pipeline, the cool-down.

Runs in a SageMaker Processing container (standard library and boto3 only). It decides whether
this execution runs: a manual run always does; a triggered one (drift, new-data, schedule) is
skipped when another execution is in flight, or another that ran finished less than
``COOLDOWN_HOURS`` ago. It gathers what started the run (the drift alarm's state and recent
datapoints, or the new objects under the prefix), writes ``<ROOT>/output/trigger/trigger.json``
(read by the ``CoolDown`` condition through a property file) and puts the same JSON as the audit
record ``s3://AUDIT_BUCKET/AUDIT_PREFIX<execution-id>.json``, encrypted with ``KMS_KEY_ID`` and
never overwritten: a retried step reuses the decision already recorded. Exit 0 either way; 1 with
one line on an AWS error or missing settings.

Environment: PIPELINE_NAME, EXECUTION_ARN, TRIGGER_SOURCE, TRIGGER_DETAIL, COOLDOWN_HOURS,
AUDIT_BUCKET, AUDIT_PREFIX, KMS_KEY_ID, PROJECT, STACK; NOW (ISO 8601, tests) and
PROCESSING_ROOT (local runs) are optional.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

STARTED, SKIPPED = "started", "skipped: cool-down"
SOURCES = ("drift", "new-data", "schedule", "manual")
FINISHED = ("Succeeded", "Failed", "Stopped")
IN_FLIGHT = ("Executing", "Stopping")
MAX_OBJECTS = 20
REQUIRED = ("PIPELINE_NAME", "EXECUTION_ARN", "TRIGGER_SOURCE", "COOLDOWN_HOURS", "AUDIT_BUCKET",
            "AUDIT_PREFIX", "PROJECT", "STACK")


class SettingsError(Exception):
    """A required environment variable is missing or malformed."""


def execution_id(arn: str) -> str:
    """The execution id at the end of a pipeline execution ARN."""
    return arn.rstrip("/").rsplit("/", 1)[-1]


def stamp(moment: dt.datetime) -> str:
    """UTC time as the audit trail writes it (``2024-05-01T03:00:00.000000Z``)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return parse_time(str(value))


class Aws:
    """The few AWS reads and the one write of the trigger (boto3 clients from ``client``)."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        self._client = client
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._client(service)
        return self._clients[service]

    def executions(self, pipeline: str) -> list[dict[str, Any]]:
        """Every execution of the pipeline: arn, status, start time."""
        out = []
        paginator = self.client("sagemaker").get_paginator("list_pipeline_executions")
        for page in paginator.paginate(PipelineName=pipeline):
            for item in page.get("PipelineExecutionSummaries", []):
                out.append({"arn": item["PipelineExecutionArn"],
                            "status": item.get("PipelineExecutionStatus", ""),
                            "start": _utc(item["StartTime"])})
        return out

    def finished_at(self, arn: str) -> dt.datetime:
        got = self.client("sagemaker").describe_pipeline_execution(PipelineExecutionArn=arn)
        return _utc(got["LastModifiedTime"])

    def keys(self, bucket: str, prefix: str) -> set[str]:
        found: set[str] = set()
        paginator = self.client("s3").get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            found.update(str(o["Key"]) for o in page.get("Contents", []))
        return found

    def read(self, bucket: str, key: str) -> dict[str, Any]:
        body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return dict(json.loads(body))

    def put(self, bucket: str, key: str, body: bytes, kms_key: str | None) -> bool:
        """Write a new object; False when one is already there (never replaced)."""
        extra: dict[str, Any] = {"ServerSideEncryption": "aws:kms"}
        if kms_key:
            extra["SSEKMSKeyId"] = kms_key
        try:
            self.client("s3").put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*",
                                         ContentType="application/json", **extra)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed",
                                                             "ConditionalRequestConflict"):
                return False
            raise
        return True

    def alarm(self, name: str) -> dict[str, Any] | None:
        got = self.client("cloudwatch").describe_alarms(AlarmNames=[name])
        alarms = got.get("MetricAlarms") or got.get("CompositeAlarms") or []
        return dict(alarms[0]) if alarms else None

    def objects(self, bucket: str, prefix: str) -> list[dict[str, Any]]:
        out = []
        paginator = self.client("s3").get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                out.append({"key": item["Key"], "size": int(item.get("Size", 0)),
                            "modified": _utc(item["LastModified"])})
        return out


def decide(this: str, source: str, cooldown: dt.timedelta, now: dt.datetime,
           executions: list[dict[str, Any]], skipped: Callable[[str], bool | None],
           finished_at: Callable[[str], dt.datetime]) -> tuple[bool, str, dt.datetime | None]:
    """``(run, reason, start of the last execution that ran)``.

    ``skipped(arn)`` is True for an execution whose trigger record says it was skipped, False
    when it ran, None without a record (it counts as a run). Of two executions in flight with
    no record yet, the later one yields, so two triggers at once never both skip.
    """
    mine = next((e for e in executions if e["arn"] == this), None)
    others = sorted((e for e in executions if e["arn"] != this),
                    key=lambda e: e["start"], reverse=True)
    ran = [e for e in others if skipped(e["arn"]) is not True]
    last = ran[0]["start"] if ran else None
    if source == "manual":
        return True, "manual runs are never skipped", last
    for other in ran:
        if other["status"] in IN_FLIGHT:
            if skipped(other["arn"]) is None and mine is not None and other["start"] > mine["start"]:
                continue  # started after this one and not decided yet: it yields to this one
            return False, f"execution {execution_id(other['arn'])} is in flight", last
    hours = cooldown.total_seconds() / 3600
    for other in ran:
        if other["status"] not in FINISHED:
            continue
        ended = finished_at(other["arn"])
        if now - ended < cooldown:
            return False, (f"execution {execution_id(other['arn'])} finished "
                           f"({other['status']}) at {stamp(ended)}, within the cool-down of "
                           f"{hours:g} h"), last
    return True, f"no other execution in flight or finished within {hours:g} h", last


def evidence(aws: Aws, source: str, detail: str, since: dt.datetime | None) -> dict[str, Any]:
    """What started the run: the drift alarm, or the new objects since the last run."""
    if source == "drift" and detail:
        alarm = aws.alarm(detail)
        if alarm is None:
            return {"alarm": detail, "found": False}
        data = alarm.get("StateReasonData")
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data
        updated = alarm.get("StateUpdatedTimestamp")
        return {"alarm": detail, "found": True, "state": alarm.get("StateValue"),
                "reason": alarm.get("StateReason"), "reasonData": parsed,
                "updatedAt": stamp(_utc(updated)) if updated else None}
    if source == "new-data" and detail.startswith("s3://"):
        bucket, _, prefix = detail.removeprefix("s3://").partition("/")
        new = [o for o in aws.objects(bucket, prefix) if since is None or o["modified"] > since]
        new.sort(key=lambda o: o["modified"], reverse=True)
        return {"bucket": bucket, "prefix": prefix, "since": stamp(since) if since else None,
                "count": len(new),
                "objects": [{"key": o["key"], "size": o["size"], "modified": stamp(o["modified"])}
                            for o in new[:MAX_OBJECTS]]}
    return {}


def settings(env: Mapping[str, str]) -> dict[str, Any]:
    missing = [name for name in REQUIRED if not env.get(name)]
    if missing:
        raise SettingsError(f"missing environment: {', '.join(missing)}")
    source = env["TRIGGER_SOURCE"]
    if source not in SOURCES:
        raise SettingsError(f"TRIGGER_SOURCE {source!r} is not one of {', '.join(SOURCES)}")
    try:
        hours = float(env["COOLDOWN_HOURS"])
        now = parse_time(env["NOW"]) if env.get("NOW") else dt.datetime.now(dt.UTC)
    except ValueError as exc:
        raise SettingsError(f"COOLDOWN_HOURS or NOW: {exc}") from None
    prefix = env["AUDIT_PREFIX"]
    return {"pipeline": env["PIPELINE_NAME"], "execution": env["EXECUTION_ARN"], "source": source,
            "detail": env.get("TRIGGER_DETAIL", ""), "cooldown": dt.timedelta(hours=hours),
            "bucket": env["AUDIT_BUCKET"], "prefix": prefix if prefix.endswith("/") else prefix + "/",
            "kms": env.get("KMS_KEY_ID") or None, "project": env["PROJECT"],
            "stack": env["STACK"], "now": now}


def run(env: Mapping[str, str], aws: Aws, root: Path) -> dict[str, Any]:
    """Decide, record and write trigger.json under ``root``; the record."""
    s = settings(env)
    key = f"{s['prefix']}{execution_id(s['execution'])}.json"
    existing = aws.keys(s["bucket"], s["prefix"])
    if key in existing:  # a retried step: the decision is already on record
        record = aws.read(s["bucket"], key)
    else:
        decided: dict[str, bool | None] = {}

        def skipped(arn: str) -> bool | None:
            if arn not in decided:
                other = f"{s['prefix']}{execution_id(arn)}.json"
                decided[arn] = (aws.read(s["bucket"], other).get("run") is False
                                if other in existing else None)
            return decided[arn]

        go, reason, last = decide(s["execution"], s["source"], s["cooldown"], s["now"],
                                  aws.executions(s["pipeline"]), skipped, aws.finished_at)
        at = stamp(s["now"])
        record = {"schema": 1, "event": "triggered", "project": s["project"],
                  "stack": s["stack"], "pipeline": s["pipeline"], "run": go,
                  "outcome": STARTED if go else SKIPPED, "reason": reason,
                  "source": s["source"], "detail": s["detail"],
                  "evidence": evidence(aws, s["source"], s["detail"], last),
                  "execution": s["execution"], "at": at, "time": at, "auditKey": key}
        body = json.dumps(record, sort_keys=True, indent=2).encode()
        if not aws.put(s["bucket"], key, body, s["kms"]):
            record = aws.read(s["bucket"], key)  # written meanwhile: keep that decision
    out = root / "output" / "trigger"
    out.mkdir(parents=True, exist_ok=True)
    (out / "trigger.json").write_text(json.dumps(record, sort_keys=True, indent=2) + "\n",
                                      encoding="utf-8")
    return record


def main() -> int:
    root = Path(os.environ.get("PROCESSING_ROOT", "/opt/ml/processing"))
    try:
        record = run(os.environ, Aws(boto3.client), root)
    except SettingsError as exc:
        print(f"trigger: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"trigger: AWS error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print(f"trigger: {record['outcome']} ({record['source']}): {record['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
