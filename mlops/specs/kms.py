"""KMS: the environment key and its alias."""

from __future__ import annotations

from common import tokens
from mlops.offline.cloud import Cloud, stable_uuid
from mlops.sandbox.handlers import SANDBOX_TAG, Ctx, Result, pick
from mlops.specs.spec import ResourceSpec, Terraform


def fake_key(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    key_id = stable_uuid(c.account_id, c.region, name)
    return key_id, {"keyId": key_id, "arn": c.arn("kms", f"key/{key_id}")}


def _find_key(ctx: Ctx, marker: str) -> str | None:
    """The live key this registration created earlier (KMS generates key IDs: found by tag)."""
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


def apply_key(ctx: Ctx, name: str, inputs: dict) -> Result:
    kms = ctx.client("kms")
    marker = f"{ctx.stack}/{name}"
    key_id = _find_key(ctx, marker)
    created = key_id is None
    if key_id is None:
        params = pick(inputs, {"description": "Description", "keyUsage": "KeyUsage",
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


def fake_alias(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    alias = inputs.get("name") or f"alias/{name}"
    target = c.arn("kms", f"key/{inputs.get('targetKeyId')}")
    return alias, {"arn": c.arn("kms", alias), "targetKeyArn": target}


def apply_alias(ctx: Ctx, name: str, inputs: dict) -> Result:
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


SPECS = [
    ResourceSpec(tokens.KMS_KEY, fake_key, apply_key,
                 Terraform("aws_kms_key", json=frozenset({"policy"}), default_tags=True)),
    ResourceSpec(tokens.KMS_ALIAS, fake_alias, apply_alias, Terraform("aws_kms_alias")),
]
