"""Three environments provisioned on moto for promotion tests (the `world` fixture in
tests/mlops/conftest.py), and a temporary project root for pins."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.ops import models
from mlops.ops.aws import AwsClients
from mlops.ops.versions import ModelVersion
from tests.conftest import ROOT, boto_session

REGION = "eu-west-1"
ACCOUNT = "123456789012"
STACKS = ("dev", "staging", "prod")
SESSION = boto_session()
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

    def with_baseline(self, stack: str = "dev") -> tuple[ModelVersion, bytes]:
        """An Approved version the way a training pipeline registers it: the artifact and a drift
        baseline in the stack's buckets (encrypted with its key), ``DriftCheckBaselines`` naming
        the baseline. Returns the version and the baseline's bytes."""
        s3, sm = self.boto("s3"), self.boto("sagemaker")
        key = self.boto("kms").describe_key(KeyId=f"alias/mlops-{stack}")["KeyMetadata"]["Arn"]
        sse = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key}
        bucket = self.bucket(stack)
        body = json.dumps({"version": 1, "records": 3, "features": [
            {"name": "tenure_months", "kind": "numeric", "count": 3, "edges": [1.0, 9.0],
             "fractions": [1.0], "sample": [1.0, 5.0, 9.0]}]}).encode()
        s3.put_object(Bucket=bucket, Key="runs/r1/model.tar.gz", Body=b"trained", **sse)
        s3.put_object(Bucket=bucket, Key="runs/r1/baseline/baseline.json", Body=body, **sse)
        s3.put_object(Bucket=bucket, Key="runs/r1/evaluation.json", Body=json.dumps(
            {"metrics": {"auc": {"value": 0.93}}}).encode(), **sse)
        arn = sm.create_model_package(
            ModelPackageGroupName=self.group(stack), ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={"Containers": [{"Image": "img", "ModelDataUrl":
                                                    f"s3://{bucket}/runs/r1/model.tar.gz"}],
                                    "SupportedContentTypes": ["text/csv"],
                                    "SupportedResponseMIMETypes": ["text/csv"]},
            ModelMetrics={"ModelQuality": {"Statistics": {
                "ContentType": "application/json", "S3Uri": f"s3://{bucket}/runs/r1/evaluation.json"}}},
            DriftCheckBaselines={"ModelDataQuality": {"Statistics": {
                "ContentType": "application/json",
                "S3Uri": f"s3://{bucket}/runs/r1/baseline/baseline.json"}}},
        )["ModelPackageArn"]
        version = int(arn.rsplit("/", 1)[-1])
        return models.approve(self.root, "churn", stack, version, "pipeline run ok",
                              aws=self.aws), body

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


def promotion_root(tmp: Path) -> Path:
    root = tmp / "root"
    shutil.copytree(ROOT / "stacks", root / "stacks")
    (root / "pipelines" / "churn").mkdir(parents=True)
    (root / "pipelines" / "churn" / "project.yaml").write_text(MANIFEST)
    return root
