"""Fixtures of the mlops tests: moto in-process, a private sandbox directory, and three
environments provisioned for promotion (``world``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from mlops.ops import audit, lock, packages
from mlops.ops.aws import AwsClients
from tests.mlops.ops.world import REGION, SESSION, STACKS, World, promotion_root, provision
from tests.mlops.sandbox.helpers import sandbox_env


def one_rsa_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto makes an RSA key for every KMS key (slow, unused by symmetric keys): make one."""
    import moto.kms.models as kms_models

    cached = kms_models.generate_private_key("SYMMETRIC_DEFAULT")
    monkeypatch.setattr(kms_models, "generate_private_key", lambda spec: cached)


@pytest.fixture
def moto_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh in-process moto backend with the sandbox's patches, removed afterwards."""
    from mlops.sandbox import moto_patches

    one_rsa_key(monkeypatch)
    with moto_patches.installed(), mock_aws():
        yield


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A private sandbox directory; whatever server a test starts in it is stopped afterwards."""
    directory = tmp_path / "sandbox"
    monkeypatch.setenv("MLOPS_SANDBOX_DIR", str(directory))
    env = sandbox_env(directory)
    try:
        yield env
    finally:
        from mlops.sandbox import server

        server.stop()



@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("MLOPS_OPERATOR", "alice@example.com")
    monkeypatch.setenv("MLOPS_GIT_COMMIT", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # Retries back off for real; keep the suite fast.
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount",
                        lambda self, context: 0.0)
    monkeypatch.setattr(lock, "POLL_SECONDS", 0.01)
    monkeypatch.setattr(audit, "EMIT_BACKOFF_SECONDS", 0.0)
    monkeypatch.setattr(packages, "CREATE_BACKOFF_SECONDS", 0.0)
    # Adaptive mode slows a client down after throttling (token bucket); not what these test.
    monkeypatch.setattr("botocore.retries.adaptive.ClientRateLimiter.on_sending_request",
                        lambda self, request, **kwargs: None)
    one_rsa_key(monkeypatch)
    root = promotion_root(tmp_path)
    artifact = tmp_path / "model.tar.gz"
    artifact.write_bytes(b"model-bytes-" * 1000)
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"auc": 0.91, "f1": 0.84}))
    with mock_aws():
        for stack in STACKS:
            provision(stack)
        yield World(root, AwsClients(region=REGION, boto_session=SESSION), artifact, metrics)
