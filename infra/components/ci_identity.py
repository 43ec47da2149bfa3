"""Who CI is in AWS: GitHub's OIDC provider, three roles per platform stack, the state backend.

The workflows in ``.github/workflows/`` hold no AWS keys. A job that needs AWS asks GitHub for an
OIDC token and exchanges it with ``sts:AssumeRoleWithWebIdentity`` for one of these roles; the
role's trust policy decides which jobs may (``aud`` and ``sub``, exact values, no wildcards):

- ``<prefix>-ci-deploy-<stack>``: what ``pulumi up --policy-pack policies`` of that stack needs.
  Trusted by jobs that run in the stack's GitHub environment
  (``sub = repo:<owner>/<repo>:environment:<env>``), so the environment's protection rules
  (required reviewers, main only) gate every use of it.
- ``<prefix>-ci-drift-<stack>``: read-only, what ``pulumi preview --refresh`` needs. Trusted by
  jobs on the default branch that name no environment (``sub = repo:<owner>/<repo>:ref:refs/heads/
  main``): the daily drift check must not wait for prod's reviewers, and it can change nothing.
- ``<prefix>-ci-promote-<stack>`` (stacks that accept promotions): what ``mlops models promote``
  into that stack needs (read the source stack's registry and artifacts, write the target's).
  Trusted by jobs in the target's environment, like the deploy role.

No role is trusted by ``pull_request`` jobs (their ``sub`` is ``repo:<owner>/<repo>:pull_request``).

Permissions are listed per resource type (:data:`ACCESS`, one entry for every type the platform
can create) and scoped to the stack's names (``<prefix>-<stack>-*``, see
:class:`infra.naming.Naming`), or, for KMS keys (which have no name), to the stack's
``mlops:environment`` tag. Actions AWS cannot scope to a resource are collected in one
``Resource: "*"`` statement per role; no action is a wildcard. In prod-tier stacks the deploy
role cannot delete what the platform protects and retains (buckets, the key, feature groups,
model package groups): Pulumi never deletes those there, so the role need not be able to.

The state backend (Pulumi's self-managed S3 backend, so no Pulumi access token exists anywhere)
is a bucket and a KMS key for the stacks' secrets, built from the platform's own
:class:`~infra.components.storage.SecureBucket` and :class:`~infra.components.encryption.Encryption`.
Each deploy role reads and writes only its own stack's files in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from common import tokens
from infra.components.encryption import Encryption, EncryptionArgs
from infra.components.storage import SecureBucket, StorageArgs
from infra.naming import Naming
from infra.projects.platform_code import PREFIX as PLATFORM_CODE_PREFIX

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
AUDIENCE = "sts.amazonaws.com"
ROLE_PATH = "/mlops-ci/"  # CI's roles live apart from every <prefix>-<stack>-* platform role
CI_STACK = "ci"  # CI's own names: <prefix>-ci-...
PROJECT = "mlops-platform"  # the Pulumi project (Pulumi.yaml) whose state the roles reach
ENVIRONMENT_TAG = "mlops:environment"
STATE_BUCKET_PURPOSE = "pulumi-state"
STATE_LOGS_PURPOSE = "pulumi-state-logs"
DEPLOY_SESSION_SECONDS = 7200  # pulumi up of a stack with endpoints can outlast an hour
SESSION_SECONDS = 3600
ROLE_KINDS = ("deploy", "drift", "promote")

# Services the platform hands its own roles to (iam:PassRole): the execution role to SageMaker,
# the schedulers' roles to EventBridge Scheduler, the retraining targets' roles to EventBridge.
PASSED_TO = ("sagemaker.amazonaws.com", "scheduler.amazonaws.com", "events.amazonaws.com",
             "pods.eks.amazonaws.com")
# Application Auto Scaling's service-linked role for SageMaker endpoint variants.
AUTOSCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
AUTOSCALING_ROLE = ("aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint")
# What the deploy role may do with the environment key besides managing it: create resources
# that use it (objects uploaded with SSE-KMS, schedules, feature groups, endpoint configs).
KEY_USE = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
STATE_KEY_USE = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")

SAGEMAKER_KINDS = ("feature-group", "model-package-group", "pipeline", "model", "endpoint-config",
                   "endpoint", "data-quality-job-definition", "monitoring-schedule")


@dataclass(frozen=True)
class Access:
    """The IAM actions one resource type needs: to read it (``pulumi preview --refresh``), to
    create and update it, and to delete it (``pulumi up`` needs all three).

    ``families`` name the ARN patterns the actions apply to (:func:`family_arns`); ``unscoped``
    are actions AWS only grants on ``Resource: "*"`` (list APIs and the like).
    """

    families: tuple[str, ...]
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    unscoped_read: tuple[str, ...] = ()
    unscoped_write: tuple[str, ...] = ()
    stateful: bool = False  # protected and retained in prod: no delete actions there


_BUCKET = ("bucket",)
_SAGEMAKER = ("sagemaker",)
_SM_TAGS = ("sagemaker:AddTags", "sagemaker:DeleteTags")

# Every type the platform can create (mlops/specs lists them; tests/infra/components/
# test_ci_identity.py checks that this table covers the registry). S3 deletes of a bucket's
# configuration (public access block, encryption, lifecycle, ownership) are authorized by the
# matching Put action.
ACCESS: dict[str, Access] = {
    tokens.S3_BUCKET: Access(
        _BUCKET, stateful=True,
        read=("s3:GetAccelerateConfiguration", "s3:GetBucketAcl", "s3:GetBucketCORS",
              "s3:GetBucketLocation", "s3:GetBucketLogging", "s3:GetBucketObjectLockConfiguration",
              "s3:GetBucketPolicy", "s3:GetBucketRequestPayment", "s3:GetBucketTagging",
              "s3:GetBucketVersioning", "s3:GetBucketWebsite", "s3:GetEncryptionConfiguration",
              "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:ListBucket"),
        write=("s3:CreateBucket", "s3:PutBucketTagging"),
        delete=("s3:DeleteBucket",)),
    tokens.S3_BUCKET_OWNERSHIP: Access(_BUCKET, read=("s3:GetBucketOwnershipControls",),
                                       write=("s3:PutBucketOwnershipControls",)),
    tokens.S3_BUCKET_PUBLIC_ACCESS_BLOCK: Access(_BUCKET, read=("s3:GetBucketPublicAccessBlock",),
                                                 write=("s3:PutBucketPublicAccessBlock",)),
    tokens.S3_BUCKET_SSE: Access(_BUCKET, read=("s3:GetEncryptionConfiguration",),
                                 write=("s3:PutEncryptionConfiguration",)),
    tokens.S3_BUCKET_VERSIONING: Access(_BUCKET, read=("s3:GetBucketVersioning",),
                                        write=("s3:PutBucketVersioning",)),
    tokens.S3_BUCKET_POLICY: Access(_BUCKET, read=("s3:GetBucketPolicy",),
                                    write=("s3:PutBucketPolicy",), delete=("s3:DeleteBucketPolicy",)),
    tokens.S3_BUCKET_LIFECYCLE: Access(_BUCKET, read=("s3:GetLifecycleConfiguration",),
                                       write=("s3:PutLifecycleConfiguration",)),
    tokens.S3_BUCKET_LOGGING: Access(_BUCKET, read=("s3:GetBucketLogging",),
                                     write=("s3:PutBucketLogging",)),
    tokens.S3_BUCKET_NOTIFICATION: Access(_BUCKET, read=("s3:GetBucketNotification",),
                                          write=("s3:PutBucketNotification",)),
    tokens.S3_BUCKET_OBJECT: Access(
        ("object",), read=("s3:GetObject", "s3:GetObjectTagging"),
        write=("s3:PutObject", "s3:PutObjectTagging"), delete=("s3:DeleteObject",)),
    tokens.KMS_KEY: Access(
        ("key",), stateful=True,
        read=("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
              "kms:ListResourceTags"),
        write=("kms:DisableKeyRotation", "kms:EnableKeyRotation", "kms:PutKeyPolicy",
               "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription"),
        delete=("kms:ScheduleKeyDeletion",)),
    # An alias operation is authorized on the alias and on the key it points at.
    tokens.KMS_ALIAS: Access(("alias", "key"), unscoped_read=("kms:ListAliases",),
                             write=("kms:CreateAlias", "kms:UpdateAlias"),
                             delete=("kms:DeleteAlias",)),
    tokens.IAM_ROLE: Access(
        ("role",),
        read=("iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies",
              "iam:ListRoleTags"),
        write=("iam:CreateRole", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy",
               "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:PutRolePermissionsBoundary"),
        delete=("iam:DeleteRole", "iam:ListInstanceProfilesForRole")),
    tokens.IAM_ROLE_POLICY: Access(("role",), read=("iam:GetRolePolicy",),
                                   write=("iam:PutRolePolicy",), delete=("iam:DeleteRolePolicy",)),
    # Attachments are limited to the stack's own managed policies (iam:PolicyARN condition); they
    # are read with the role's iam:ListAttachedRolePolicies (a list call carries no policy ARN).
    tokens.IAM_ROLE_POLICY_ATTACHMENT: Access(("role-attachment",),
                                              write=("iam:AttachRolePolicy",),
                                              delete=("iam:DetachRolePolicy",)),
    tokens.SNS_TOPIC: Access(
        ("topic",), read=("sns:GetTopicAttributes", "sns:ListTagsForResource"),
        write=("sns:CreateTopic", "sns:SetTopicAttributes", "sns:TagResource",
               "sns:UntagResource"),
        delete=("sns:DeleteTopic",)),
    tokens.SNS_TOPIC_POLICY: Access(("topic",), read=("sns:GetTopicAttributes",),
                                    write=("sns:SetTopicAttributes",)),
    tokens.SNS_TOPIC_SUBSCRIPTION: Access(
        ("topic",), read=("sns:ListSubscriptionsByTopic",), write=("sns:Subscribe",),
        unscoped_read=("sns:GetSubscriptionAttributes",),
        unscoped_write=("sns:SetSubscriptionAttributes", "sns:Unsubscribe")),
    tokens.SQS_QUEUE: Access(
        ("queue",), read=("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags"),
        write=("sqs:CreateQueue", "sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue"),
        delete=("sqs:DeleteQueue",)),
    tokens.SQS_QUEUE_POLICY: Access(("queue",), read=("sqs:GetQueueAttributes",),
                                    write=("sqs:SetQueueAttributes",)),
    tokens.EVENT_RULE: Access(
        ("rule",), read=("events:DescribeRule", "events:ListTagsForResource"),
        write=("events:DisableRule", "events:EnableRule", "events:PutRule", "events:TagResource",
               "events:UntagResource"),
        delete=("events:DeleteRule",)),
    tokens.EVENT_TARGET: Access(("rule",), read=("events:ListTargetsByRule",),
                                write=("events:PutTargets",), delete=("events:RemoveTargets",)),
    tokens.METRIC_ALARM: Access(
        ("alarm",), read=("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"),
        write=("cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:UntagResource"),
        delete=("cloudwatch:DeleteAlarms",)),
    tokens.DASHBOARD: Access(("dashboard",), read=("cloudwatch:GetDashboard",),
                             write=("cloudwatch:PutDashboard",),
                             delete=("cloudwatch:DeleteDashboards",)),
    tokens.LOG_GROUP: Access(
        ("log-group",), read=("logs:ListTagsForResource", "logs:ListTagsLogGroup"),
        unscoped_read=("logs:DescribeLogGroups",),
        write=("logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:DisassociateKmsKey",
               "logs:PutRetentionPolicy", "logs:TagResource", "logs:UntagResource"),
        delete=("logs:DeleteLogGroup", "logs:DeleteRetentionPolicy")),
    tokens.SCHEDULE: Access(("schedule",), read=("scheduler:GetSchedule",),
                            write=("scheduler:CreateSchedule", "scheduler:UpdateSchedule"),
                            delete=("scheduler:DeleteSchedule",)),
    tokens.SAGEMAKER_FEATURE_GROUP: Access(
        _SAGEMAKER, stateful=True, read=("sagemaker:DescribeFeatureGroup", "sagemaker:ListTags"),
        write=("sagemaker:CreateFeatureGroup", "sagemaker:UpdateFeatureGroup", *_SM_TAGS),
        delete=("sagemaker:DeleteFeatureGroup",)),
    tokens.SAGEMAKER_MODEL_PACKAGE_GROUP: Access(
        _SAGEMAKER, stateful=True,
        read=("sagemaker:DescribeModelPackageGroup", "sagemaker:ListTags"),
        write=("sagemaker:CreateModelPackageGroup", *_SM_TAGS),
        delete=("sagemaker:DeleteModelPackageGroup",)),
    tokens.SAGEMAKER_MODEL_PACKAGE_GROUP_POLICY: Access(
        _SAGEMAKER, read=("sagemaker:GetModelPackageGroupPolicy",),
        write=("sagemaker:PutModelPackageGroupPolicy",),
        delete=("sagemaker:DeleteModelPackageGroupPolicy",)),
    tokens.SAGEMAKER_PIPELINE: Access(
        _SAGEMAKER, read=("sagemaker:DescribePipeline", "sagemaker:ListTags"),
        write=("sagemaker:CreatePipeline", "sagemaker:UpdatePipeline", *_SM_TAGS),
        delete=("sagemaker:DeletePipeline",)),
    # A model serves a pinned package of the stack's registry: reading the package is part of it.
    tokens.SAGEMAKER_MODEL: Access(
        _SAGEMAKER, read=("sagemaker:DescribeModel", "sagemaker:DescribeModelPackage",
                          "sagemaker:ListTags"),
        write=("sagemaker:CreateModel", *_SM_TAGS), delete=("sagemaker:DeleteModel",)),
    tokens.SAGEMAKER_ENDPOINT_CONFIGURATION: Access(
        _SAGEMAKER, read=("sagemaker:DescribeEndpointConfig", "sagemaker:ListTags"),
        write=("sagemaker:CreateEndpointConfig", *_SM_TAGS),
        delete=("sagemaker:DeleteEndpointConfig",)),
    tokens.SAGEMAKER_ENDPOINT: Access(
        _SAGEMAKER, read=("sagemaker:DescribeEndpoint", "sagemaker:ListTags"),
        write=("sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint",
               "sagemaker:UpdateEndpointWeightsAndCapacities", *_SM_TAGS),
        delete=("sagemaker:DeleteEndpoint",)),
    tokens.SAGEMAKER_DATA_QUALITY_JOB_DEFINITION: Access(
        _SAGEMAKER, read=("sagemaker:DescribeDataQualityJobDefinition", "sagemaker:ListTags"),
        write=("sagemaker:CreateDataQualityJobDefinition", *_SM_TAGS),
        delete=("sagemaker:DeleteDataQualityJobDefinition",)),
    tokens.SAGEMAKER_MONITORING_SCHEDULE: Access(
        _SAGEMAKER, read=("sagemaker:DescribeMonitoringSchedule", "sagemaker:ListTags"),
        write=("sagemaker:CreateMonitoringSchedule", "sagemaker:UpdateMonitoringSchedule",
               *_SM_TAGS),
        delete=("sagemaker:DeleteMonitoringSchedule",)),
    # Scalable targets have generated ids, not names: scoped to the account and region only.
    tokens.AUTOSCALING_TARGET: Access(
        ("scalable-target",), read=("application-autoscaling:ListTagsForResource",),
        unscoped_read=("application-autoscaling:DescribeScalableTargets",),
        write=("application-autoscaling:RegisterScalableTarget",
               "application-autoscaling:TagResource", "application-autoscaling:UntagResource"),
        delete=("application-autoscaling:DeregisterScalableTarget",)),
    tokens.AUTOSCALING_POLICY: Access(
        ("scalable-target",), unscoped_read=("application-autoscaling:DescribeScalingPolicies",),
        write=("application-autoscaling:PutScalingPolicy",),
        delete=("application-autoscaling:DeleteScalingPolicy",)),
    # Kubernetes serving: the association is created on the cluster (its ARN authorizes
    # CreatePodIdentityAssociation); the cluster's name is a stack setting this program does not
    # read, so both are scoped to the account and region. DescribeCluster builds the provider's
    # kubeconfig for a stack that names an EKS cluster.
    tokens.EKS_POD_IDENTITY_ASSOCIATION: Access(
        ("eks",), read=("eks:DescribePodIdentityAssociation", "eks:DescribeCluster",
                        "eks:ListTagsForResource"),
        write=("eks:CreatePodIdentityAssociation", "eks:UpdatePodIdentityAssociation",
               "eks:TagResource", "eks:UntagResource"),
        delete=("eks:DeletePodIdentityAssociation",)),
}
# The types of the registry the platform stacks never create: only this program does.
CI_ONLY_TYPES = frozenset({tokens.IAM_OIDC_PROVIDER, tokens.IAM_POLICY})

# Kubernetes types are applied through the cluster's API, authorized by the cluster's RBAC (an
# EKS access entry for the deploy role, docs/ci.md), not by IAM actions: not in ACCESS.


@dataclass(frozen=True)
class StackTarget:
    """One platform stack CI deploys: its names, tier, GitHub environment and promotion sources."""

    stack: str
    environment: str  # the GitHub environment its deploy and promote jobs run in
    naming: Naming
    tier: str  # mlops:environment: dev | staging | prod
    environment_tag: str  # the value of its resources' mlops:environment tag
    promote_from: tuple[Naming, ...] = ()

    @property
    def retains_stateful(self) -> bool:
        return self.tier == "prod"


@dataclass(frozen=True)
class CiIdentityArgs:
    repository: str  # owner/name on GitHub, exactly as GitHub spells it
    naming: Naming  # CI's own names: Naming(prefix, CI_STACK, account, region)
    targets: tuple[StackTarget, ...]
    default_branch: str = "main"
    create_provider: bool = True  # False: the account already has GitHub's provider
    state_noncurrent_days: int = 90
    state_log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)


# --- names -------------------------------------------------------------------------------------

def role_name(naming: Naming, kind: str, stack: str) -> str:
    """``<prefix>-ci-<kind>-<stack>`` (the role lives at path :data:`ROLE_PATH`)."""
    return f"{naming.prefix}-{CI_STACK}-{kind}-{stack}"


def role_arn(naming: Naming, kind: str, stack: str) -> str:
    return (f"arn:{naming.partition}:iam::{naming.account_id}:role{ROLE_PATH}"
            f"{role_name(naming, kind, stack)}")


def provider_arn(naming: Naming) -> str:
    """The ARN of GitHub's OIDC provider in the account (one per account and URL)."""
    return f"arn:{naming.partition}:iam::{naming.account_id}:oidc-provider/{GITHUB_OIDC_HOST}"


def state_bucket(naming: Naming) -> str:
    return naming.bucket(STATE_BUCKET_PURPOSE)


def backend_url(naming: Naming) -> str:
    """What ``pulumi login`` takes (``PULUMI_BACKEND_URL``)."""
    return f"s3://{state_bucket(naming)}?region={naming.region}"


def secrets_provider(naming: Naming) -> str:
    """What ``pulumi stack init --secrets-provider`` takes."""
    return f"awskms://{naming.key_alias}?region={naming.region}"


# --- trust -------------------------------------------------------------------------------------

def environment_subject(repository: str, environment: str) -> str:
    return f"repo:{repository}:environment:{environment}"


def branch_subject(repository: str, branch: str) -> str:
    return f"repo:{repository}:ref:refs/heads/{branch}"


def trust_policy(provider: str, subject: str) -> dict[str, Any]:
    """GitHub's tokens for exactly ``subject``, with STS as their audience, and nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "GitHubActionsOidc",
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                f"{GITHUB_OIDC_HOST}:sub": subject,
            }},
        }],
    }


# --- permissions -------------------------------------------------------------------------------

def family_arns(family: str, n: Naming) -> list[str]:
    """The ARN patterns of one family of a stack's resources (all named ``<stem>...``)."""
    p, r, a, stem = n.partition, n.region, n.account_id, n.stem
    workspace = f"arn:{p}:s3:::{n.bucket('pipeline-workspace')}"
    table = {
        # Bucket names end in -<account>-<region>: the pattern names the account S3 ARNs lack.
        "bucket": [f"arn:{p}:s3:::{stem}-*-{a}-{r}"],
        # The only objects the program writes: the step code, content-addressed.
        "object": [f"{workspace}/code/*", f"{workspace}/{PLATFORM_CODE_PREFIX}/*"],
        "key": [f"arn:{p}:kms:{r}:{a}:key/*"],  # narrowed by the stack's tag (key_condition)
        "alias": [f"arn:{p}:kms:{r}:{a}:{n.key_alias}"],
        "role": [n.role_arn(f"{stem}-*")],
        "role-attachment": [n.role_arn(f"{stem}-*")],
        "topic": [f"arn:{p}:sns:{r}:{a}:{stem}-*"],
        "queue": [f"arn:{p}:sqs:{r}:{a}:{stem}-*"],
        "rule": [f"arn:{p}:events:{r}:{a}:rule/{stem}-*"],
        # Target tracking policies create alarms named after the scalable target.
        "alarm": [f"arn:{p}:cloudwatch:{r}:{a}:alarm:{stem}-*",
                  f"arn:{p}:cloudwatch:{r}:{a}:alarm:TargetTracking-endpoint/{stem}-*"],
        "dashboard": [f"arn:{p}:cloudwatch::{a}:dashboard/{stem}",
                      f"arn:{p}:cloudwatch::{a}:dashboard/{stem}-*"],
        "log-group": [f"arn:{p}:logs:{r}:{a}:log-group:{stem}-*"],
        "schedule": [f"arn:{p}:scheduler:{r}:{a}:schedule/default/{stem}-*"],
        "sagemaker": [*(n.sagemaker_arn(kind, f"{stem}-*") for kind in SAGEMAKER_KINDS),
                      n.sagemaker_arn("model-package", f"{stem}-*/*")],
        "scalable-target": [f"arn:{p}:application-autoscaling:{r}:{a}:scalable-target/*"],
        "eks": [f"arn:{p}:eks:{r}:{a}:cluster/*", f"arn:{p}:eks:{r}:{a}:podidentityassociation/*"],
    }
    return table[family]


FAMILY_SIDS = {
    "bucket": "Buckets", "object": "StepCodeObjects", "key": "EnvironmentKey",
    "alias": "EnvironmentKeyAlias", "role": "PlatformRoles",
    "role-attachment": "PlatformRoleAttachments", "topic": "AlertTopics", "queue": "Queues",
    "rule": "EventRules", "alarm": "Alarms", "dashboard": "Dashboards", "log-group": "LogGroups",
    "schedule": "Schedules", "sagemaker": "SageMaker", "scalable-target": "ScalableTargets",
    "eks": "EksPodIdentity",
}


def _family_condition(family: str, target: StackTarget) -> dict[str, Any] | None:
    if family == "key":
        return {"StringEquals": {f"aws:ResourceTag/{ENVIRONMENT_TAG}": target.environment_tag}}
    if family == "role-attachment":
        n = target.naming
        return {"ArnLike": {"iam:PolicyARN": f"arn:{n.partition}:iam::{n.account_id}:policy/"
                                             f"{n.stem}-*"}}
    return None


def _statement(sid: str, actions: Iterable[str], resources: Iterable[str] | str,
               condition: Mapping[str, Any] | None = None, effect: str = "Allow") -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid, "Effect": effect, "Action": sorted(set(actions)),
        "Resource": resources if isinstance(resources, str) else sorted(set(resources)),
    }
    if condition:
        statement["Condition"] = dict(condition)
    return statement


def _grouped(target: StackTarget, *, include_writes: bool) -> tuple[dict[str, set[str]], set[str]]:
    """Actions per family, and the unscoped ones, over every type of :data:`ACCESS`."""
    by_family: dict[str, set[str]] = {}
    unscoped: set[str] = set()
    for access in ACCESS.values():
        actions = set(access.read)
        unscoped |= set(access.unscoped_read)
        if include_writes:
            actions |= set(access.write)
            unscoped |= set(access.unscoped_write)
            if not (access.stateful and target.retains_stateful):
                actions |= set(access.delete)
        for family in access.families:
            by_family.setdefault(family, set()).update(actions)
    return by_family, unscoped


def _alias_condition(naming: Naming) -> dict[str, Any]:
    return {"ForAnyValue:StringEquals": {"kms:ResourceAliases": naming.key_alias}}


def _state_objects(state_arn: str, stack: str) -> list[str]:
    """The files of one stack in Pulumi's self-managed backend (project-scoped layout)."""
    return [f"{state_arn}/.pulumi/stacks/{PROJECT}/{stack}.json*",
            f"{state_arn}/.pulumi/history/{PROJECT}/{stack}/*",
            f"{state_arn}/.pulumi/backups/{PROJECT}/{stack}/*",
            f"{state_arn}/.pulumi/locks/organization/{PROJECT}/{stack}/*"]


def _state_statements(ci: Naming, stack: str, *, write: bool) -> list[dict[str, Any]]:
    state_arn = f"arn:{ci.partition}:s3:::{state_bucket(ci)}"
    objects = _state_objects(state_arn, stack)
    statements = [
        _statement("ListStateBucket", ["s3:GetBucketLocation", "s3:ListBucket"], [state_arn]),
        _statement("ReadBackendMetadata", ["s3:GetObject"], [f"{state_arn}/.pulumi/meta.yaml"]),
        _statement("StackState", ["s3:GetObject", *(("s3:DeleteObject", "s3:PutObject")
                                                     if write else ())], objects),
        # The key has a generated id: it is named by its alias (which only the bootstrap sets).
        _statement("StackSecrets", STATE_KEY_USE if write else ("kms:Decrypt", "kms:DescribeKey"),
                   [f"arn:{ci.partition}:kms:{ci.region}:{ci.account_id}:key/*"],
                   _alias_condition(ci)),
    ]
    return statements


def deploy_policy(target: StackTarget, ci: Naming) -> dict[str, Any]:
    """What ``pulumi up --policy-pack policies`` of ``target`` needs, and nothing else."""
    n = target.naming
    by_family, unscoped = _grouped(target, include_writes=True)
    statements = [_statement(FAMILY_SIDS[family], actions, family_arns(family, n),
                             _family_condition(family, target))
                  for family, actions in sorted(by_family.items())]
    tag = {f"aws:RequestTag/{ENVIRONMENT_TAG}": target.environment_tag}
    statements += [
        # A new key carries the stack's tag from its first API call (the provider's default tags).
        _statement("CreateEnvironmentKey", ["kms:CreateKey"], "*", {"StringEquals": tag}),
        _statement("UseEnvironmentKey", KEY_USE, family_arns("key", n),
                   _family_condition("key", target)),
        _statement("GrantsForAwsServices", ["kms:CreateGrant"], family_arns("key", n),
                   {**(_family_condition("key", target) or {}),
                    "Bool": {"kms:GrantIsForAWSResource": "true"}}),
        _statement("PassPlatformRolesToTheirServices", ["iam:PassRole"],
                   [n.role_arn(f"{n.stem}-*")],
                   {"StringEquals": {"iam:PassedToService": list(PASSED_TO)}}),
        _statement("AutoscalingServiceLinkedRole", ["iam:CreateServiceLinkedRole"],
                   [n.role_arn(AUTOSCALING_ROLE)],
                   {"StringEquals": {"iam:AWSServiceName": AUTOSCALING_SERVICE}}),
        *_state_statements(ci, target.stack, write=True),
        _statement("ActionsWithoutResourceScope", unscoped, "*"),
        # A role the deploy role creates must not become a way out of its scope.
        _statement("NeverAssumeOtherRoles", ["sts:AssumeRole"], "*", effect="Deny"),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def drift_policy(target: StackTarget, ci: Naming) -> dict[str, Any]:
    """What ``pulumi preview --refresh`` of ``target`` needs: read its resources and its state."""
    n = target.naming
    by_family, unscoped = _grouped(target, include_writes=False)
    statements = [_statement(FAMILY_SIDS[family], actions, family_arns(family, n),
                             _family_condition(family, target))
                  for family, actions in sorted(by_family.items()) if actions]
    statements += [
        *_state_statements(ci, target.stack, write=False),
        _statement("ActionsWithoutResourceScope", unscoped, "*"),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def promote_policy(target: StackTarget) -> dict[str, Any]:
    """What ``mlops models promote --to <target>`` needs (mlops/ops/promotion*.py): read the
    source stacks' packages, artifacts and alarms; copy into the target's registry."""
    n = target.naming
    p, r, a = n.partition, n.region, n.account_id
    artifacts = f"arn:{p}:s3:::{n.bucket('model-artifacts')}"
    statements: list[dict[str, Any]] = []
    for i, source in enumerate(target.promote_from):
        src = f"arn:{p}:s3:::{source.bucket('model-artifacts')}"
        suffix = "" if len(target.promote_from) == 1 else str(i + 1)
        statements += [
            _statement(f"ReadSourcePackages{suffix}",
                       ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup",
                        "sagemaker:ListModelPackages"],
                       [source.sagemaker_arn("model-package-group", f"{source.stem}-*"),
                        source.sagemaker_arn("model-package", f"{source.stem}-*/*")]),
            _statement(f"ReadSourceArtifacts{suffix}", ["s3:GetObject"], [f"{src}/models/*"]),
            _statement(f"ListSourceArtifacts{suffix}", ["s3:ListBucket"], [src]),
            _statement(f"DecryptSourceArtifacts{suffix}", ["kms:Decrypt", "kms:DescribeKey"],
                       [f"arn:{p}:kms:{source.region}:{source.account_id}:key/*"],
                       _alias_condition(source)),
            _statement(f"ReadSourceAlarms{suffix}", ["cloudwatch:DescribeAlarms"],
                       [f"arn:{p}:cloudwatch:{source.region}:{source.account_id}:alarm:"
                        f"{source.stem}-*"]),
        ]
    statements += [
        _statement("TargetRegistry",
                   ["sagemaker:AddTags", "sagemaker:CreateModelPackage",
                    "sagemaker:DeleteModelPackage", "sagemaker:DescribeModelPackage",
                    "sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages",
                    "sagemaker:UpdateModelPackage"],
                   [n.sagemaker_arn("model-package-group", f"{n.stem}-*"),
                    n.sagemaker_arn("model-package", f"{n.stem}-*/*")]),
        _statement("ListTargetArtifacts", ["s3:ListBucket"], [artifacts]),
        _statement("TargetArtifactsAndAudit",
                   ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                   [f"{artifacts}/models/*", f"{artifacts}/audit/*"]),
        _statement("PromotionLock", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                   [f"{artifacts}/locks/promotion/*"]),
        _statement("TargetKey", ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt",
                                 "kms:GenerateDataKey"],
                   [f"arn:{p}:kms:{r}:{a}:key/*"], _alias_condition(n)),
        _statement("AuditEvents", ["events:PutEvents"], [f"arn:{p}:events:{r}:{a}:event-bus/default"]),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


# --- managed policies --------------------------------------------------------------------------

MANAGED_POLICY_LIMIT = 6144  # characters, whitespace not counted (IAM quotas)
MANAGED_POLICIES_PER_ROLE = 10  # the default quota


def policy_size(document: Mapping[str, Any]) -> int:
    """The size IAM counts: the JSON text without whitespace."""
    return len("".join(json.dumps(document, separators=(",", ":")).split()))


def policy_documents(policy: Mapping[str, Any],
                     limit: int = MANAGED_POLICY_LIMIT) -> list[dict[str, Any]]:
    """The statements of ``policy`` packed, in order, into as few documents of at most ``limit``
    characters as they fit in (a role's inline policies share one 10,240-character quota; the
    deploy role's statements need more, so each role gets managed policies)."""
    documents: list[dict[str, Any]] = []
    for statement in policy["Statement"]:
        if documents and policy_size({**documents[-1], "Statement": [
                *documents[-1]["Statement"], statement]}) <= limit:
            documents[-1]["Statement"].append(statement)
            continue
        document = {"Version": policy["Version"], "Statement": [statement]}
        if policy_size(document) > limit:
            raise ValueError(f"statement {statement.get('Sid')} alone exceeds {limit} characters")
        documents.append(document)
    return documents


def role_policies(target: StackTarget, ci: Naming) -> dict[str, dict[str, Any]]:
    """The permission policy of each role of ``target``, by kind."""
    policies = {"deploy": deploy_policy(target, ci), "drift": drift_policy(target, ci)}
    if target.promote_from:
        policies["promote"] = promote_policy(target)
    return policies


def subjects(repository: str, target: StackTarget, default_branch: str) -> dict[str, str]:
    """The one ``sub`` each role of ``target`` trusts, by kind."""
    environment = environment_subject(repository, target.environment)
    return {"deploy": environment, "drift": branch_subject(repository, default_branch),
            "promote": environment}


# --- the component -----------------------------------------------------------------------------

class CiIdentity(pulumi.ComponentResource):
    """GitHub's OIDC provider, the state backend, and per stack the deploy, drift and promote
    roles (see the module docstring)."""

    outputs: dict[str, pulumi.Input[Any]]

    def __init__(self, name: str, args: CiIdentityArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.CI_IDENTITY, name, None, opts)
        ci = args.naming
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        if args.create_provider:
            provider: pulumi.Input[str] = aws.iam.OpenIdConnectProvider(
                f"{name}-github", url=GITHUB_OIDC_URL, client_id_lists=[AUDIENCE], tags=tags,
                opts=child).arn
        else:
            provider = provider_arn(ci)

        # The state backend: Pulumi's stack files and their secrets' key, retained for good.
        encryption = Encryption(f"{name}-state", EncryptionArgs(
            naming=ci, deletion_window_days=30, protect=True), opts=child)
        storage = StorageArgs(naming=ci, key_arn=encryption.key_arn,
                              noncurrent_version_expiry_days=args.state_noncurrent_days,
                              abort_multipart_days=7,
                              log_retention_days=args.state_log_retention_days, protect=True)
        state_name = state_bucket(ci)
        logs = SecureBucket(f"{name}-state-logs", bucket_name=ci.bucket(STATE_LOGS_PURPOSE),
                            args=storage, log_bucket=None,
                            log_sources=[f"arn:{ci.partition}:s3:::{state_name}"], opts=child)
        SecureBucket(f"{name}-state-bucket", bucket_name=state_name, args=storage,
                     log_bucket=logs.bucket, opts=child)

        roles: dict[str, dict[str, pulumi.Output[str]]] = {}
        for target in args.targets:
            subject = subjects(args.repository, target, args.default_branch)
            roles[target.stack] = {
                kind: self._role(name, args, target, kind, provider, subject[kind], policy)
                for kind, policy in role_policies(target, ci).items()}

        self.outputs = {
            "oidcProviderArn": provider,
            "backendUrl": backend_url(ci),
            "secretsProvider": secrets_provider(ci),
            "stateBucket": state_name,
            "stateKeyArn": encryption.key_arn,
            "roles": roles,
        }
        self.register_outputs(self.outputs)

    def _role(self, name: str, args: CiIdentityArgs, target: StackTarget, kind: str,
              provider: pulumi.Input[str], subject: str,
              policy: Mapping[str, Any]) -> pulumi.Output[str]:
        ci = args.naming
        logical = f"{name}-{kind}-{target.stack}"
        role = aws.iam.Role(
            logical,
            name=role_name(ci, kind, target.stack),
            path=ROLE_PATH,
            description=f"GitHub Actions {kind} role of stack {target.stack} ({subject})",
            assume_role_policy=pulumi.Output.json_dumps(
                pulumi.Output.from_input(provider).apply(lambda arn: trust_policy(arn, subject))),
            max_session_duration=DEPLOY_SESSION_SECONDS if kind == "deploy" else SESSION_SECONDS,
            tags={**args.tags, "mlops:ci-role": kind, "mlops:stack": target.stack},
            opts=pulumi.ResourceOptions(parent=self))
        for i, document in enumerate(policy_documents(policy), start=1):
            managed = aws.iam.Policy(
                f"{logical}-policy-{i}",
                name=f"{role_name(ci, kind, target.stack)}-{i}",
                path=ROLE_PATH,
                description=f"{kind} role of stack {target.stack}, part {i}",
                policy=json.dumps(document),
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self))
            aws.iam.RolePolicyAttachment(f"{logical}-attachment-{i}", role=role.name,
                                         policy_arn=managed.arn,
                                         opts=pulumi.ResourceOptions(parent=self))
        return role.arn
