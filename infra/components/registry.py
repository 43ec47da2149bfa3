"""The model registry: one SageMaker model package group per ML project."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from common import tokens
from infra.naming import Naming

# What promotion accounts may do with a group: read, never write or approve.
READ_ACTIONS = [
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
]


@dataclass(frozen=True)
class RegistryArgs:
    naming: Naming
    projects: list[str]
    reader_accounts: list[str] = field(default_factory=list)
    protect: bool = False


def group_policy(naming: Naming, group: str, accounts: list[str]) -> dict:
    """Read-only access to one group and its packages for the promotion accounts."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PromotionAccountsRead",
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:{naming.partition}:iam::{a}:root" for a in accounts]},
            "Action": READ_ACTIONS,
            "Resource": [
                naming.sagemaker_arn("model-package-group", group),
                naming.sagemaker_arn("model-package", f"{group}/*"),
            ],
        }],
    }


class Registry(pulumi.ComponentResource):
    """Model package groups, with a read-only resource policy for the promotion accounts."""

    groups: dict[str, aws.sagemaker.ModelPackageGroup]

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.REGISTRY, name, None, opts)
        naming = args.naming
        self.groups = {}
        for project in args.projects:
            group_name = naming.package_group(project)
            group = aws.sagemaker.ModelPackageGroup(
                f"{name}-{project}",
                model_package_group_name=group_name,
                model_package_group_description=f"Model versions of {project} in {naming.stack}",
                tags={"mlops:project": project},
                opts=pulumi.ResourceOptions(
                    parent=self, protect=args.protect, retain_on_delete=args.protect
                ),
            )
            if args.reader_accounts:
                aws.sagemaker.ModelPackageGroupPolicy(
                    f"{name}-{project}-policy",
                    model_package_group_name=group.model_package_group_name,
                    resource_policy=pulumi.Output.json_dumps(
                        group_policy(naming, group_name, args.reader_accounts)
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            self.groups[project] = group
        self.register_outputs(
            {p: g.model_package_group_name for p, g in self.groups.items()}
        )
