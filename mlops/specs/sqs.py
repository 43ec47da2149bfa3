"""SQS: the dead-letter queues of EventBridge targets, and their queue policies."""

from __future__ import annotations

import json
from typing import Any

from common import tokens
from mlops.offline.cloud import Cloud
from mlops.ops.aws import is_not_found
from mlops.sandbox.handlers import Ctx, Result
from mlops.specs.spec import ResourceSpec, Terraform

# Pulumi input -> SQS queue attribute (every attribute value is a string on the wire).
_ATTRIBUTES = {
    "kmsMasterKeyId": "KmsMasterKeyId",
    "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
    "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "delaySeconds": "DelaySeconds",
    "maxMessageSize": "MaximumMessageSize",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "policy": "Policy",
    "redrivePolicy": "RedrivePolicy",
    "redriveAllowPolicy": "RedriveAllowPolicy",
    "contentBasedDeduplication": "ContentBasedDeduplication",
    "deduplicationScope": "DeduplicationScope",
    "fifoThroughputLimit": "FifoThroughputLimit",
}


def _text(value: Any) -> str:
    """An attribute value as SQS takes it: booleans in lower case, documents as JSON, integral
    floats without the fraction."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _attributes(inputs: dict) -> dict[str, str]:
    return {sqs: _text(inputs[key]) for key, sqs in _ATTRIBUTES.items()
            if inputs.get(key) is not None}


def _queue_name(inputs: dict, name: str) -> str:
    queue = str(inputs.get("name") or name)
    if inputs.get("fifoQueue") and not queue.endswith(".fifo"):
        queue += ".fifo"
    return queue


def _url(c: Cloud, queue: str) -> str:
    return f"https://sqs.{c.region}.amazonaws.com/{c.account_id}/{queue}"


def fake_queue(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    """A queue's ID is its URL (as pulumi-aws has it); ``url`` and ``arn`` are outputs too."""
    queue = _queue_name(inputs, name)
    url = _url(c, queue)
    return url, {"arn": c.arn("sqs", queue), "url": url, "name": queue}


def apply_queue(ctx: Ctx, name: str, inputs: dict) -> Result:
    """Create the queue, or set the attributes of the one there (CreateQueue refuses a queue
    that exists with other attributes)."""
    sqs = ctx.client("sqs")
    queue = _queue_name(inputs, name)
    attributes = _attributes(inputs)
    try:
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    except Exception as exc:
        if not is_not_found(exc) and "NonExistentQueue" not in str(exc):
            raise
        url = None
    created = url is None
    if url is None:
        fifo = {"FifoQueue": "true"} if inputs.get("fifoQueue") else {}
        tags = ctx.tags(inputs)
        url = sqs.create_queue(QueueName=queue, Attributes={**attributes, **fifo},
                               **({"tags": tags} if tags else {}))["QueueUrl"]
    else:
        if attributes:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        if ctx.tags(inputs):
            sqs.tag_queue(QueueUrl=url, Tags=ctx.tags(inputs))
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    return url, {"arn": arn, "url": url, "name": queue, "tagsAll": ctx.tags(inputs)}, created


def fake_queue_policy(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    return str(inputs.get("queueUrl") or name), {}


def apply_queue_policy(ctx: Ctx, name: str, inputs: dict) -> Result:
    """Set the queue's Policy attribute; "created" when the queue had no policy before."""
    sqs = ctx.client("sqs")
    url = inputs["queueUrl"]
    before = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get(
        "Attributes", {}).get("Policy")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": _text(inputs["policy"])})
    return url, {}, not before


SPECS = [
    ResourceSpec(tokens.SQS_QUEUE, fake_queue, apply_queue,
                 Terraform("aws_sqs_queue",
                           json=frozenset({"policy", "redrivePolicy", "redriveAllowPolicy"}),
                           default_tags=True),
                 caveat="stored; moto encrypts nothing with the key"),
    ResourceSpec(tokens.SQS_QUEUE_POLICY, fake_queue_policy, apply_queue_policy,
                 Terraform("aws_sqs_queue_policy", json=frozenset({"policy"}))),
]
