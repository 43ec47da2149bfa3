"""The sandbox engine: apply the Pulumi program's registrations to moto instead of recording them.

``MotoCloud`` is a ``pulumi.runtime.Mocks``: every custom resource the program registers is
answered by a handler from ``HANDLERS`` (type token -> handler) that performs the boto3 calls
which create or update it, and returns the real physical ID and outputs (ARNs, key IDs), so
dependent inputs carry real values and every request passes botocore's validation. Handlers are
idempotent: they look up what exists first, so re-applying changes nothing but drifted inputs.

Types without a handler, or whose API moto lacks, are answered with the offline fakes and listed
as "not simulated" with the reason; a failed call is listed as "failed". Nothing is dropped.

Both modes use the same code: in-process under ``moto.mock_aws`` (tests), or against a local moto
server (``endpoint_url``, the sandbox commands).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from mlops.offline.fakes import Cloud, FakeCloud
from mlops.offline.plan import Plan

CREATED = "created"
APPLIED = "applied"  # existed already; the desired state was re-applied
NOT_SIMULATED = "not simulated"
FAILED = "failed"
SIMULATED = (CREATED, APPLIED)

SANDBOX_TAG = "mlops:sandbox-resource"  # finds resources whose IDs AWS generates (KMS keys)
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class NotSimulated(Exception):  # noqa: N818 (an outcome, not an error)
    """moto cannot create this resource; the message says why."""


class _Retry(Exception):  # noqa: N818
    """A prerequisite created by another registration is not there yet; try again shortly."""


@dataclass
class Outcome:
    """What the engine did with one custom resource."""

    type: str
    name: str
    status: str
    physical_id: str = ""
    detail: str = ""

    @property
    def simulated(self) -> bool:
        return self.status in SIMULATED


_SESSIONS: dict[str, Any] = {}
_SESSION_LOCK = threading.Lock()


def _session(region: str) -> Any:
    """One boto3 session per region, so service models load once per process."""
    if region not in _SESSIONS:
        import boto3

        _SESSIONS[region] = boto3.session.Session(region_name=region, **FAKE_CREDENTIALS)
    return _SESSIONS[region]


@dataclass
class Ctx:
    """boto3 clients on the sandbox backend, plus what handlers need to know about the stack."""

    cloud: Cloud
    stack: str
    endpoint_url: str | None = None
    default_tags: dict[str, str] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        with _SESSION_LOCK:
            if service not in self._clients:
                session = _session(self.cloud.region)
                self._clients[service] = session.client(service, endpoint_url=self.endpoint_url)
            return self._clients[service]

    def tags(self, inputs: dict) -> dict[str, str]:
        return {**self.default_tags, **(inputs.get("tags") or {})}

    def tag_list(self, inputs: dict, key: str = "Key", value: str = "Value") -> list[dict]:
        return [{key: k, value: str(v)} for k, v in self.tags(inputs).items()]


Result = tuple[str, dict[str, Any], bool]  # physical id, outputs, created (False: existed)
Handler = Callable[[Ctx, str, dict[str, Any]], Result]

# camelCase input keys whose boto3 name is not just the capitalised key.
_RENAMES = {
    "id": "ID",
    "kmsMasterKeyId": "KMSMasterKeyID",
    "sseAlgorithm": "SSEAlgorithm",
    "sagemakerPipelineParameters": "SageMakerPipelineParameters",
    "pipelineParameters": "PipelineParameterList",
    "evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentile",
    "okActions": "OKActions",
}


def boto_shape(value: Any) -> Any:
    """Pulumi camelCase input values -> boto3 PascalCase request values (integral floats -> int)."""
    if isinstance(value, dict):
        return {_RENAMES.get(k, k[:1].upper() + k[1:]): boto_shape(v) for k, v in value.items()
                if v is not None}
    if isinstance(value, list):
        return [boto_shape(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _pick(inputs: dict, mapping: dict[str, str]) -> dict[str, Any]:
    """Request parameters from the inputs that are set: {inputKey: BotoKey}."""
    return {boto: boto_shape(inputs[key]) for key, boto in mapping.items()
            if inputs.get(key) is not None}


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _missing(exc: Exception) -> bool:
    code = _code(exc)
    return code in ("404", "NoSuchBucket", "NoSuchEntity", "NotFound", "NotFoundException",
                    "ResourceNotFound", "ResourceNotFoundException", "ValidationException",
                    "ResourceNotFoundFault") or "NotFound" in code or "does not exist" in str(exc)


# --- S3 ----------------------------------------------------------------------------------------

def _bucket(ctx: Ctx, name: str, inputs: dict) -> Result:
    s3 = ctx.client("s3")
    bucket = inputs.get("bucket") or name
    created = False
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as exc:
        if not _missing(exc):
            raise
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if ctx.cloud.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.cloud.region}
        s3.create_bucket(**kwargs)
        created = True
    if ctx.tags(inputs):
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": ctx.tag_list(inputs)})
    return bucket, {
        "bucket": bucket, "arn": f"arn:{ctx.cloud.partition}:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.{ctx.cloud.region}.amazonaws.com",
        "region": ctx.cloud.region, "tagsAll": ctx.tags(inputs),
    }, created


def _bucket_companion(put: Callable[[Any, str, dict], None], get: str,
                      present: Callable[[dict], bool] = bool) -> Handler:
    """Companion resources (encryption, versioning, ...): their ID is the bucket's name.

    ``get`` names the S3 read call that tells whether the configuration was there before.
    """
    def handler(ctx: Ctx, name: str, inputs: dict) -> Result:
        s3, bucket = ctx.client("s3"), inputs["bucket"]
        try:
            existed = present(getattr(s3, get)(Bucket=bucket))
        except Exception:
            existed = False
        put(s3, bucket, inputs)
        return bucket, {}, not existed
    return handler


def _ownership(s3: Any, bucket: str, inputs: dict) -> None:
    rule = boto_shape(inputs["rule"])
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [rule]})


def _public_access_block(s3: Any, bucket: str, inputs: dict) -> None:
    config = _pick(inputs, {"blockPublicAcls": "BlockPublicAcls", "ignorePublicAcls":
                            "IgnorePublicAcls", "blockPublicPolicy": "BlockPublicPolicy",
                            "restrictPublicBuckets": "RestrictPublicBuckets"})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=config)


def _encryption(s3: Any, bucket: str, inputs: dict) -> None:
    s3.put_bucket_encryption(
        Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": boto_shape(inputs["rules"])}
    )


def _versioning(s3: Any, bucket: str, inputs: dict) -> None:
    config = boto_shape(inputs["versioningConfiguration"])
    config.pop("MfaDelete", None)  # needs an MFA device; not part of the sandbox
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=config)


def _bucket_policy(s3: Any, bucket: str, inputs: dict) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=inputs["policy"])


def _lifecycle(s3: Any, bucket: str, inputs: dict) -> None:
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": boto_shape(inputs["rules"])}
    )


def _grants_log_delivery(policy: str | None) -> bool:
    if not policy:
        return False
    for stmt in json.loads(policy).get("Statement", []):
        principal = stmt.get("Principal")
        service = principal.get("Service") if isinstance(principal, dict) else None
        actions = stmt.get("Action")
        actions = [actions] if isinstance(actions, str) else actions or []
        if (stmt.get("Effect") == "Allow" and service == "logging.s3.amazonaws.com"
                and "s3:PutObject" in actions):
            return True
    return False


def _logging(s3: Any, bucket: str, inputs: dict) -> None:
    """Server access logging, after S3's check that the target bucket lets log delivery write.

    moto's own check trips over statements whose principal is "*" (our deny statements), so the
    engine checks the target's policy itself, and hands moto the log-delivery statements only for
    the duration of the call, restoring the full policy right after.
    """
    target = inputs["targetBucket"]
    try:
        policy: str | None = s3.get_bucket_policy(Bucket=target)["Policy"]
    except Exception as exc:
        if not _missing(exc) and _code(exc) != "NoSuchBucketPolicy":
            raise
        policy = None
    if not _grants_log_delivery(policy):
        raise _Retry(f"bucket policy of {target} does not let logging.s3.amazonaws.com write yet")
    assert policy is not None
    doc = json.loads(policy)
    delivery = [s for s in doc["Statement"] if isinstance(s.get("Principal"), dict)
                and s["Principal"].get("Service") == "logging.s3.amazonaws.com"]
    status = {"LoggingEnabled": _pick(inputs, {"targetBucket": "TargetBucket",
                                               "targetPrefix": "TargetPrefix"})}
    s3.put_bucket_policy(Bucket=target, Policy=json.dumps({**doc, "Statement": delivery}))
    try:
        s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus=status)
    finally:
        s3.put_bucket_policy(Bucket=target, Policy=policy)


def _object_body(inputs: dict) -> bytes:
    source = inputs.get("source")
    if isinstance(source, pulumi.FileAsset):
        return Path(source.path).read_bytes()
    if isinstance(source, pulumi.StringAsset):
        return source.text.encode()
    if source is not None:
        raise NotSimulated(f"the sandbox uploads file and string assets, not {type(source).__name__}")
    if inputs.get("contentBase64"):
        import base64

        return base64.b64decode(inputs["contentBase64"])
    return str(inputs.get("content") or "").encode()


def _bucket_object(ctx: Ctx, name: str, inputs: dict) -> Result:
    """An object; uploaded again only when its content or settings changed (no new versions)."""
    from urllib.parse import urlencode

    s3 = ctx.client("s3")
    bucket, key = inputs["bucket"], inputs["key"]
    body = _object_body(inputs)
    params = _pick(inputs, {
        "contentType": "ContentType", "serverSideEncryption": "ServerSideEncryption",
        "kmsKeyId": "SSEKMSKeyId", "bucketKeyEnabled": "BucketKeyEnabled",
        "cacheControl": "CacheControl", "contentEncoding": "ContentEncoding",
        "contentDisposition": "ContentDisposition", "storageClass": "StorageClass"})
    digest = hashlib.sha256(json.dumps([body.hex(), params, ctx.tags(inputs)],
                                       sort_keys=True, default=str).encode()).hexdigest()
    metadata = {**(inputs.get("metadata") or {}), "mlops-sandbox-sha256": digest}
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if not _missing(exc):
            raise
        head = None
    existed = head is not None
    if head is None or head.get("Metadata", {}).get("mlops-sandbox-sha256") != digest:
        tagging = {"Tagging": urlencode(ctx.tags(inputs))} if ctx.tags(inputs) else {}
        head = s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=metadata, **params,
                             **tagging)
    return key, {"etag": str(head.get("ETag", "")).strip('"'), "versionId": head.get("VersionId"),
                 "arn": f"arn:{ctx.cloud.partition}:s3:::{bucket}/{key}",
                 "tagsAll": ctx.tags(inputs)}, not existed


# --- KMS ---------------------------------------------------------------------------------------

def _find_key(ctx: Ctx, marker: str) -> str | None:
    kms = ctx.client("kms")
    for page in kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if meta.get("KeyState") in ("PendingDeletion", "PendingReplicaDeletion"):
                continue
            tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
            if any(t["TagKey"] == SANDBOX_TAG and t["TagValue"] == marker for t in tags):
                return str(key["KeyId"])
    return None


def _kms_key(ctx: Ctx, name: str, inputs: dict) -> Result:
    kms = ctx.client("kms")
    marker = f"{ctx.stack}/{name}"
    key_id = _find_key(ctx, marker)
    created = key_id is None
    if key_id is None:
        params = _pick(inputs, {"description": "Description", "keyUsage": "KeyUsage",
                                "customerMasterKeySpec": "KeySpec", "policy": "Policy",
                                "multiRegion": "MultiRegion"})
        tags = ctx.tag_list(inputs, "TagKey", "TagValue") + [{"TagKey": SANDBOX_TAG,
                                                              "TagValue": marker}]
        key_id = kms.create_key(**params, Tags=tags)["KeyMetadata"]["KeyId"]
    else:
        if inputs.get("policy"):
            kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=inputs["policy"])
        if inputs.get("description") is not None:
            kms.update_key_description(KeyId=key_id, Description=inputs["description"])
    if inputs.get("enableKeyRotation"):
        period = inputs.get("rotationPeriodInDays")
        kms.enable_key_rotation(KeyId=key_id, **({"RotationPeriodInDays": int(period)}
                                                 if period else {}))
    else:
        kms.disable_key_rotation(KeyId=key_id)
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    return str(key_id), {"keyId": key_id, "arn": arn, "tagsAll": ctx.tags(inputs)}, created


def _kms_alias(ctx: Ctx, name: str, inputs: dict) -> Result:
    kms = ctx.client("kms")
    alias = inputs.get("name") or f"alias/{name}"
    target = inputs["targetKeyId"]
    existing = None
    for page in kms.get_paginator("list_aliases").paginate():
        existing = next((a for a in page["Aliases"] if a["AliasName"] == alias), existing)
    if existing is None:
        kms.create_alias(AliasName=alias, TargetKeyId=target)
    elif existing.get("TargetKeyId") != target:
        kms.update_alias(AliasName=alias, TargetKeyId=target)
    key_arn = kms.describe_key(KeyId=target)["KeyMetadata"]["Arn"]
    return alias, {"name": alias, "arn": ctx.cloud.arn("kms", alias),
                   "targetKeyArn": key_arn}, existing is None


# --- IAM ---------------------------------------------------------------------------------------

def _role(ctx: Ctx, name: str, inputs: dict) -> Result:
    iam = ctx.client("iam")
    role = inputs.get("name") or name
    try:
        found = iam.get_role(RoleName=role)["Role"]
    except Exception as exc:
        if not _missing(exc):
            raise
        found = None
    created = found is None
    if found is None:
        params = _pick(inputs, {"description": "Description", "maxSessionDuration":
                                "MaxSessionDuration", "permissionsBoundary": "PermissionsBoundary",
                                "path": "Path"})
        found = iam.create_role(RoleName=role, AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
                                Tags=ctx.tag_list(inputs), **params)["Role"]
    else:
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=inputs["assumeRolePolicy"])
        iam.update_role(RoleName=role, **_pick(inputs, {
            "description": "Description", "maxSessionDuration": "MaxSessionDuration"}))
        if inputs.get("permissionsBoundary"):
            iam.put_role_permissions_boundary(RoleName=role,
                                              PermissionsBoundary=inputs["permissionsBoundary"])
        if ctx.tags(inputs):
            iam.tag_role(RoleName=role, Tags=ctx.tag_list(inputs))
    return role, {"name": role, "arn": found["Arn"], "uniqueId": found["RoleId"],
                  "tagsAll": ctx.tags(inputs)}, created


def _role_policy(ctx: Ctx, name: str, inputs: dict) -> Result:
    iam = ctx.client("iam")
    role, policy_name = inputs["role"], inputs.get("name") or name
    existing = iam.list_role_policies(RoleName=role)["PolicyNames"]
    iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=inputs["policy"])
    return f"{role}:{policy_name}", {"name": policy_name}, policy_name not in existing


def _role_policy_attachment(ctx: Ctx, name: str, inputs: dict) -> Result:
    iam = ctx.client("iam")
    role, arn = inputs["role"], inputs["policyArn"]
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    exists = any(p["PolicyArn"] == arn for p in attached)
    if not exists:
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    return f"{role}/{arn}", {}, not exists


# --- SNS ---------------------------------------------------------------------------------------

_TOPIC_ATTRIBUTES = {"kmsMasterKeyId": "KmsMasterKeyId", "displayName": "DisplayName",
                     "policy": "Policy", "deliveryPolicy": "DeliveryPolicy",
                     "signatureVersion": "SignatureVersion", "tracingConfig": "TracingConfig"}


def _topic(ctx: Ctx, name: str, inputs: dict) -> Result:
    sns = ctx.client("sns")
    topic = inputs.get("name") or name
    arn = ctx.cloud.arn("sns", topic)
    attributes = {k: str(v) for k, v in _pick(inputs, _TOPIC_ATTRIBUTES).items()}
    try:
        sns.get_topic_attributes(TopicArn=arn)
        created = False
    except Exception as exc:
        if not _missing(exc):
            raise
        extra = {"FifoTopic": "true"} if inputs.get("fifoTopic") else {}
        arn = sns.create_topic(Name=topic, Attributes=extra, Tags=ctx.tag_list(inputs))["TopicArn"]
        created = True
    for key, value in attributes.items():
        sns.set_topic_attributes(TopicArn=arn, AttributeName=key, AttributeValue=value)
    return arn, {"arn": arn, "name": topic, "tagsAll": ctx.tags(inputs)}, created


def _sids(policy: str | None) -> list[str]:
    return [str(s.get("Sid")) for s in json.loads(policy or "{}").get("Statement", [])]


def _topic_policy(ctx: Ctx, name: str, inputs: dict) -> Result:
    sns = ctx.client("sns")
    current = sns.get_topic_attributes(TopicArn=inputs["arn"])["Attributes"].get("Policy")
    sns.set_topic_attributes(TopicArn=inputs["arn"], AttributeName="Policy",
                             AttributeValue=inputs["policy"])
    return inputs["arn"], {}, _sids(current) != _sids(inputs["policy"])


def _subscription(ctx: Ctx, name: str, inputs: dict) -> Result:
    sns = ctx.client("sns")
    topic, protocol, endpoint = inputs["topic"], inputs["protocol"], inputs["endpoint"]
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic):
        for sub in page["Subscriptions"]:
            if sub["Protocol"] == protocol and sub["Endpoint"] == endpoint:
                return sub["SubscriptionArn"], {"arn": sub["SubscriptionArn"]}, False
    attributes = {k: (json.dumps(v) if not isinstance(v, str) else v) for k, v in _pick(inputs, {
        "rawMessageDelivery": "RawMessageDelivery", "filterPolicy": "FilterPolicy"}).items()}
    arn = sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=endpoint,
                        Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"]
    return arn, {"arn": arn}, True


# --- EventBridge and CloudWatch ----------------------------------------------------------------

def _event_rule(ctx: Ctx, name: str, inputs: dict) -> Result:
    events = ctx.client("events")
    rule = inputs.get("name") or name
    bus = inputs.get("eventBusName") or "default"
    try:
        events.describe_rule(Name=rule, EventBusName=bus)
        created = False
    except Exception as exc:
        if not _missing(exc):
            raise
        created = True
    params = _pick(inputs, {"eventPattern": "EventPattern", "scheduleExpression":
                            "ScheduleExpression", "description": "Description",
                            "roleArn": "RoleArn", "state": "State"})
    arn = events.put_rule(Name=rule, EventBusName=bus, Tags=ctx.tag_list(inputs),
                          **params)["RuleArn"]
    return rule, {"arn": arn, "name": rule, "tagsAll": ctx.tags(inputs)}, created


def _event_target(ctx: Ctx, name: str, inputs: dict) -> Result:
    events = ctx.client("events")
    rule, bus = inputs["rule"], inputs.get("eventBusName") or "default"
    target_id = inputs.get("targetId") or re.sub(r"[^A-Za-z0-9._-]", "-", name)[:64]
    existing = events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
    target = {"Id": target_id, "Arn": inputs["arn"],
              **_pick(inputs, {"roleArn": "RoleArn", "input": "Input", "inputPath": "InputPath"})}
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[target])
    return f"{bus}-{rule}-{target_id}", {"targetId": target_id}, \
        not any(t["Id"] == target_id for t in existing)


def _dashboard(ctx: Ctx, name: str, inputs: dict) -> Result:
    cw = ctx.client("cloudwatch")
    dash = inputs.get("dashboardName") or name
    existing = {d["DashboardName"] for d in cw.list_dashboards(DashboardNamePrefix=dash)
                .get("DashboardEntries", [])}
    cw.put_dashboard(DashboardName=dash, DashboardBody=inputs["dashboardBody"])
    return dash, {"dashboardArn": f"arn:{ctx.cloud.partition}:cloudwatch::"
                                  f"{ctx.cloud.account_id}:dashboard/{dash}"}, dash not in existing


def _dimensions(value: Any) -> Any:
    """Pulumi alarm dimensions are a map; CloudWatch wants [{Name, Value}]."""
    if isinstance(value, dict):
        return [{"Name": k, "Value": str(v)} for k, v in value.items()]
    return value


def _alarm(ctx: Ctx, name: str, inputs: dict) -> Result:
    cw = ctx.client("cloudwatch")
    alarm = inputs.get("name") or name
    existing = cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    params = _pick(inputs, {
        "alarmDescription": "AlarmDescription", "actionsEnabled": "ActionsEnabled",
        "alarmActions": "AlarmActions", "okActions": "OKActions",
        "insufficientDataActions": "InsufficientDataActions",
        "comparisonOperator": "ComparisonOperator", "datapointsToAlarm": "DatapointsToAlarm",
        "evaluationPeriods": "EvaluationPeriods", "extendedStatistic": "ExtendedStatistic",
        "metricName": "MetricName", "namespace": "Namespace", "period": "Period",
        "statistic": "Statistic", "threshold": "Threshold", "thresholdMetricId":
        "ThresholdMetricId", "treatMissingData": "TreatMissingData", "unit": "Unit",
        "evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentile"})
    if inputs.get("dimensions"):
        params["Dimensions"] = _dimensions(inputs["dimensions"])
    if inputs.get("metricQueries"):
        queries = []
        for query in inputs["metricQueries"]:
            shaped = _pick(query, {"id": "Id", "accountId": "AccountId", "expression":
                                   "Expression", "label": "Label", "period": "Period",
                                   "returnData": "ReturnData"})
            metric = query.get("metric")
            if metric:  # Pulumi: metric{name, namespace, dimensions, period, stat, unit}
                shaped["MetricStat"] = {
                    "Metric": {**_pick(metric, {"namespace": "Namespace",
                                                "metricName": "MetricName"}),
                               "Dimensions": _dimensions(metric.get("dimensions") or {})},
                    **_pick(metric, {"period": "Period", "stat": "Stat", "unit": "Unit"}),
                }
            queries.append(shaped)
        params["Metrics"] = queries
    cw.put_metric_alarm(AlarmName=alarm, Tags=ctx.tag_list(inputs), **params)
    arn = cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["AlarmArn"]
    return alarm, {"arn": arn, "name": alarm, "tagsAll": ctx.tags(inputs)}, not existing


def _log_group(ctx: Ctx, name: str, inputs: dict) -> Result:
    logs = ctx.client("logs")
    group = inputs.get("name") or name
    found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    exists = any(g["logGroupName"] == group for g in found)
    if not exists:
        extra = {"kmsKeyId": inputs["kmsKeyId"]} if inputs.get("kmsKeyId") else {}
        logs.create_log_group(logGroupName=group, tags=ctx.tags(inputs), **extra)
    if inputs.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=group,
                                  retentionInDays=int(inputs["retentionInDays"]))
    return group, {"arn": ctx.cloud.arn("logs", f"log-group:{group}"), "name": group}, not exists


# --- SageMaker ---------------------------------------------------------------------------------

def _package_group(ctx: Ctx, name: str, inputs: dict) -> Result:
    sm = ctx.client("sagemaker")
    group = inputs.get("modelPackageGroupName") or name
    try:
        arn = sm.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
        created = False
        if ctx.tags(inputs):
            sm.add_tags(ResourceArn=arn, Tags=ctx.tag_list(inputs))
    except Exception as exc:
        if not _missing(exc):
            raise
        params = _pick(inputs, {"modelPackageGroupDescription": "ModelPackageGroupDescription"})
        arn = sm.create_model_package_group(ModelPackageGroupName=group, Tags=ctx.tag_list(inputs),
                                            **params)["ModelPackageGroupArn"]
        created = True
    return group, {"arn": arn, "modelPackageGroupName": group,
                   "tagsAll": ctx.tags(inputs)}, created


def _package_group_policy(ctx: Ctx, name: str, inputs: dict) -> Result:
    raise NotSimulated("moto implements no PutModelPackageGroupPolicy")


def _feature_group(ctx: Ctx, name: str, inputs: dict) -> Result:
    """Create, or leave as is: the platform never changes a deployed group (the lock guard in
    infra/projects/loader.py refuses it) and moto has no UpdateFeatureGroup.

    Existence is learnt from CreateFeatureGroup's ResourceInUse, which works on plain moto too
    (its DescribeFeatureGroup of an unknown group is a server error without the sandbox patch).
    """
    sm = ctx.client("sagemaker")
    group = inputs["featureGroupName"]
    params = _pick(inputs, {
        "recordIdentifierFeatureName": "RecordIdentifierFeatureName",
        "eventTimeFeatureName": "EventTimeFeatureName", "featureDefinitions":
        "FeatureDefinitions", "onlineStoreConfig": "OnlineStoreConfig", "offlineStoreConfig":
        "OfflineStoreConfig", "roleArn": "RoleArn", "description": "Description",
        "throughputConfig": "ThroughputConfig"})
    try:
        arn = sm.create_feature_group(FeatureGroupName=group, Tags=ctx.tag_list(inputs),
                                      **params)["FeatureGroupArn"]
        created = True
    except Exception as exc:
        if _code(exc) not in ("ResourceInUse", "ResourceInUseException"):
            raise
        arn = sm.describe_feature_group(FeatureGroupName=group)["FeatureGroupArn"]
        created = False
    return group, {"arn": arn, "tagsAll": ctx.tags(inputs)}, created


def _token(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:40]


def _pipeline(ctx: Ctx, name: str, inputs: dict) -> Result:
    sm = ctx.client("sagemaker")
    pipeline = inputs["pipelineName"]
    params = _pick(inputs, {
        "pipelineDisplayName": "PipelineDisplayName", "pipelineDefinition": "PipelineDefinition",
        "pipelineDefinitionS3Location": "PipelineDefinitionS3Location",
        "pipelineDescription": "PipelineDescription", "roleArn": "RoleArn",
        "parallelismConfiguration": "ParallelismConfiguration"})
    try:
        sm.describe_pipeline(PipelineName=pipeline)
        arn = sm.update_pipeline(PipelineName=pipeline, **params)["PipelineArn"]
        created = False
    except Exception as exc:
        if not _missing(exc):
            raise
        arn = sm.create_pipeline(PipelineName=pipeline, ClientRequestToken=_token(ctx.stack, pipeline),
                                 Tags=ctx.tag_list(inputs), **params)["PipelineArn"]
        created = True
    return pipeline, {"arn": arn, "tagsAll": ctx.tags(inputs)}, created


def _schedule(ctx: Ctx, name: str, inputs: dict) -> Result:
    scheduler = ctx.client("scheduler")
    schedule = inputs.get("name") or name
    group = inputs.get("groupName") or "default"
    params = _pick(inputs, {
        "scheduleExpression": "ScheduleExpression", "scheduleExpressionTimezone":
        "ScheduleExpressionTimezone", "flexibleTimeWindow": "FlexibleTimeWindow",
        "target": "Target", "state": "State", "description": "Description",
        "kmsKeyArn": "KmsKeyArn", "startDate": "StartDate", "endDate": "EndDate",
        "actionAfterCompletion": "ActionAfterCompletion"})
    try:
        scheduler.get_schedule(Name=schedule, GroupName=group)
        arn = scheduler.update_schedule(Name=schedule, GroupName=group, **params)["ScheduleArn"]
        created = False
    except Exception as exc:
        if not _missing(exc):
            raise
        arn = scheduler.create_schedule(Name=schedule, GroupName=group, **params)["ScheduleArn"]
        created = True
    return f"{group}/{schedule}", {"arn": arn, "name": schedule, "groupName": group}, created


HANDLERS: dict[str, Handler] = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _bucket_companion(
        _ownership, "get_bucket_ownership_controls"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        _bucket_companion(_public_access_block, "get_public_access_block"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        _bucket_companion(
        _encryption, "get_bucket_encryption",
        lambda r: any("KMSMasterKeyID" in str(x) for x in r["ServerSideEncryptionConfiguration"]["Rules"])),
    "aws:s3/bucketVersioning:BucketVersioning": _bucket_companion(
        _versioning, "get_bucket_versioning", lambda r: "Status" in r),
    "aws:s3/bucketPolicy:BucketPolicy": _bucket_companion(_bucket_policy, "get_bucket_policy"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
        _bucket_companion(_lifecycle, "get_bucket_lifecycle_configuration"),
    "aws:s3/bucketObjectv2:BucketObjectv2": _bucket_object,
    "aws:s3/bucketLogging:BucketLogging": _bucket_companion(
        _logging, "get_bucket_logging", lambda r: "LoggingEnabled" in r),
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _role_policy_attachment,
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicPolicy:TopicPolicy": _topic_policy,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": _event_target,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": _package_group,
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy": _package_group_policy,
    "aws:sagemaker/featureGroup:FeatureGroup": _feature_group,
    "aws:sagemaker/pipeline:Pipeline": _pipeline,
    "aws:scheduler/schedule:Schedule": _schedule,
}

# What moto stores but does not act on, shown next to simulated resources of these types.
CAVEATS = {
    "aws:sagemaker/pipeline:Pipeline": "stored; executions finish at once, no step runs",
    "aws:scheduler/schedule:Schedule": "stored; never fires",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "stored; moto runs no alarm actions",
    "aws:sagemaker/featureGroup:FeatureGroup": "stored; no put/get record runtime",
    "aws:s3/bucketLogging:BucketLogging": "stored; no access logs are delivered",
}
RETRY_SECONDS = 20.0


class MotoCloud(pulumi.runtime.Mocks):
    """Pulumi mocks whose registrations create the resources in moto (see module docstring)."""

    def __init__(self, ctx: Ctx, on_outcome: Callable[[Outcome], None] | None = None) -> None:
        self.ctx = ctx
        self.fakes = FakeCloud(ctx.cloud)
        self.outcomes: list[Outcome] = []
        self.on_outcome = on_outcome
        self._lock = threading.Lock()  # one handler at a time: moto and the outcome list

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if not args.custom or args.typ.startswith("pulumi:providers:"):
            return self.fakes.new_resource(args)  # components and providers: nothing to create
        inputs = dict(args.inputs)
        handler = HANDLERS.get(args.typ)
        if handler is None:
            return self._fallback(args, NOT_SIMULATED, "no sandbox handler for this type")
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            try:
                with self._lock:
                    physical, outputs, created = handler(self.ctx, args.name, inputs)
                break
            except _Retry as exc:
                if time.monotonic() > deadline:
                    return self._fallback(args, FAILED, str(exc))
                time.sleep(0.05)
            except NotSimulated as exc:
                return self._fallback(args, NOT_SIMULATED, str(exc))
            except Exception as exc:  # a boto3/moto error: shown in the summary, never dropped
                return self._fallback(args, FAILED, f"{type(exc).__name__}: {exc}")
        self._record(Outcome(args.typ, args.name, CREATED if created else APPLIED, physical,
                             CAVEATS.get(args.typ, "")))
        return physical, {**inputs, **outputs}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:  # type: ignore[override]
        return self.fakes.call(args)

    def _fallback(self, args: pulumi.runtime.MockResourceArgs, status: str,
                  detail: str) -> tuple[str | None, dict]:
        physical, outputs = self.fakes.new_resource(args)
        self._record(Outcome(args.typ, args.name, status, physical or "", detail))
        return physical, outputs

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)


@dataclass
class ApplyResult:
    """The Plan of the run plus what the engine did with each custom resource."""

    plan: Plan
    outcomes: list[Outcome]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        return counts

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    @property
    def not_simulated(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == NOT_SIMULATED]

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """(component, type, name, status, detail) in Plan order, for the summary table."""
        by_key = {(o.type, o.name): o for o in self.outcomes}
        rows = []
        for r in self.plan.custom_resources():
            o = by_key.get((r.type, r.name))
            component = (r.parent or "").rsplit("::", 1)[-1]
            if o is not None:
                rows.append((component, r.type, r.name, o.status, o.detail))
        return rows


def apply_stack(root: Path, stack: str, *, endpoint_url: str | None = None,
                on_outcome: Callable[[Outcome], None] | None = None) -> ApplyResult:
    """Run the program for ``stack`` and create its resources in moto.

    ``endpoint_url`` is the local moto server; without it, calls go wherever boto3 goes, which is
    moto's in-process backend inside ``moto.mock_aws()``. Raises SettingsError for a bad stack file
    before anything is created.
    """
    from mlops.offline.runtime import build_plan, load_settings

    settings, _ = load_settings(root, stack)
    holder: list[MotoCloud] = []

    def factory(cloud: Cloud) -> MotoCloud:
        ctx = Ctx(cloud=cloud, stack=stack, endpoint_url=endpoint_url,
                  default_tags=dict(settings.default_tags))
        holder.append(MotoCloud(ctx, on_outcome))
        return holder[0]

    plan = build_plan(root, stack, cloud_factory=factory)
    return ApplyResult(plan=plan, outcomes=list(holder[0].outcomes))
