"""One place that builds boto3 clients for the day-2 tools.

Clients honour the standard AWS environment because botocore resolves it, not this module:
``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>`` (or ``endpoint_url`` in the profile),
``AWS_PROFILE``, the credential chain, ``AWS_CA_BUNDLE``. The region is the stack's ``aws:region``
when a stack is known (that is where it is deployed), else ``AWS_REGION``/``AWS_DEFAULT_REGION``.
Throttling, 5xx and connection errors are retried by botocore's adaptive retry mode with a bounded
number of attempts. botocore is imported where it is used: the offline Plan reads the error
helpers here (through the sandbox specs) and must not pay for it.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_ATTEMPTS = 5
# Error codes worth retrying by hand (for calls made with botocore retries turned off).
RETRYABLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "SlowDown",
    "RequestLimitExceeded", "RequestTimeout", "RequestTimeoutException", "InternalError",
    "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException",
})

# What S3 answers a conditional write (IfNoneMatch="*") to a key that already exists.
PRECONDITION_FAILED = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})

ClientHook = Callable[[Any], None]


class OpsError(Exception):
    """An AWS operation failed or found an inconsistent state; ``str()`` is one line."""


def client_config(max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Any:
    """botocore config: adaptive retries (throttling, 5xx, connection errors); ``max_attempts``
    counts the first attempt too (1 = no retries)."""
    from botocore.config import Config

    return Config(
        retries={"mode": "adaptive", "total_max_attempts": max_attempts},
        connect_timeout=10,
        read_timeout=60,
    )


def is_retryable(exc: BaseException) -> bool:
    """True for the transient failures botocore retries: throttling, 5xx, connection errors."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError,
                        ReadTimeoutError)):
        return True
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in RETRYABLE_CODES or int(status or 0) >= 500
    return False


def _error(exc: BaseException) -> dict[str, Any]:
    """The ``Error`` part of a botocore ClientError's response ({} for anything else)."""
    response = getattr(exc, "response", None)
    error = response.get("Error") if isinstance(response, dict) else None
    return error if isinstance(error, dict) else {}


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ('' for anything else)."""
    return str(_error(exc).get("Code", ""))


# How services say "no such resource": S3 (404, NoSuchBucket, NoSuchKey, NoSuch<Config>), IAM
# (NoSuchEntity), KMS (NotFoundException), SNS (NotFound), SageMaker (ResourceNotFound),
# EventBridge, Scheduler and Logs (ResourceNotFoundException), S3 companion reads
# (<Config>NotFoundError).
NOT_FOUND_CODES = frozenset({"404", "NotFound", "ResourceNotFound"})
NOT_FOUND_SUFFIXES = ("NotFound", "NotFoundException", "NotFoundError", "NotFoundFault")
# SageMaker answers Describe* of a missing resource with ValidationException and this message.
NOT_FOUND_MESSAGE = re.compile(r"does not exist|not found|cannot find|could not find", re.IGNORECASE)


def is_not_found(exc: BaseException) -> bool:
    """True when AWS answered that the resource asked for does not exist, in any service."""
    code = error_code(exc)
    if code in NOT_FOUND_CODES or code.startswith("NoSuch") or code.endswith(NOT_FOUND_SUFFIXES):
        return True
    if code != "ValidationException":
        return False
    return bool(NOT_FOUND_MESSAGE.search(str(_error(exc).get("Message", ""))))


def describe_error(exc: BaseException) -> str:
    """One line for a person: the AWS error code and message, or botocore's message."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        op = getattr(exc, "operation_name", "")
        return f"{op}: {err.get('Code', 'Error')}: {err.get('Message', '')}".strip()
    if isinstance(exc, BotoCoreError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@dataclass
class AwsClients:
    """A boto3 session plus a cache of clients, one per (service, retry mode).

    ``profile`` and ``endpoint_url`` override the environment's (None: botocore resolves them).
    ``on_client`` is called with every client created (tests and fault-injection scripts use it to
    register botocore event hooks). ``boto_session`` reuses a boto3 session (and its loaded
    service models) instead of making a new one.
    """

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    on_client: ClientHook | None = None
    _cache: dict[tuple[str, bool], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    boto_session: Any = field(default=None, repr=False)
    _identity: dict[str, str] | None = field(default=None, repr=False)

    def session(self) -> Any:
        import boto3

        if self.boto_session is None:
            self.boto_session = boto3.session.Session(profile_name=self.profile,
                                                      region_name=self.region)
        return self.boto_session

    def client(self, service: str, *, retries: bool = True) -> Any:
        """A (cached) client; ``retries=False`` makes exactly one attempt per call."""
        key = (service, retries)
        with self._lock:
            if key not in self._cache:
                config = client_config(self.max_attempts if retries else 1)
                kwargs: dict[str, Any] = {"config": config}
                if self.endpoint_url:
                    kwargs["endpoint_url"] = self.endpoint_url
                if self.region:
                    kwargs["region_name"] = self.region
                made = self.session().client(service, **kwargs)
                if self.on_client is not None:
                    self.on_client(made)
                self._cache[key] = made
            return self._cache[key]

    def identity(self) -> dict[str, str]:
        """STS caller identity (account, ARN), asked once."""
        if self._identity is None:
            got = self.client("sts").get_caller_identity()
            self._identity = {"Account": str(got["Account"]), "Arn": str(got["Arn"])}
        return self._identity

    def for_region(self, region: str) -> AwsClients:
        """Clients for another region with the same profile, endpoint and hooks."""
        if region == self.region:
            return self
        return AwsClients(region=region, profile=self.profile, endpoint_url=self.endpoint_url,
                          max_attempts=self.max_attempts, on_client=self.on_client,
                          boto_session=self.boto_session)


def clients(region: str | None = None, *, profile: str | None = None,
            endpoint_url: str | None = None, on_client: ClientHook | None = None) -> AwsClients:
    """Clients for ``region`` (default: AWS_REGION, then AWS_DEFAULT_REGION)."""
    return AwsClients(
        region=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        profile=profile, endpoint_url=endpoint_url, on_client=on_client,
    )
