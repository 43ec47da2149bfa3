"""The environment's customer-managed KMS key."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from common import tokens
from infra.naming import Naming

# Explicit key-administration and use actions for the account root. AWS's default key policy
# grants "kms:*"; listing the actions keeps the policy free of wildcard actions while still
# letting IAM in this account administer the key (no lock-out).
ROOT_ACTIONS = [
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt",
    "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation",
    "kms:EnableKey", "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
    "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo",
    "kms:RetireGrant", "kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion",
    "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
]
USE_ACTIONS = [
    "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo",
]
# Services that encrypt with this key on the platform's behalf. logging.s3 writes the server
# access logs into the SSE-KMS logs bucket (it needs the key; see docs/decisions.md).
SERVICE_PRINCIPALS = [
    "s3.amazonaws.com", "sagemaker.amazonaws.com", "sns.amazonaws.com",
    "cloudwatch.amazonaws.com", "events.amazonaws.com", "logging.s3.amazonaws.com",
]


@dataclass(frozen=True)
class EncryptionArgs:
    naming: Naming
    deletion_window_days: int
    platform_role_names: list[str] = field(default_factory=list)
    protect: bool = False


def key_policy(naming: Naming, platform_role_names: list[str]) -> dict:
    """The key policy: account root administers, platform roles and services use the key."""
    key = "*"  # In a key policy "Resource": "*" means this key and nothing else.
    statements: list[dict] = [
        {
            "Sid": "AccountRootAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": naming.account_root},
            "Action": ROOT_ACTIONS,
            "Resource": key,
        },
    ]
    if platform_role_names:
        statements.append({
            "Sid": "PlatformRolesUseKey",
            "Effect": "Allow",
            "Principal": {"AWS": [naming.role_arn(r) for r in platform_role_names]},
            "Action": [*USE_ACTIONS, "kms:CreateGrant"],
            "Resource": key,
        })
    statements.append({
        "Sid": "ServicesUseKeyForThisAccount",
        "Effect": "Allow",
        "Principal": {"Service": SERVICE_PRINCIPALS},
        "Action": USE_ACTIONS,
        "Resource": key,
        "Condition": {"StringEquals": {"aws:SourceAccount": naming.account_id}},
    })
    return {"Version": "2012-10-17", "Statement": statements}


class Encryption(pulumi.ComponentResource):
    """One customer-managed, rotating KMS key per environment, with an alias."""

    key: aws.kms.Key
    alias: aws.kms.Alias

    def __init__(
        self, name: str, args: EncryptionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.ENCRYPTION, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(
            parent=self, protect=args.protect, retain_on_delete=args.protect
        )
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"mlops-platform key for {args.naming.stem}",
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            policy=pulumi.Output.json_dumps(key_policy(args.naming, args.platform_role_names)),
            opts=stateful,
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias", name=args.naming.key_alias, target_key_id=self.key.key_id, opts=child
        )
        self.key_arn = self.key.arn
        self.register_outputs({"keyArn": self.key.arn, "alias": self.alias.name})
