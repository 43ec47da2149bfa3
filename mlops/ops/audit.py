"""The audit trail of model operations: one S3 object per event, plus an EventBridge event.

Records live in the environment's model-artifacts bucket under ``audit/<project>/`` (versioned,
KMS-encrypted with the environment's key, inside the retention the platform already manages). Each
object is written with ``IfNoneMatch="*"``, so a record is never overwritten: a key that already
exists means the record is already there (a retried or re-run write), never a reason to replace it.
Keys sort by time: ``audit/<project>/<UTC time>-<event>-v<version>-<id>.json``. A promotion's
record has a deterministic id (target group and source package), so a re-run after a crash writes
it once. The EventBridge event (source ``mlops.platform``) is sent before the object is written, so
a crash in between re-sends it on the re-run (at least once); an entry EventBridge rejects is
retried, then fails the command.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mlops.ops.aws import PRECONDITION_FAILED, RETRYABLE_CODES, OpsError, describe_error, error_code

SOURCE = "mlops.platform"
EMIT_ATTEMPTS = 4
EMIT_BACKOFF_SECONDS = 0.2
PREFIX = "audit"
DETAIL_TYPES = {
    "registered": "Model Version Registered",
    "approved": "Model Version Approved",
    "rejected": "Model Version Rejected",
    "promoted": "Model Version Promoted",
}


@dataclass(frozen=True)
class AuditTarget:
    """Where an environment keeps its audit trail."""

    bucket: str
    key_arn: str | None
    event_bus: str = "default"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_key(project: str, event: str, version: int | None, at: str, idempotency: str | None) -> str:
    stamp = at.replace(":", "").replace("-", "")
    ident = (hashlib.sha256(idempotency.encode()).hexdigest()[:16] if idempotency
             else uuid.uuid4().hex[:16])
    return f"{PREFIX}/{project}/{stamp}-{event}-v{version or 0}-{ident}.json"


def find_record(s3: Any, target: AuditTarget, project: str, idempotency: str) -> str | None:
    """The key of an already-written record with this idempotency id, if any."""
    ident = hashlib.sha256(idempotency.encode()).hexdigest()[:16]
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=target.bucket, Prefix=f"{PREFIX}/{project}/"):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(f"-{ident}.json"):
                return str(obj["Key"])
    return None


def _emit(clients: Any, target: AuditTarget, record: dict[str, Any]) -> None:
    """Send the record as an EventBridge event; a rejected entry is retried, then an error."""
    entry = {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPES.get(str(record["event"]), "Model Operation"),
        "Detail": json.dumps(record, sort_keys=True),
        "Resources": [r for r in (record.get("packageArn"),) if r],
        "EventBusName": target.event_bus,
    }
    delay = EMIT_BACKOFF_SECONDS
    for attempt in range(EMIT_ATTEMPTS):
        got = clients.client("events").put_events(Entries=[entry])
        if not got.get("FailedEntryCount"):
            return
        failed = (got.get("Entries") or [{}])[0]
        code = str(failed.get("ErrorCode", "Unknown"))
        if code not in RETRYABLE_CODES or attempt == EMIT_ATTEMPTS - 1:
            raise OpsError(f"EventBridge bus {target.event_bus} rejected the audit event: "
                           f"{code}: {failed.get('ErrorMessage', '')}".rstrip(": "))
        time.sleep(delay)
        delay *= 2
    raise OpsError("unreachable")  # pragma: no cover


def append(clients: Any, target: AuditTarget, record: dict[str, Any], *,
           idempotency: str | None = None) -> tuple[str, bool]:
    """Emit the event, then write the record as a new object: ``(key, written)``.

    With ``idempotency`` set, an existing record with the same id is kept and nothing is sent
    (``written`` is False).
    """
    s3 = clients.client("s3")
    project = str(record["project"])
    if idempotency:
        existing = find_record(s3, target, project, idempotency)
        if existing:
            return existing, False
    record = {"schema": 1, **record}
    record.setdefault("time", now())
    key = record_key(project, str(record["event"]), record.get("version"), record["time"],
                     idempotency)
    record["auditKey"] = key
    _emit(clients, target, record)
    extra: dict[str, Any] = {}
    if target.key_arn:
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": target.key_arn}
    try:
        s3.put_object(Bucket=target.bucket, Key=key, IfNoneMatch="*", ContentType="application/json",
                      Body=json.dumps(record, sort_keys=True, indent=2).encode(), **extra)
    except Exception as exc:
        # A retried write whose first attempt landed: the record is there, never replaced.
        if error_code(exc) not in PRECONDITION_FAILED:
            raise
    return key, True


def record_change(clients: Any, target: AuditTarget, record: dict[str, Any], done: str, *,
                  idempotency: str | None = None) -> tuple[str, bool]:
    """:func:`append` the record of a change already made; if that fails, one OpsError saying
    what was done (``done``) and that re-running the command writes the record."""
    try:
        return append(clients, target, record, idempotency=idempotency)
    except (OpsError, BotoCoreError, ClientError) as exc:
        why = str(exc) if isinstance(exc, OpsError) else describe_error(exc)
        raise OpsError(f"{done}, but its audit record could not be written ({why}); "
                       "re-run the command to write it") from None
