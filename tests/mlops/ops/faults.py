"""Fault injection through botocore event hooks: a fault at a chosen AWS call index."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError


class Crash(Exception):
    """A non-retryable failure: the process dies here (the test re-runs the promotion)."""


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def _error_response(service: str, status: int, code: str) -> AWSResponse:
    if service == "s3":
        body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
        headers = {"Content-Type": "application/xml"}
    elif service in ("sts",):
        body = (f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code>"
                f"<Message>injected</Message></Error></ErrorResponse>").encode()
        headers = {"Content-Type": "text/xml"}
    else:
        body = f'{{"__type": "{code}", "message": "injected"}}'.encode()
        headers = {"Content-Type": "application/x-amz-json-1.1"}
    return AWSResponse("https://injected", status, headers, _Raw(body))


KINDS = ("connection", "5xx", "throttle")


@dataclass
class Faults:
    """Counts every AWS request and injects ``kind`` at request number ``at`` (0-based).

    Kinds: ``connection`` (connection error, request not applied), ``5xx`` and ``throttle``
    (applied by moto, but the caller sees a 500 / throttling error), ``crash-before`` (a
    non-retryable exception before the request is applied), ``crash-after`` (after it is applied).
    """

    at: int | None = None
    kind: str = "connection"
    calls: list[str] = field(default_factory=list)
    injected: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hook(self, client: Any) -> None:
        client.meta.events.register_first("before-send.*", self._before)
        client.meta.events.register("before-send.*", self._after)

    def _due(self, event_name: str) -> bool:
        with self._lock:
            index = len(self.calls)
            self.calls.append(event_name.split(".", 1)[1])
            due = index == self.at
            if due:
                self.injected = self.calls[-1]
            return due

    def _before(self, event_name: str, **_: Any) -> Any:
        if not self._due(event_name):
            self._pending = False
            return None
        service = event_name.split(".")[1]
        if self.kind == "crash-before":
            raise Crash(f"injected crash before {self.injected}")
        if self.kind == "connection":
            raise EndpointConnectionError(endpoint_url="https://injected")
        if self.kind == "5xx":
            return _error_response(service, 500, "InternalError" if service == "s3" else "InternalFailure")
        if self.kind == "throttle":
            if service == "s3":
                return _error_response(service, 503, "SlowDown")
            return _error_response(service, 400, "ThrottlingException")
        self._pending = True  # crash-after: let moto apply it, then fail
        return None

    _pending: bool = False

    def _after(self, event_name: str, **_: Any) -> None:
        if self._pending:
            self._pending = False
            raise Crash(f"injected crash after {self.injected}")
