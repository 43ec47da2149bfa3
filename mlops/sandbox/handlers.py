"""What a sandbox handler is given and may raise, and the helpers every handler shares.

A handler (one per resource type, in that type's spec under ``mlops/specs/``) performs the boto3
calls that create or update one resource on the sandbox backend and returns its physical ID, its
outputs and whether it was created. Handlers are idempotent: they look up what exists first
(:func:`mlops.ops.aws.is_not_found` decides "absent"), so re-applying changes only drifted inputs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlops.offline.cloud import Cloud

SANDBOX_TAG = "mlops:sandbox-resource"  # finds resources whose IDs AWS generates (KMS keys)
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class CannotSimulate(Exception):  # noqa: N818 (an outcome, not an error)
    """This resource cannot be created in moto as given; the message says why."""


class Retry(Exception):  # noqa: N818
    """A prerequisite created by another registration is not there yet; try again shortly."""


_SESSIONS: dict[str, Any] = {}
_SESSION_LOCK = threading.Lock()


def _session(region: str) -> Any:
    """One boto3 session per region, so service models load once per process."""
    if region not in _SESSIONS:
        import boto3

        _SESSIONS[region] = boto3.session.Session(region_name=region, **FAKE_CREDENTIALS)
    return _SESSIONS[region]


@dataclass
class Ctx:
    """boto3 clients on the sandbox backend, plus what handlers need to know about the stack."""

    cloud: Cloud
    stack: str
    endpoint_url: str | None = None
    default_tags: dict[str, str] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        with _SESSION_LOCK:
            if service not in self._clients:
                session = _session(self.cloud.region)
                self._clients[service] = session.client(service, endpoint_url=self.endpoint_url)
            return self._clients[service]

    def tags(self, inputs: dict) -> dict[str, str]:
        return {**self.default_tags, **(inputs.get("tags") or {})}

    def tag_list(self, inputs: dict, key: str = "Key", value: str = "Value") -> list[dict]:
        return [{key: k, value: str(v)} for k, v in self.tags(inputs).items()]


Result = tuple[str, dict[str, Any], bool]  # physical id, outputs, created (False: existed)
Handler = Callable[[Ctx, str, dict[str, Any]], Result]

# camelCase input keys whose boto3 name is not just the capitalised key.
_RENAMES = {
    "id": "ID",
    "kmsMasterKeyId": "KMSMasterKeyID",
    "sseAlgorithm": "SSEAlgorithm",
    "sagemakerPipelineParameters": "SageMakerPipelineParameters",
    "pipelineParameters": "PipelineParameterList",
    "evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentile",
    "okActions": "OKActions",
}


def boto_shape(value: Any) -> Any:
    """Pulumi camelCase input values -> boto3 PascalCase request values (integral floats -> int)."""
    if isinstance(value, dict):
        return {_RENAMES.get(k, k[:1].upper() + k[1:]): boto_shape(v) for k, v in value.items()
                if v is not None}
    if isinstance(value, list):
        return [boto_shape(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def pick(inputs: dict, mapping: dict[str, str]) -> dict[str, Any]:
    """Request parameters from the inputs that are set: {inputKey: BotoKey}."""
    return {boto: boto_shape(inputs[key]) for key, boto in mapping.items()
            if inputs.get(key) is not None}


def absent(call: Callable[[], Any]) -> bool:
    """Run a read call; True when AWS says the resource does not exist (other errors raise)."""
    from mlops.ops.aws import is_not_found

    try:
        call()
    except Exception as exc:
        if is_not_found(exc):
            return True
        raise
    return False
