"""The environment's S3 buckets, each with its full set of pulumi-aws 7 companion resources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from common import tokens
from infra.naming import BUCKET_PURPOSES, Naming

LOGS = "access-logs"


@dataclass(frozen=True)
class StorageArgs:
    naming: Naming
    key_arn: pulumi.Input[str]
    noncurrent_version_expiry_days: int
    abort_multipart_days: int
    log_retention_days: int
    protect: bool = False


def bucket_policy(bucket_arn: str, key_arn: str, *, log_sources: list[str] | None = None,
                  account_id: str = "") -> dict:
    """TLS only, no upload with another encryption than this environment's KMS key."""
    objects = f"{bucket_arn}/*"
    statements: list[dict] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, objects],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DenyUploadsNotEncryptedWithKms",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        },
        {
            "Sid": "DenyUploadsWithAnotherKey",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {
                "StringNotEqualsIfExists": {
                    "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn
                }
            },
        },
    ]
    if log_sources is not None:
        statements.append({
            "Sid": "S3ServerAccessLogsDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": log_sources},
            },
        })
    return {"Version": "2012-10-17", "Statement": statements}


class SecureBucket(pulumi.ComponentResource):
    """A bucket with SSE-KMS, versioning, PAB, ownership, TLS-only policy and lifecycle."""

    def __init__(
        self,
        name: str,
        *,
        bucket_name: str,
        args: StorageArgs,
        log_bucket: aws.s3.Bucket | None,
        log_sources: list[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(tokens.SECURE_BUCKET, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            name,
            bucket=bucket_name,
            force_destroy=not args.protect,
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, retain_on_delete=args.protect
            ),
        )
        on_bucket = pulumi.ResourceOptions(parent=self, depends_on=[self.bucket])
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        pab = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[{
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": args.key_arn,
                },
                "bucket_key_enabled": True,
            }],
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        policy = pulumi.Output.all(self.bucket.arn, args.key_arn).apply(
            lambda v: bucket_policy(
                v[0], v[1], log_sources=log_sources, account_id=args.naming.account_id
            )
        )
        # The policy waits for the access block so S3 does not judge it before the block exists.
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.json_dumps(policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pab]),
        )
        rule: dict[str, Any] = {
            "id": "expire-noncurrent-and-abort-multipart",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "noncurrent_version_expiration": {
                "noncurrent_days": args.noncurrent_version_expiry_days
            },
            "abort_incomplete_multipart_upload": {
                "days_after_initiation": args.abort_multipart_days
            },
        }
        if log_bucket is None:
            rule["expiration"] = {"days": args.log_retention_days}
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=self.bucket.id, rules=[rule],  # type: ignore[list-item]
            opts=on_bucket,
        )
        if log_bucket is not None:
            aws.s3.BucketLogging(
                f"{name}-logging",
                bucket=self.bucket.id,
                target_bucket=log_bucket.id,
                target_prefix=f"{bucket_name}/",
                opts=child,
            )
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})


class Storage(pulumi.ComponentResource):
    """The five buckets of an environment: raw data, feature store, artifacts, workspace, logs."""

    buckets: dict[str, aws.s3.Bucket]

    def __init__(
        self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.STORAGE, name, None, opts)
        naming = args.naming
        sources = [naming.bucket_arn(p) for p in BUCKET_PURPOSES if p != LOGS]
        logs = SecureBucket(
            f"{name}-{LOGS}",
            bucket_name=naming.bucket(LOGS),
            args=args,
            log_bucket=None,
            log_sources=sources,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.buckets = {LOGS: logs.bucket}
        for purpose in BUCKET_PURPOSES:
            if purpose == LOGS:
                continue
            self.buckets[purpose] = SecureBucket(
                f"{name}-{purpose}",
                bucket_name=naming.bucket(purpose),
                args=args,
                log_bucket=logs.bucket,
                opts=pulumi.ResourceOptions(parent=self),
            ).bucket
        self.register_outputs({p: b.bucket for p, b in self.buckets.items()})
