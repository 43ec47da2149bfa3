"""KMS and IAM rules: pass and fail cases on hand-made resources."""

from __future__ import annotations

import json

import pytest

from tests.policies.helpers import ACCOUNT, UNKNOWN, doc, res, unknowns, violations

KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ROOT = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


def key(**props):
    base = {"enableKeyRotation": True, "deletionWindowInDays": 30,
            "customerMasterKeySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT",
            "policy": doc({"Sid": "Root", "Effect": "Allow", "Principal": ROOT,
                           "Action": ["kms:Decrypt"], "Resource": "*"})}
    return res(KEY, "key", {**base, **props})


def test_kms_rotation():
    assert violations("kms-rotation", [key()]) == []
    assert violations("kms-rotation", [key(enableKeyRotation=False)]) == [
        "key: enableKeyRotation is not true"]
    # asymmetric keys cannot rotate: not applicable; HMAC keys are in scope
    assert violations("kms-rotation", [key(enableKeyRotation=False,
                                           customerMasterKeySpec="RSA_2048",
                                           keyUsage="SIGN_VERIFY")]) == []
    assert violations("kms-rotation", [key(enableKeyRotation=False,
                                           customerMasterKeySpec="HMAC_256",
                                           keyUsage="GENERATE_VERIFY_MAC")]) == [
        "key: enableKeyRotation is not true"]


def test_kms_rotation_unknown():
    assert unknowns("kms-rotation", [key(enableKeyRotation=UNKNOWN)]) == [
        "value at enableKeyRotation is not known until deploy"]


def test_kms_no_wildcard_principal():
    assert violations("kms-no-wildcard-principal", [key()]) == []
    scoped = doc({"Sid": "AnyoneInAccount", "Effect": "Allow", "Principal": "*",
                  "Action": "kms:Decrypt", "Resource": "*",
                  "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}})
    assert violations("kms-no-wildcard-principal", [key(policy=scoped)]) == []
    public = doc({"Sid": "Everyone", "Effect": "Allow", "Principal": {"AWS": "*"},
                  "Action": "kms:*", "Resource": "*"})
    assert violations("kms-no-wildcard-principal", [key(policy=public)]) == [
        "key: key policy statement Everyone allows '*' without a condition"]
    no_effect = doc({"Sid": "NoEffect", "Principal": "*", "Action": "kms:*", "Resource": "*"})
    assert violations("kms-no-wildcard-principal", [key(policy=no_effect)]) == [
        "key: key policy statement NoEffect allows '*' without a condition"]


def test_kms_deletion_window():
    assert violations("kms-deletion-window", [key()]) == []
    assert violations("kms-deletion-window", [key(deletionWindowInDays=7)]) == [
        "key: deletionWindowInDays is 7, below 30"]
    assert violations("kms-deletion-window", [key(deletionWindowInDays=7)], {"minDays": 7}) == []


ADMIN = {"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"}
SCOPED = {"Sid": "Scoped", "Effect": "Allow", "Action": ["s3:GetObject"],
          "Resource": ["arn:aws:s3:::b/*"]}


@pytest.mark.parametrize("token", [POLICY, ROLE_POLICY, "aws:iam/userPolicy:UserPolicy"])
def test_iam_no_admin_on_policy_documents(token):
    assert violations("iam-no-admin", [res(token, "p", {"policy": doc(SCOPED)})]) == []
    assert violations("iam-no-admin", [res(token, "p", {"policy": doc(ADMIN)})]) == [
        "p: policy statement Admin allows Action '*'"]
    star_star = {**ADMIN, "Sid": "StarStar", "Action": ["*:*"]}
    assert violations("iam-no-admin", [res(token, "p", {"policy": doc(star_star)})]) == [
        "p: policy statement StarStar allows Action '*'"]


def test_iam_no_admin_on_attachments_and_inline_policies():
    attach = res(ATTACH, "a", {"role": "r",
                               "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    assert violations("iam-no-admin", [attach]) == [
        "a: attaches arn:aws:iam::aws:policy/AdministratorAccess"]
    ok = res(ATTACH, "a", {"role": "r", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})
    assert violations("iam-no-admin", [ok]) == []
    role = res(ROLE, "r", {"inlinePolicies": [{"name": "x", "policy": doc(
        {"Sid": "Not", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}]})
    assert violations("iam-no-admin", [role]) == [
        "r: inlinePolicies[0] statement Not allows everything but NotAction"]


def test_iam_no_wildcard_resource_write():
    unscopable = {"Sid": "U", "Effect": "Allow", "Resource": "*",
                  "Action": ["ecr:GetAuthorizationToken", "sagemaker:ListFeatureGroups"]}
    write = {"Sid": "W", "Effect": "Allow", "Resource": "*",
             "Action": ["s3:PutObject", "sts:GetCallerIdentity"]}
    assert violations("iam-no-wildcard-resource-write",
                      [res(ROLE_POLICY, "p", {"policy": doc(SCOPED, unscopable)})]) == []
    assert violations("iam-no-wildcard-resource-write",
                      [res(ROLE_POLICY, "p", {"policy": doc(write)})]) == [
        "p: policy statement W allows s3:PutObject on Resource '*'"]
    assert violations("iam-no-wildcard-resource-write",
                      [res(ROLE_POLICY, "p", {"policy": doc(write)})],
                      {"unscopableActions": ["s3:*", "sts:*"]}) == []


def test_iam_unknown_policy_cannot_evaluate():
    assert unknowns("iam-no-admin", [res(ROLE_POLICY, "p", {"policy": UNKNOWN})]) == [
        "value at policy is not known until deploy"]


def trust(**stmt):
    base = {"Sid": "T", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole"}
    return res(ROLE, "role", {"assumeRolePolicy": doc({**base, **stmt})})


def test_iam_trust_scoped():
    assert violations("iam-trust-scoped", [trust()]) == []  # a service principal
    assert violations("iam-trust-scoped", [trust(Principal={"AWS": "*"})]) == [
        "role: trust statement T trusts '*'"]
    assert violations("iam-trust-scoped", [trust(Principal="*")]) == [
        "role: trust statement T trusts '*'"]
    role_arn = "arn:aws:iam::210987654321:role/deployer"
    assert violations("iam-trust-scoped", [trust(Principal={"AWS": role_arn})]) == []
    assert violations("iam-trust-scoped",
                      [trust(Principal={"AWS": ["arn:aws:iam::210987654321:root"]})]) == [
        "role: trust statement T trusts every principal of account "
        "arn:aws:iam::210987654321:root"]
    assert violations("iam-trust-scoped", [trust(Principal={"AWS": "*"}, Effect="Deny")]) == []


def test_iam_trust_service_scoped():
    scoped = trust(Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}})
    assert violations("iam-trust-service-scoped", [scoped]) == []
    by_arn = trust(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:sagemaker:*:1:*"}})
    assert violations("iam-trust-service-scoped", [by_arn]) == []
    assert violations("iam-trust-service-scoped", [trust()]) == [
        "role: trust statement T lets sagemaker.amazonaws.com assume the role without "
        "aws:SourceAccount/aws:SourceArn"]


def test_iam_permissions_boundary():
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/platform-boundary"
    role = res(ROLE, "r", {"name": "r"})
    bounded = res(ROLE, "r", {"name": "r", "permissionsBoundary": boundary})
    assert violations("iam-permissions-boundary", [role]) == []  # no boundary configured
    assert violations("iam-permissions-boundary", [bounded], {"boundaryArn": boundary}) == []
    assert violations("iam-permissions-boundary", [role], {"boundaryArn": boundary}) == [
        f"r: permissionsBoundary is unset, expected {boundary}"]


def test_policy_documents_may_be_objects_or_single_statements():
    single = json.dumps({"Version": "2012-10-17", "Statement": ADMIN})
    assert violations("iam-no-admin", [res(POLICY, "p", {"policy": single})]) == [
        "p: policy statement Admin allows Action '*'"]
