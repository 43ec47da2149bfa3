"""Deterministic physical names, so resources can refer to each other before they exist.

Names carry the prefix and the stack name (the environment), which keeps environments apart in
single-account mode; S3 names add account and region because bucket names are global.
"""

from __future__ import annotations

from dataclasses import dataclass

BUCKET_PURPOSES = ("raw-data", "feature-store", "model-artifacts", "pipeline-workspace", "access-logs")


@dataclass(frozen=True)
class Naming:
    """Names for one environment (``stem`` is ``<prefix>-<stack>``)."""

    prefix: str
    stack: str
    account_id: str
    region: str
    partition: str = "aws"

    @property
    def stem(self) -> str:
        return f"{self.prefix}-{self.stack}"

    def bucket(self, purpose: str) -> str:
        return f"{self.stem}-{purpose}-{self.account_id}-{self.region}"

    def bucket_arn(self, purpose: str) -> str:
        return f"arn:{self.partition}:s3:::{self.bucket(purpose)}"

    @property
    def execution_role(self) -> str:
        return f"{self.stem}-sagemaker-execution"

    def role_arn(self, role_name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{role_name}"

    @property
    def account_root(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    @property
    def key_alias(self) -> str:
        return f"alias/{self.stem}"

    @property
    def topic(self) -> str:
        return f"{self.stem}-alerts"

    def package_group(self, project: str) -> str:
        return f"{self.stem}-{project}"

    def sagemaker_arn(self, kind: str, name: str) -> str:
        """ARN (or ARN pattern when ``name`` ends in ``*``) of a SageMaker resource."""
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.account_id}:{kind}/{name}"
