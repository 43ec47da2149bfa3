"""A lease in S3 that one writer at a time can hold (a conditional ``IfNoneMatch="*"`` write).

The lease object names its owner, host and process and when it expires. A waiter takes over a
lease that has expired, or at once when the holder ran on the same host and its process is gone
(a killed run, re-run right away). Released in ``finally``; a lease that cannot be released
expires on its own.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mlops.ops.aws import PRECONDITION_FAILED, OpsError, error_code, is_not_found

LEASE_SECONDS = 120.0
POLL_SECONDS = 0.2


def _holder(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return dict(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise


def stale(holder: dict[str, Any]) -> bool:
    """The lease expired, or its process on this host is gone."""
    if float(holder.get("expires", 0)) < time.time():
        return True
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, but not ours to signal
        return False
    return False


def clear_stale(s3: Any, bucket: str, key: str) -> None:
    """Delete the lease at ``key`` if its holder is gone (best effort)."""
    try:
        holder = _holder(s3, bucket, key)
        if holder and stale(holder):
            s3.delete_object(Bucket=bucket, Key=key)
    except Exception:  # it expires on its own
        pass


@contextmanager
def lease(s3: Any, bucket: str, key: str, owner: str, *, wait: float,
          put_args: dict[str, str] | None = None,
          notify: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold ``s3://bucket/key`` for the ``with`` block; OpsError after ``wait`` seconds."""
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    where = f"s3://{bucket}/{key}"

    def release() -> None:
        try:
            current = _holder(s3, bucket, key)
            if current and current.get("token") == token:
                s3.delete_object(Bucket=bucket, Key=key)
        except Exception:  # best effort: the lease expires on its own
            pass

    try:
        while True:
            body = json.dumps({"token": token, "owner": owner, "host": socket.gethostname(),
                               "pid": os.getpid(), "expires": time.time() + LEASE_SECONDS})
            try:
                s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), IfNoneMatch="*",
                              **(put_args or {}))
            except Exception as exc:
                if error_code(exc) not in PRECONDITION_FAILED:
                    raise
            current = _holder(s3, bucket, key)
            if current and current.get("token") == token:
                break
            if current and stale(current):
                s3.delete_object(Bucket=bucket, Key=key)  # the lease of a dead run
                continue
            if notify is not None and current:
                notify(f"waiting for the promotion lock {where} held by "
                       f"{current.get('owner', 'another run')}")
                notify = None  # once
            if time.monotonic() > deadline:
                who = (current or {}).get("owner", "another run")
                until = time.strftime("%H:%M:%S", time.gmtime(float((current or {}).get(
                    "expires", 0))))
                raise OpsError(f"promotion lock {where} is held by {who} until {until} UTC; "
                               "re-run after that")
            time.sleep(POLL_SECONDS)
    except BaseException:
        release()
        raise
    try:
        yield
    finally:
        release()
