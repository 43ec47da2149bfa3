"""IAM: roles, their inline policies, managed policies and attachments, and OIDC providers."""

from __future__ import annotations

import hashlib

from common import tokens
from mlops.offline.cloud import Cloud
from mlops.ops.aws import is_not_found
from mlops.sandbox.handlers import Ctx, Result, pick
from mlops.specs.spec import NotSimulated, ResourceSpec, Terraform


def fake_role(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    role = inputs.get("name") or name
    path = inputs.get("path") or "/"
    return role, {"name": role, "arn": f"arn:{c.partition}:iam::{c.account_id}:role{path}{role}",
                  "uniqueId": "AROA" + hashlib.sha256(role.encode()).hexdigest()[:17].upper()}


def apply_role(ctx: Ctx, name: str, inputs: dict) -> Result:
    iam = ctx.client("iam")
    role = inputs.get("name") or name
    try:
        found = iam.get_role(RoleName=role)["Role"]
    except Exception as exc:
        if not is_not_found(exc):
            raise
        found = None
    created = found is None
    if found is None:
        params = pick(inputs, {"description": "Description", "maxSessionDuration":
                               "MaxSessionDuration", "permissionsBoundary": "PermissionsBoundary",
                               "path": "Path"})
        found = iam.create_role(RoleName=role, AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
                                Tags=ctx.tag_list(inputs), **params)["Role"]
    else:
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=inputs["assumeRolePolicy"])
        iam.update_role(RoleName=role, **pick(inputs, {
            "description": "Description", "maxSessionDuration": "MaxSessionDuration"}))
        if inputs.get("permissionsBoundary"):
            iam.put_role_permissions_boundary(RoleName=role,
                                              PermissionsBoundary=inputs["permissionsBoundary"])
        if ctx.tags(inputs):
            iam.tag_role(RoleName=role, Tags=ctx.tag_list(inputs))
    return role, {"name": role, "arn": found["Arn"], "uniqueId": found["RoleId"],
                  "tagsAll": ctx.tags(inputs)}, created


def fake_role_policy(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    return f"{inputs.get('role')}:{inputs.get('name') or name}", {}


def apply_role_policy(ctx: Ctx, name: str, inputs: dict) -> Result:
    iam = ctx.client("iam")
    role, policy_name = inputs["role"], inputs.get("name") or name
    existing = iam.list_role_policies(RoleName=role)["PolicyNames"]
    iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=inputs["policy"])
    return f"{role}:{policy_name}", {"name": policy_name}, policy_name not in existing


def fake_attachment(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    return f"{inputs.get('role')}/{inputs.get('policyArn')}", {}


def apply_attachment(ctx: Ctx, name: str, inputs: dict) -> Result:
    iam = ctx.client("iam")
    role, arn = inputs["role"], inputs["policyArn"]
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    exists = any(p["PolicyArn"] == arn for p in attached)
    if not exists:
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    return f"{role}/{arn}", {}, not exists


def fake_policy(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    policy = inputs.get("name") or name
    arn = f"arn:{c.partition}:iam::{c.account_id}:policy{inputs.get('path') or '/'}{policy}"
    return arn, {"name": policy, "arn": arn,
                 "policyId": "ANPA" + hashlib.sha256(arn.encode()).hexdigest()[:17].upper()}


def fake_oidc_provider(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    host = str(inputs.get("url") or name).removeprefix("https://")
    arn = f"arn:{c.partition}:iam::{c.account_id}:oidc-provider/{host}"
    return arn, {"arn": arn}


# Only the CI identity program (bootstrap/ci, docs/ci.md) creates these; the sandbox applies the
# platform stacks, and nothing in it signs in with GitHub's tokens.
CI_ONLY = "only the CI identity program (bootstrap/ci) creates it; the sandbox runs the platform"

SPECS = [
    ResourceSpec(tokens.IAM_ROLE, fake_role, apply_role,
                 Terraform("aws_iam_role", blocks={"inlinePolicies": "inline_policy"},
                           json=frozenset({"assumeRolePolicy", "policy"}), default_tags=True)),
    ResourceSpec(tokens.IAM_ROLE_POLICY, fake_role_policy, apply_role_policy,
                 Terraform("aws_iam_role_policy", json=frozenset({"policy"}))),
    ResourceSpec(tokens.IAM_ROLE_POLICY_ATTACHMENT, fake_attachment, apply_attachment,
                 Terraform("aws_iam_role_policy_attachment")),
    ResourceSpec(tokens.IAM_POLICY, fake_policy, NotSimulated(f"{CI_ONLY} stacks"),
                 Terraform("aws_iam_policy", json=frozenset({"policy"}), default_tags=True)),
    ResourceSpec(tokens.IAM_OIDC_PROVIDER, fake_oidc_provider, NotSimulated(f"{CI_ONLY} stacks"),
                 Terraform("aws_iam_openid_connect_provider", default_tags=True),
                 unchecked="holds no permissions: the trust conditions on it are in the roles' "
                           "trust policies, which the tests of bootstrap/ci check"),
]
