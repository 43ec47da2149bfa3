"""Three provisioned environments on moto, and a temporary project root for pins."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops.ops import audit, lock, models, packages
from mlops.ops.aws import AwsClients
from mlops.ops.versions import ModelVersion

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
ACCOUNT = "123456789012"
STACKS = ("dev", "staging", "prod")
# One boto3 session for the whole suite: loading the SageMaker service model takes ~0.3 s.
SESSION = boto3.session.Session(region_name=REGION)
MANIFEST = """\
name: churn
owner: churn-team@example.com
model:
  approval:
    metric: auc
    thresholds: {dev: 0.60, staging: 0.75, prod: 0.80}
"""


@dataclass
class World:
    root: Path
    aws: AwsClients
    artifact: Path
    metrics: Path

    def bucket(self, stack: str) -> str:
        return f"mlops-{stack}-model-artifacts-{ACCOUNT}-{REGION}"

    def group(self, stack: str) -> str:
        return f"mlops-{stack}-churn"

    def boto(self, service: str) -> Any:
        return SESSION.client(service, region_name=REGION)

    def register(self, stack: str = "dev", metrics: dict[str, float] | None = None) -> ModelVersion:
        path = self.metrics
        if metrics is not None:
            path = self.root / "m.json"
            path.write_text(json.dumps(metrics))
        return models.register_model(self.root, "churn", stack, str(self.artifact), path,
                                     aws=self.aws)

    def approved(self, stack: str = "dev") -> ModelVersion:
        version = self.register(stack)
        return models.approve(self.root, "churn", stack, version.version, "looks good", aws=self.aws)

    def packages(self, stack: str) -> list[dict[str, Any]]:
        sm = self.boto("sagemaker")
        summaries = sm.list_model_packages(ModelPackageGroupName=self.group(stack))
        return [sm.describe_model_package(ModelPackageName=s["ModelPackageArn"])
                for s in summaries["ModelPackageSummaryList"]]

    def trail(self, stack: str) -> list[dict[str, Any]]:
        s3 = self.boto("s3")
        keys = s3.list_objects_v2(Bucket=self.bucket(stack), Prefix="audit/churn/").get("Contents", [])
        return [json.loads(s3.get_object(Bucket=self.bucket(stack), Key=k["Key"])["Body"].read())
                for k in keys]


def provision(stack: str, *, group: bool = True, bucket: bool = True) -> None:
    """What `pulumi up` would have created for promotion: key + alias, artifacts bucket, group."""
    kms = SESSION.client("kms")
    key = kms.create_key(Description=f"mlops-{stack}")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=f"alias/mlops-{stack}", TargetKeyId=key)
    if bucket:
        s3 = SESSION.client("s3")
        name = f"mlops-{stack}-model-artifacts-{ACCOUNT}-{REGION}"
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if group:
        SESSION.client("sagemaker").create_model_package_group(
            ModelPackageGroupName=f"mlops-{stack}-churn")


def make_root(tmp: Path) -> Path:
    root = tmp / "root"
    shutil.copytree(REPO / "stacks", root / "stacks")
    (root / "pipelines" / "churn").mkdir(parents=True)
    (root / "pipelines" / "churn" / "project.yaml").write_text(MANIFEST)
    return root


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
    # moto makes an RSA key for every KMS key (slow, unused by symmetric keys): make one, reuse it.
    import moto.kms.models as kms_models

    cached = kms_models.generate_private_key("SYMMETRIC_DEFAULT")
    monkeypatch.setattr(kms_models, "generate_private_key", lambda spec: cached)
    root = make_root(tmp_path)
    artifact = tmp_path / "model.tar.gz"
    artifact.write_bytes(b"model-bytes-" * 1000)
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"auc": 0.91, "f1": 0.84}))
    with mock_aws():
        for stack in STACKS:
            provision(stack)
        yield World(root, AwsClients(region=REGION, boto_session=SESSION), artifact, metrics)
