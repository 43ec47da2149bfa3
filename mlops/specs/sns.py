"""SNS: the alert topic, its policy and subscriptions."""

from __future__ import annotations

import json

from common import tokens
from mlops.offline.cloud import Cloud, stable_uuid
from mlops.ops.aws import is_not_found
from mlops.sandbox.handlers import Ctx, Result, pick
from mlops.specs.spec import ResourceSpec, Terraform, attached_to

_TOPIC_ATTRIBUTES = {"kmsMasterKeyId": "KmsMasterKeyId", "displayName": "DisplayName",
                     "policy": "Policy", "deliveryPolicy": "DeliveryPolicy",
                     "signatureVersion": "SignatureVersion", "tracingConfig": "TracingConfig"}


def fake_topic(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    topic = inputs.get("name") or name
    arn = c.arn("sns", topic)
    return arn, {"arn": arn, "name": topic}


def apply_topic(ctx: Ctx, name: str, inputs: dict) -> Result:
    sns = ctx.client("sns")
    topic = inputs.get("name") or name
    arn = ctx.cloud.arn("sns", topic)
    attributes = {k: str(v) for k, v in pick(inputs, _TOPIC_ATTRIBUTES).items()}
    try:
        sns.get_topic_attributes(TopicArn=arn)
        created = False
    except Exception as exc:
        if not is_not_found(exc):
            raise
        extra = {"FifoTopic": "true"} if inputs.get("fifoTopic") else {}
        arn = sns.create_topic(Name=topic, Attributes=extra, Tags=ctx.tag_list(inputs))["TopicArn"]
        created = True
    for key, value in attributes.items():
        sns.set_topic_attributes(TopicArn=arn, AttributeName=key, AttributeValue=value)
    return arn, {"arn": arn, "name": topic, "tagsAll": ctx.tags(inputs)}, created


def _sids(policy: str | None) -> list[str]:
    return [str(s.get("Sid")) for s in json.loads(policy or "{}").get("Statement", [])]


def apply_topic_policy(ctx: Ctx, name: str, inputs: dict) -> Result:
    sns = ctx.client("sns")
    current = sns.get_topic_attributes(TopicArn=inputs["arn"])["Attributes"].get("Policy")
    sns.set_topic_attributes(TopicArn=inputs["arn"], AttributeName="Policy",
                             AttributeValue=inputs["policy"])
    return inputs["arn"], {}, _sids(current) != _sids(inputs["policy"])


def fake_subscription(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    arn = f"{inputs.get('topic')}:{stable_uuid(name)}"
    return arn, {"arn": arn}


def apply_subscription(ctx: Ctx, name: str, inputs: dict) -> Result:
    sns = ctx.client("sns")
    topic, protocol, endpoint = inputs["topic"], inputs["protocol"], inputs["endpoint"]
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic):
        for sub in page["Subscriptions"]:
            if sub["Protocol"] == protocol and sub["Endpoint"] == endpoint:
                return sub["SubscriptionArn"], {"arn": sub["SubscriptionArn"]}, False
    attributes = {k: (json.dumps(v) if not isinstance(v, str) else v) for k, v in pick(inputs, {
        "rawMessageDelivery": "RawMessageDelivery", "filterPolicy": "FilterPolicy"}).items()}
    arn = sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=endpoint,
                        Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"]
    return arn, {"arn": arn}, True


SPECS = [
    ResourceSpec(tokens.SNS_TOPIC, fake_topic, apply_topic,
                 Terraform("aws_sns_topic", json=frozenset({"policy", "deliveryPolicy"}),
                           default_tags=True)),
    ResourceSpec(tokens.SNS_TOPIC_POLICY, attached_to("arn"), apply_topic_policy,
                 Terraform("aws_sns_topic_policy", json=frozenset({"policy"}))),
    ResourceSpec(tokens.SNS_TOPIC_SUBSCRIPTION, fake_subscription, apply_subscription,
                 Terraform("aws_sns_topic_subscription", json=frozenset({"filterPolicy"}))),
]
