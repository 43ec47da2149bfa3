"""KMS rules: rotation, key policies without anonymous principals, deletion window."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from common import tokens
from policies.core import (
    Finding,
    Resource,
    Severity,
    get,
    is_public_principal,
    iter_findings,
    of_type,
    policy_document,
    refers_to,
    resource_rule,
    stack_rule,
    statements,
    truthy,
)


@resource_rule(
    "kms-rotation", area="encryption", severity=Severity.MEDIUM, types=[tokens.KMS_KEY],
    description="Customer-managed symmetric keys rotate their key material every year.",
    remediation="Set enable_key_rotation=True on the aws.kms.Key.",
    references=["CKV_AWS_7", "Security Hub KMS.4", "CIS AWS 3.6",
                "AWSGuard cmk-backing-key-rotation-enabled"],
)
def kms_rotation(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    spec = str(get(resource.props, "keySpec") or
               get(resource.props, "customerMasterKeySpec", "SYMMETRIC_DEFAULT"))
    if "SYMMETRIC_DEFAULT" not in spec and "HMAC" not in spec:
        return  # asymmetric keys cannot rotate automatically
    if not truthy(get(resource.props, "enableKeyRotation", False)):
        yield "enableKeyRotation is not true"


@resource_rule(
    "kms-no-wildcard-principal", area="encryption", severity=Severity.CRITICAL, types=[tokens.KMS_KEY],
    description="Key policies do not allow the '*' principal without conditions.",
    remediation="Name the account root, roles or service principals in the key policy; when a "
                "statement must name '*', restrict it with aws:SourceAccount / "
                "kms:CallerAccount conditions.",
    references=["CKV_AWS_33"],
)
def kms_no_wildcard_principal(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    doc = policy_document(resource.props.get("policy"), "policy")
    for i, stmt in enumerate(statements(doc)):
        not_deny = str(stmt.get("Effect", "Allow")).lower() != "deny"
        if not_deny and is_public_principal(stmt) and not stmt.get("Condition"):
            yield f"key policy statement {stmt.get('Sid') or i} allows '*' without a condition"


@resource_rule(
    "kms-deletion-window", area="encryption", severity=Severity.MEDIUM, types=[tokens.KMS_KEY],
    description="Keys keep a deletion window of at least minDays (30 in prod), so a key "
                "scheduled for deletion by mistake can be recovered.",
    remediation="Set deletion_window_in_days to 30 (mlops:kmsDeletionWindowDays in the stack "
                "file).",
    config_schema={"minDays": {"type": "integer", "minimum": 7, "maximum": 30, "default": 30,
                               "description": "Shortest allowed deletion window in days."}},
)
def kms_deletion_window(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    window = get(resource.props, "deletionWindowInDays", 30)  # AWS default: 30 days
    minimum = int(config.get("minDays", 30))
    if int(float(window)) < minimum:
        yield f"deletionWindowInDays is {int(float(window))}, below {minimum}"




@stack_rule(
    "kms-alias-targets-stack-key", area="encryption", severity=Severity.HIGH,
    types=[tokens.KMS_ALIAS, tokens.KMS_KEY],
    description="KMS aliases point at a key of this stack: pipelines and buckets that name the "
                "alias must not end up encrypting with a key the platform does not control.",
    remediation="Pass the stack's key (key.key_id) as the alias's target_key_id instead of a "
                "literal key id.",
)
def kms_alias_targets_stack_key(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[Finding]:
    keys = of_type(resources, tokens.KMS_KEY)

    def judge(alias: Resource) -> Iterator[str]:
        target = alias.props.get("targetKeyId")
        if not any(refers_to(alias, "targetKeyId", k,
                             [k.props.get("keyId"), k.props.get("arn"), k.props.get("id")], keys)
                   for k in keys):
            yield f"alias targets {target}, which is not a key of this stack"

    return iter_findings(of_type(resources, tokens.KMS_ALIAS), judge)
