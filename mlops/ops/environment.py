"""One stack's environment as the day-2 tools see it through boto3.

A stack's file gives its settings (region, promotion rules); STS gives the account; names come
from :class:`infra.naming.Naming`. Whether a bucket, key or model package group exists is asked
with :func:`mlops.ops.aws.is_not_found`; a missing one is a :class:`NotProvisioned` error naming
the stack and what is missing.

Reading needs an :class:`Env`. Writing needs the environment's KMS key as well: an operation that
writes asks for it once, up front, with :meth:`Env.with_key`, and passes the :class:`KeyedEnv` on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.config import Settings
from infra.naming import Naming
from infra.projects.discover import PROJECT_NAME, project_names
from infra.projects.manifest import ProjectManifest
from mlops.errors import UsageError
from mlops.ops import audit
from mlops.ops.aws import AwsClients, clients, is_not_found

ARTIFACTS = "model-artifacts"


class NotProvisioned(UsageError):
    """A bucket, key or model package group an operation needs does not exist."""


def load_project(root: Path, project: str) -> ProjectManifest:
    """The project's manifest (fully validated); UsageError naming the file and key."""
    from infra.projects.errors import ProjectError
    from infra.projects.manifest import load_manifest

    if not PROJECT_NAME.match(project):
        raise UsageError(f"not a project name: {project!r}")
    if not (root / "pipelines" / project / "project.yaml").is_file():
        raise UsageError(f"pipelines/{project}/project.yaml: no such project "
                         f"(projects: {', '.join(project_names(root)) or 'none'})")
    try:
        return load_manifest(root / "pipelines" / project, root)
    except ProjectError as exc:
        raise UsageError(str(exc)) from None


@dataclass(frozen=True)
class Env:
    """One stack's environment: its settings, names and clients (in the stack's region)."""

    stack: str
    settings: Settings
    naming: Naming
    aws: AwsClients

    @property
    def tier(self) -> str:
        return self.settings.environment

    @property
    def bucket(self) -> str:
        """The model-artifacts bucket (artifacts, metrics reports, audit records, locks)."""
        return self.naming.bucket(ARTIFACTS)

    def group(self, project: ProjectManifest) -> str:
        """The physical name of the project's model package group in this stack."""
        return self.naming.package_group(project.package_group)

    def client(self, service: str, *, retries: bool = True) -> Any:
        return self.aws.client(service, retries=retries)

    def missing(self, what: str) -> NotProvisioned:
        return NotProvisioned(f"stack {self.stack}: {what} not found (is the stack deployed? "
                              f"run: mlops up --stack {self.stack})")

    def require_bucket(self) -> None:
        """NotProvisioned unless the artifacts bucket exists."""
        try:
            self.client("s3").head_bucket(Bucket=self.bucket)
        except Exception as exc:
            if is_not_found(exc):
                raise self.missing(f"bucket {self.bucket}") from None
            raise

    def require_group(self, project: ProjectManifest) -> str:
        """The project's model package group; NotProvisioned unless it exists."""
        group = self.group(project)
        try:
            self.client("sagemaker").describe_model_package_group(ModelPackageGroupName=group)
        except Exception as exc:
            if is_not_found(exc):
                raise NotProvisioned(
                    f"stack {self.stack}: model package group {group} not found (is project "
                    f"{project.name} deployed to {self.stack}?)") from None
            raise
        return group

    def with_key(self) -> KeyedEnv:
        """This environment with its KMS key looked up (one DescribeKey of the stack's alias)."""
        try:
            meta = self.client("kms").describe_key(KeyId=self.naming.key_alias)["KeyMetadata"]
        except Exception as exc:
            if is_not_found(exc):
                raise self.missing(f"KMS key {self.naming.key_alias}") from None
            raise
        return KeyedEnv(self.stack, self.settings, self.naming, self.aws, key_arn=str(meta["Arn"]))


@dataclass(frozen=True)
class KeyedEnv(Env):
    """An environment whose KMS key is known: what every write (objects, audit records) needs."""

    key_arn: str

    def encryption(self) -> dict[str, str]:
        """S3 write arguments: SSE-KMS with this environment's key."""
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.key_arn}

    def audit_target(self) -> audit.AuditTarget:
        return audit.AuditTarget(bucket=self.bucket, key_arn=self.key_arn)


def environment(root: Path, stack: str, aws: AwsClients | None = None) -> Env:
    """The environment of ``stack``: settings from its file, account from STS."""
    from mlops.offline.runtime import load_settings

    settings, _ = load_settings(root, stack)
    session = (aws or clients(settings.region)).for_region(settings.region)
    account = session.identity()["Account"]
    if settings.account_id and settings.account_id != account:
        raise UsageError(f"stack {stack} is account {settings.account_id} (mlops:accountId) but "
                         f"the credentials are for {account}")
    naming = Naming(prefix=settings.name_prefix, stack=stack, account_id=account,
                    region=settings.region)
    return Env(stack, settings, naming, session)
