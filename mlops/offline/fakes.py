"""Deterministic fake outputs for the resource types the platform creates.

The Pulumi mock runtime asks for the ID and output state of each registered resource. A dispatch
table from type token to a small handler computes what AWS would return (ARNs, IDs, names), so
dependent inputs (a bucket policy on the bucket ARN, a key ARN in an encryption config) are
realistic in the Plan.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

DEFAULT_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Cloud:
    account_id: str
    region: str
    partition: str = "aws"

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        region = self.region if regional else ""
        acct = self.account_id if account else ""
        return f"arn:{self.partition}:{service}:{region}:{acct}:{resource}"


def stable_uuid(*parts: str) -> str:
    return str(uuid.UUID(hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]))


Handler = Callable[[Cloud, str, dict[str, Any]], tuple[str, dict[str, Any]]]


def _bucket(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    bucket = inputs.get("bucket") or name
    return bucket, {"bucket": bucket, "arn": f"arn:{c.partition}:s3:::{bucket}",
                    "bucketDomainName": f"{bucket}.s3.amazonaws.com", "region": c.region}


def _kms_key(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    key_id = stable_uuid(c.account_id, c.region, name)
    return key_id, {"keyId": key_id, "arn": c.arn("kms", f"key/{key_id}")}


def _kms_alias(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    alias = inputs.get("name") or f"alias/{name}"
    target = c.arn("kms", f"key/{inputs.get('targetKeyId')}")
    return alias, {"arn": c.arn("kms", alias), "targetKeyArn": target}


def _role(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    role = inputs.get("name") or name
    return role, {"name": role, "arn": f"arn:{c.partition}:iam::{c.account_id}:role/{role}",
                  "uniqueId": "AROA" + hashlib.sha256(role.encode()).hexdigest()[:17].upper()}


def _role_policy(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    return f"{inputs.get('role')}:{inputs.get('name') or name}", {}


def _topic(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    topic = inputs.get("name") or name
    arn = c.arn("sns", topic)
    return arn, {"arn": arn, "name": topic}


def _subscription(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    arn = f"{inputs.get('topic')}:{stable_uuid(name)}"
    return arn, {"arn": arn}


def _event_rule(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    rule = inputs.get("name") or name
    return rule, {"arn": c.arn("events", f"rule/{rule}"), "name": rule}


def _event_target(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    target = inputs.get("targetId") or stable_uuid(name)[:8]
    return f"{inputs.get('rule')}-{target}", {"targetId": target}


def _dashboard(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    dash = inputs.get("dashboardName") or name
    return dash, {"dashboardArn": f"arn:{c.partition}:cloudwatch::{c.account_id}:dashboard/{dash}"}


def _alarm(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    alarm = inputs.get("name") or name
    return alarm, {"arn": c.arn("cloudwatch", f"alarm:{alarm}")}


def _sagemaker(kind: str, name_key: str) -> Handler:
    def handler(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
        physical = inputs.get(name_key) or name
        return physical, {"arn": c.arn("sagemaker", f"{kind}/{physical.lower()}")}
    return handler


def _schedule(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    sched = inputs.get("name") or name
    group = inputs.get("groupName") or "default"
    return f"{group}/{sched}", {"arn": c.arn("scheduler", f"schedule/{group}/{sched}")}


def _log_group(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    group = inputs.get("name") or name
    return group, {"arn": c.arn("logs", f"log-group:{group}")}


def _by_id(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    """Companion resources whose ID is the resource they attach to."""
    return str(inputs.get("bucket") or inputs.get("arn") or inputs.get("modelPackageGroupName") or name), {}


HANDLERS: dict[str, Handler] = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": _event_target,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": _sagemaker(
        "model-package-group", "modelPackageGroupName"),
    "aws:sagemaker/featureGroup:FeatureGroup": _sagemaker("feature-group", "featureGroupName"),
    "aws:sagemaker/pipeline:Pipeline": _sagemaker("pipeline", "pipelineName"),
    "aws:scheduler/schedule:Schedule": _schedule,
}
# Companions keyed on what they attach to (bucket, topic, group).
for _token in (
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLogging:BucketLogging",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy",
):
    HANDLERS[_token] = _by_id


def _caller_identity(c: Cloud, args: dict) -> dict:
    return {"accountId": c.account_id, "arn": f"arn:{c.partition}:iam::{c.account_id}:user/offline",
            "userId": "AIDAOFFLINE", "id": c.account_id}


def _region(c: Cloud, args: dict) -> dict:
    return {"name": c.region, "region": c.region, "id": c.region,
            "description": c.region, "endpoint": f"ec2.{c.region}.amazonaws.com"}


def _partition(c: Cloud, args: dict) -> dict:
    return {"partition": c.partition, "dnsSuffix": "amazonaws.com", "id": c.partition,
            "reverseDnsPrefix": "com.amazonaws"}


INVOKES: dict[str, Callable[[Cloud, dict], dict]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getPartition:getPartition": _partition,
}


class UnfakedInvokeError(RuntimeError):
    """The program called a data source the offline runtime does not fake."""


class FakeCloud(pulumi.runtime.Mocks):
    """Pulumi mocks answering from the dispatch tables above."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        handler = HANDLERS.get(args.typ)
        outputs: dict[str, Any]
        if handler is None:
            physical, outputs = f"{args.name}-id", {}
        else:
            physical, outputs = handler(self.cloud, args.name, dict(args.inputs))
        return physical, {**args.inputs, **outputs}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:  # type: ignore[override]
        fake = INVOKES.get(args.token)
        if fake is None:
            # An unfaked invoke would silently return None; fail loudly instead.
            raise UnfakedInvokeError(f"offline runtime has no fake for invoke {args.token}")
        return fake(self.cloud, dict(args.args))
