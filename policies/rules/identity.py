"""IAM rules: no administrator grants, no wildcard resources for scopable actions, scoped
service trust, permissions boundaries."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from typing import Any

from common import tokens
from policies.core import (
    Resource,
    Severity,
    allows,
    as_list,
    aws_principals,
    get,
    is_public_principal,
    policy_document,
    resource_rule,
    statements,
)
from policies.iam_actions import all_restrictable_except, restrictable_matches

ATTACHMENTS = (
    tokens.IAM_ROLE_POLICY_ATTACHMENT,
    tokens.IAM_USER_POLICY_ATTACHMENT,
    tokens.IAM_GROUP_POLICY_ATTACHMENT,
    tokens.IAM_POLICY_ATTACHMENT,
)
IDENTITY_POLICY_TYPES = (tokens.IAM_POLICY, tokens.IAM_ROLE_POLICY, tokens.IAM_USER_POLICY,
                         tokens.IAM_GROUP_POLICY, tokens.IAM_ROLE)
ADMIN_POLICIES = ("AdministratorAccess", "IAMFullAccess")

TRUST_CONDITION_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid",
                        "aws:sourceorgpaths")
# EKS Pod Identity assumes roles with session tags naming the cluster (by ARN, which carries the
# account), namespace and service account; a condition on the cluster's ARN tag is its
# documented scope (Amazon EKS User Guide, "Create IAM role with trust policy required by EKS
# Pod Identity").
SERVICE_TRUST_CONDITION_KEYS = {"pods.eks.amazonaws.com": ("aws:requesttag/eks-cluster-arn",)}


def identity_documents(resource: Resource) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(label, document) of every identity policy a resource carries."""
    if resource.type == tokens.IAM_ROLE:
        for i, inline in enumerate(as_list(get(resource.props, "inlinePolicies"))):
            label = f"inlinePolicies[{i}]"
            yield label, policy_document(get(inline, "policy"), label)
        return
    yield "policy", policy_document(resource.props.get("policy"), "policy")


@resource_rule(
    "iam-no-admin", area="identity", severity=Severity.CRITICAL,
    types=[*IDENTITY_POLICY_TYPES, *ATTACHMENTS],
    description="No identity policy grants administrator access: no Allow of Action '*' or "
                "'*:*', no Allow of NotAction on Resource '*', no AdministratorAccess "
                "attachment. A statement without Effect counts as Allow.",
    remediation="List the actions the principal needs (see infra/components/iam.py) instead of "
                "'*', and attach scoped policies instead of AdministratorAccess.",
    references=["CKV_AWS_63", "CKV_AWS_62", "CKV_AWS_1", "Security Hub IAM.1", "CIS AWS 1.16"],
)
def iam_no_admin(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if resource.type in ATTACHMENTS or resource.type == tokens.IAM_ROLE:
        arns = [get(resource.props, "policyArn")] + as_list(get(resource.props, "managedPolicyArns"))
        for arn in arns:
            if isinstance(arn, str) and arn.rsplit("/", 1)[-1] in ADMIN_POLICIES:
                yield f"attaches {arn}"
    for label, doc in identity_documents(resource):
        for i, stmt in enumerate(statements(doc)):
            if not allows(stmt, default=True):
                continue
            sid = stmt.get("Sid") or i
            actions = [str(a) for a in as_list(stmt.get("Action"))]
            if any(a in ("*", "*:*") for a in actions):
                yield f"{label} statement {sid} allows Action '*'"
            if "NotAction" in stmt and "*" in [str(r) for r in as_list(stmt.get("Resource"))]:
                yield f"{label} statement {sid} allows everything but NotAction on Resource '*'"


@resource_rule(
    "iam-no-wildcard-resource-write", area="identity", severity=Severity.HIGH,
    types=list(IDENTITY_POLICY_TYPES),
    description="Allow statements on Resource '*' without a Condition grant only actions AWS "
                "cannot scope to a resource ARN (list APIs, ecr:GetAuthorizationToken, "
                "cloudwatch:PutMetricData, ...); Deny statements take actions back.",
    remediation="Scope the statement to the environment's ARNs (buckets, key, "
                "arn:...:sagemaker:...:<kind>/<stem>-*), keeping '*' only for unscopable actions.",
    references=["CKV_AWS_355", "CKV_AWS_290", "CKV_AWS_288"],
    config_schema={"allowedActions": {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "Extra action patterns tolerated on Resource '*'.",
    }},
)
def iam_no_wildcard_resource_write(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    allowed = [str(a).lower() for a in config.get("allowedActions") or []]
    for label, doc in identity_documents(resource):
        stmts = statements(doc)
        denied: set[str] = set()
        for stmt in stmts:
            if str(stmt.get("Effect")) == "Deny":
                for action in as_list(stmt.get("Action")):
                    denied |= restrictable_matches(str(action))
        for i, stmt in enumerate(stmts):
            resources = [str(r) for r in as_list(stmt.get("Resource"))]
            if not allows(stmt, default=True) or "*" not in resources or stmt.get("Condition"):
                continue
            if "Action" in stmt:
                granted: set[str] = set()
                for action in as_list(stmt.get("Action")):
                    granted |= restrictable_matches(str(action))
            else:
                granted = all_restrictable_except(str(a) for a in as_list(stmt.get("NotAction")))
            scopable = sorted(a for a in granted - denied
                              if not any(fnmatch.fnmatchcase(a, p) for p in allowed))
            if scopable:
                shown = ", ".join(scopable[:5]) + (f" and {len(scopable) - 5} more"
                                                   if len(scopable) > 5 else "")
                yield (f"{label} statement {stmt.get('Sid') or i} allows scopable actions on "
                       f"Resource '*': {shown}")


ACCOUNT_PRINCIPAL = re.compile(r"^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:root)$")


def _trust_statements(resource: Resource) -> Iterator[tuple[Any, dict[str, Any]]]:
    doc = policy_document(resource.props.get("assumeRolePolicy"), "assumeRolePolicy")
    for i, stmt in enumerate(statements(doc)):
        if str(stmt.get("Effect", "Allow")).lower() != "deny":
            yield stmt.get("Sid") or i, stmt


@resource_rule(
    "iam-trust-scoped", area="identity", severity=Severity.HIGH, types=[tokens.IAM_ROLE],
    description="Role trust policies trust neither '*' nor a whole account (its root): they "
                "name the roles or services that may assume the role.",
    remediation="Replace Principal.AWS '*' or '<account>'/'arn:aws:iam::<account>:root' with the "
                "ARNs of the roles that assume this role (or a service principal).",
    references=["CKV_AWS_60", "CKV_AWS_61"],
)
def iam_trust_scoped(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    for sid, stmt in _trust_statements(resource):
        principals = aws_principals(stmt)
        if "*" in principals or is_public_principal(stmt):
            yield f"trust statement {sid} trusts '*'"
        for principal in principals:
            if ACCOUNT_PRINCIPAL.match(principal):
                yield f"trust statement {sid} trusts every principal of account {principal}"


@resource_rule(
    "iam-trust-service-scoped", area="identity", severity=Severity.HIGH, types=[tokens.IAM_ROLE],
    description="Service principals in role trust policies are scoped with aws:SourceAccount or "
                "aws:SourceArn (confused-deputy protection); EKS Pod Identity "
                "(pods.eks.amazonaws.com) by its eks-cluster-arn session tag.",
    remediation="Add Condition StringEquals aws:SourceAccount = <account id> (or ArnLike "
                "aws:SourceArn) to each service trust statement.",
    references=["AWS IAM: cross-service confused deputy prevention"],
)
def iam_trust_service_scoped(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    for sid, stmt in _trust_statements(resource):
        principal = stmt.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
        if not services:
            continue
        keys = {str(k).lower() for block in (stmt.get("Condition") or {}).values()
                if isinstance(block, Mapping) for k in block}
        accepted = set(TRUST_CONDITION_KEYS)
        if all(str(s) in SERVICE_TRUST_CONDITION_KEYS for s in services):
            accepted |= {k for s in services for k in SERVICE_TRUST_CONDITION_KEYS[str(s)]}
        if not keys & accepted:
            yield (f"trust statement {sid} lets {', '.join(map(str, services))} assume the role "
                   "without aws:SourceAccount/aws:SourceArn")


@resource_rule(
    "iam-permissions-boundary", area="identity", severity=Severity.MEDIUM, types=[tokens.IAM_ROLE],
    description="Where the stack names a permissions boundary, every role carries it.",
    remediation="Pass permissions_boundary=<boundary ARN> to every aws.iam.Role "
                "(mlops:permissionsBoundaryArn in the stack file).",
    config_schema={"boundaryArn": {
        "type": "string", "default": "",
        "description": "Required permissions boundary ARN; empty means none is required.",
    }},
)
def iam_permissions_boundary(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    boundary = config.get("boundaryArn") or ""
    if not boundary:
        return
    actual = get(resource.props, "permissionsBoundary")
    if actual != boundary:
        yield f"permissionsBoundary is {actual or 'unset'}, expected {boundary}"
