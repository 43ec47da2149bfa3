"""S3: buckets, their companion configuration resources and objects."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pulumi

from common import tokens
from mlops.offline.cloud import Cloud
from mlops.ops.aws import is_not_found
from mlops.sandbox.handlers import CannotSimulate, Ctx, Handler, Result, Retry, boto_shape, pick
from mlops.specs.spec import ResourceSpec, Terraform, attached_to

# --- buckets ----------------------------------------------------------------------------------


def fake_bucket(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    bucket = inputs.get("bucket") or name
    return bucket, {"bucket": bucket, "arn": f"arn:{c.partition}:s3:::{bucket}",
                    "bucketDomainName": f"{bucket}.s3.amazonaws.com", "region": c.region}


def apply_bucket(ctx: Ctx, name: str, inputs: dict) -> Result:
    s3 = ctx.client("s3")
    bucket = inputs.get("bucket") or name
    created = False
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as exc:
        if not is_not_found(exc):
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


# --- companions: their ID is the bucket's name -------------------------------------------------


def companion(put: Callable[[Any, str, dict], None], get: str,
              present: Callable[[dict], bool] = bool) -> Handler:
    """A companion handler; ``get`` names the S3 read that tells whether it was there before."""
    def handler(ctx: Ctx, name: str, inputs: dict) -> Result:
        s3, bucket = ctx.client("s3"), inputs["bucket"]
        try:
            existed = present(getattr(s3, get)(Bucket=bucket))
        except Exception as exc:
            if not is_not_found(exc):
                raise
            existed = False
        put(s3, bucket, inputs)
        return bucket, {}, not existed
    return handler


def _ownership(s3: Any, bucket: str, inputs: dict) -> None:
    rule = boto_shape(inputs["rule"])
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [rule]})


def _public_access_block(s3: Any, bucket: str, inputs: dict) -> None:
    config = pick(inputs, {"blockPublicAcls": "BlockPublicAcls", "ignorePublicAcls":
                           "IgnorePublicAcls", "blockPublicPolicy": "BlockPublicPolicy",
                           "restrictPublicBuckets": "RestrictPublicBuckets"})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=config)


def _encryption(s3: Any, bucket: str, inputs: dict) -> None:
    s3.put_bucket_encryption(
        Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": boto_shape(inputs["rules"])}
    )


def _has_kms_default(response: dict) -> bool:
    rules = response["ServerSideEncryptionConfiguration"]["Rules"]
    return any("KMSMasterKeyID" in str(rule) for rule in rules)


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
    handler checks the target's policy itself, and hands moto the log-delivery statements only
    for the duration of the call, restoring the full policy right after.
    """
    target = inputs["targetBucket"]
    try:
        policy: str | None = s3.get_bucket_policy(Bucket=target)["Policy"]
    except Exception as exc:
        if not is_not_found(exc):
            raise
        policy = None
    if not _grants_log_delivery(policy):
        raise Retry(f"bucket policy of {target} does not let logging.s3.amazonaws.com write yet")
    assert policy is not None
    doc = json.loads(policy)
    delivery = [s for s in doc["Statement"] if isinstance(s.get("Principal"), dict)
                and s["Principal"].get("Service") == "logging.s3.amazonaws.com"]
    status = {"LoggingEnabled": pick(inputs, {"targetBucket": "TargetBucket",
                                              "targetPrefix": "TargetPrefix"})}
    s3.put_bucket_policy(Bucket=target, Policy=json.dumps({**doc, "Statement": delivery}))
    try:
        s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus=status)
    finally:
        s3.put_bucket_policy(Bucket=target, Policy=policy)


def _filter(config: dict) -> dict:
    rules = [{"Name": name, "Value": config[key]}
             for key, name in (("filterPrefix", "prefix"), ("filterSuffix", "suffix"))
             if config.get(key)]
    return {"Filter": {"Key": {"FilterRules": rules}}} if rules else {}


def _notifications(inputs: dict) -> dict:
    """Pulumi's BucketNotification inputs as S3's NotificationConfiguration: EventBridge on
    (``eventbridge``: an empty EventBridgeConfiguration), queues, topics and functions."""
    config: dict[str, Any] = {}
    if inputs.get("eventbridge"):
        config["EventBridgeConfiguration"] = {}
    for key, kind, arn_key, arn in (("queues", "QueueConfigurations", "queueArn", "QueueArn"),
                                    ("topics", "TopicConfigurations", "topicArn", "TopicArn"),
                                    ("lambdaFunctions", "LambdaFunctionConfigurations",
                                     "lambdaFunctionArn", "LambdaFunctionArn")):
        shaped = [{arn: item[arn_key], "Events": list(item.get("events") or []),
                   **({"Id": item["id"]} if item.get("id") else {}), **_filter(item)}
                  for item in inputs.get(key) or []]
        if shaped:
            config[kind] = shaped
    return config


def _notification(s3: Any, bucket: str, inputs: dict) -> None:
    s3.put_bucket_notification_configuration(Bucket=bucket,
                                             NotificationConfiguration=_notifications(inputs))


def _has_notifications(response: dict) -> bool:
    """Whether the bucket had a notification configuration (AWS answers a bucket without one
    with no configuration members). moto keeps EventBridgeConfiguration but never returns it,
    so in the sandbox an EventBridge-only configuration counts as new on every apply."""
    return any(key.endswith("Configuration") or key.endswith("Configurations")
               for key in response)


# --- objects ----------------------------------------------------------------------------------


def fake_object(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    key = str(inputs.get("key") or name)
    return key, {"arn": f"arn:{c.partition}:s3:::{inputs.get('bucket')}/{key}"}


def _object_body(inputs: dict) -> bytes:
    source = inputs.get("source")
    if isinstance(source, pulumi.FileAsset):
        return Path(source.path).read_bytes()
    if isinstance(source, pulumi.StringAsset):
        return source.text.encode()
    if source is not None:
        raise CannotSimulate(f"the sandbox uploads file and string assets, not "
                             f"{type(source).__name__}")
    if inputs.get("contentBase64"):
        return base64.b64decode(inputs["contentBase64"])
    return str(inputs.get("content") or "").encode()


def apply_object(ctx: Ctx, name: str, inputs: dict) -> Result:
    """An object; uploaded again only when its content or settings changed (no new versions)."""
    s3 = ctx.client("s3")
    bucket, key = inputs["bucket"], inputs["key"]
    body = _object_body(inputs)
    params = pick(inputs, {
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
        if not is_not_found(exc):
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


_ON_BUCKET = attached_to("bucket")

SPECS = [
    ResourceSpec(tokens.S3_BUCKET, fake_bucket, apply_bucket,
                 Terraform("aws_s3_bucket", default_tags=True)),
    ResourceSpec(tokens.S3_BUCKET_OWNERSHIP, _ON_BUCKET,
                 companion(_ownership, "get_bucket_ownership_controls"),
                 Terraform("aws_s3_bucket_ownership_controls")),
    ResourceSpec(tokens.S3_BUCKET_PUBLIC_ACCESS_BLOCK, _ON_BUCKET,
                 companion(_public_access_block, "get_public_access_block"),
                 Terraform("aws_s3_bucket_public_access_block")),
    ResourceSpec(tokens.S3_BUCKET_SSE, _ON_BUCKET,
                 companion(_encryption, "get_bucket_encryption", _has_kms_default),
                 Terraform("aws_s3_bucket_server_side_encryption_configuration",
                           blocks={"rules": "rule"})),
    ResourceSpec(tokens.S3_BUCKET_VERSIONING, _ON_BUCKET,
                 companion(_versioning, "get_bucket_versioning", lambda r: "Status" in r),
                 Terraform("aws_s3_bucket_versioning")),
    ResourceSpec(tokens.S3_BUCKET_POLICY, _ON_BUCKET,
                 companion(_bucket_policy, "get_bucket_policy"),
                 Terraform("aws_s3_bucket_policy", json=frozenset({"policy"}))),
    ResourceSpec(tokens.S3_BUCKET_LIFECYCLE, _ON_BUCKET,
                 companion(_lifecycle, "get_bucket_lifecycle_configuration"),
                 Terraform("aws_s3_bucket_lifecycle_configuration", blocks={"rules": "rule"})),
    ResourceSpec(tokens.S3_BUCKET_LOGGING, _ON_BUCKET,
                 companion(_logging, "get_bucket_logging", lambda r: "LoggingEnabled" in r),
                 Terraform("aws_s3_bucket_logging"),
                 caveat="stored; no access logs are delivered"),
    ResourceSpec(tokens.S3_BUCKET_NOTIFICATION, _ON_BUCKET,
                 companion(_notification, "get_bucket_notification_configuration",
                           _has_notifications),
                 Terraform("aws_s3_bucket_notification", blocks={
                     "queues": "queue", "topics": "topic", "lambdaFunctions": "lambda_function"}),
                 caveat="moto routes Object Created events to EventBridge; queue, topic and "
                        "function notifications are stored, not delivered",
                 unchecked="routes the bucket's own object events to EventBridge: it grants no "
                           "access and holds no data, and what the events start is judged on "
                           "the event targets"),
    ResourceSpec(tokens.S3_BUCKET_OBJECT, fake_object, apply_object,
                 Terraform("aws_s3_object", default_tags=True)),
]
