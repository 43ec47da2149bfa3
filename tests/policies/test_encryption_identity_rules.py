"""KMS and IAM rules: pass and fail cases on hand-made resources."""

from __future__ import annotations

import json

import pytest

from common import tokens
from tests.policies.helpers import ACCOUNT, UNKNOWN, doc, res, unknowns, violations

KEY = tokens.KMS_KEY
ROLE = tokens.IAM_ROLE
ROLE_POLICY = tokens.IAM_ROLE_POLICY
POLICY = tokens.IAM_POLICY
ATTACH = tokens.IAM_ROLE_POLICY_ATTACHMENT
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


@pytest.mark.parametrize("token", [POLICY, ROLE_POLICY, tokens.IAM_USER_POLICY])
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
        "r: inlinePolicies[0] statement Not allows everything but NotAction on Resource '*'"]
    scoped_not = res(ROLE, "r", {"inlinePolicies": [{"name": "x", "policy": doc(
        {"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "arn:aws:s3:::b"})}]})
    assert violations("iam-no-admin", [scoped_not]) == []


def test_iam_no_admin_reads_a_statement_without_effect_as_allow():
    implicit = {"Sid": "Implicit", "Action": "*", "Resource": "*"}
    assert violations("iam-no-admin", [res(POLICY, "p", {"policy": doc(implicit)})]) == [
        "p: policy statement Implicit allows Action '*'"]
    deny = {**ADMIN, "Effect": "Deny"}
    assert violations("iam-no-admin", [res(POLICY, "p", {"policy": doc(deny)})]) == []


def test_iam_no_wildcard_resource_write():
    unscopable = {"Sid": "U", "Effect": "Allow", "Resource": "*",
                  "Action": ["ecr:GetAuthorizationToken", "cloudwatch:PutMetricData",
                             "xray:PutTraceSegments"]}
    write = {"Sid": "W", "Effect": "Allow", "Resource": "*",
             "Action": ["s3:PutObject", "sts:GetCallerIdentity"]}
    assert violations("iam-no-wildcard-resource-write",
                      [res(ROLE_POLICY, "p", {"policy": doc(SCOPED, unscopable)})]) == []
    assert violations("iam-no-wildcard-resource-write",
                      [res(ROLE_POLICY, "p", {"policy": doc(write)})]) == [
        "p: policy statement W allows scopable actions on Resource '*': s3:putobject"]
    assert violations("iam-no-wildcard-resource-write",
                      [res(ROLE_POLICY, "p", {"policy": doc(write)})],
                      {"allowedActions": ["s3:put*"]}) == []


@pytest.mark.parametrize(("stmt", "fails"), [
    ({"Action": "ec2:Describe*", "Resource": "*"}, True),  # some Describe* take ARNs
    ({"Action": "ec2:Describe*", "Resource": "arn:aws:ec2:eu-west-1:1:instance/*"}, False),
    ({"Action": "s3:ListAllMyBuckets", "Resource": "*"}, False),  # no resource type
    ({"Action": "ec2:NoSuchAction", "Resource": "*"}, False),  # unknown: nothing to scope
    ({"Action": "s3:*", "Resource": "*"}, True),
    ({"Action": "S3:GetObject", "Resource": ["arn:aws:s3:::b/*", "*"]}, True),
    ({"Action": "s3:GetObject", "Resource": "*",
      "Condition": {"StringEquals": {"aws:ResourceAccount": "1"}}}, False),  # constrained
    ({"NotAction": "iam:*", "Resource": "*"}, True),
    ({"Action": "s3:GetObject", "Resource": "*", "Effect": "Deny"}, False),
])
def test_iam_wildcard_resource_uses_the_iam_action_reference(stmt, fails):
    policy = res(POLICY, "p", {"policy": doc({"Effect": "Allow", **stmt})})
    assert bool(violations("iam-no-wildcard-resource-write", [policy])) is fails


def test_iam_deny_takes_scopable_actions_back():
    allow = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "s3:*Object", "Resource": "*"}
    assert violations("iam-no-wildcard-resource-write",
                      [res(POLICY, "p", {"policy": doc(allow, deny)})]) == []


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



def test_iam_trust_service_scoped_takes_pod_identitys_cluster_tag():
    pods = {"Service": "pods.eks.amazonaws.com"}
    cluster = {"StringEquals": {
        "aws:RequestTag/eks-cluster-arn": f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/team-a",
        "aws:RequestTag/kubernetes-namespace": "serving"}}
    assert violations("iam-trust-service-scoped", [trust(Principal=pods, Condition=cluster)]) == []
    namespace_only = {"StringEquals": {"aws:RequestTag/kubernetes-namespace": "serving"}}
    assert violations("iam-trust-service-scoped", [trust(Principal=pods,
                                                         Condition=namespace_only)]) == [
        "role: trust statement T lets pods.eks.amazonaws.com assume the role without "
        "aws:SourceAccount/aws:SourceArn"]
    # The session tag scopes Pod Identity only, not another service in the same statement.
    both = {"Service": ["pods.eks.amazonaws.com", "sagemaker.amazonaws.com"]}
    assert violations("iam-trust-service-scoped", [trust(Principal=both, Condition=cluster)]) != []


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


def test_kms_alias_targets_a_key_of_the_stack():
    k = res(tokens.KMS_KEY, "key", {"description": "k"})
    alias = tokens.KMS_ALIAS
    joined = res(alias, "alias", {"name": "alias/mlops-prod", "targetKeyId": "1234"},
                 deps={"targetKeyId": [k]})
    assert violations("kms-alias-targets-stack-key", [k, joined]) == []
    foreign = res(alias, "alias", {"name": "alias/mlops-prod", "targetKeyId": "abcd-foreign"})
    assert violations("kms-alias-targets-stack-key", [k, foreign]) == [
        "alias: alias targets abcd-foreign, which is not a key of this stack"]
    unknown = res(alias, "alias", {"name": "alias/mlops-prod", "targetKeyId": UNKNOWN})
    assert unknowns("kms-alias-targets-stack-key", [k, unknown]) == [
        "value at alias.targetKeyId is not known until deploy"]


def test_kms_rotation_reads_key_spec():
    asym = res(tokens.KMS_KEY, "key", {"keySpec": "RSA_2048", "enableKeyRotation": False})
    assert violations("kms-rotation", [asym]) == []  # asymmetric keys cannot rotate
    sym = res(tokens.KMS_KEY, "key", {"keySpec": "SYMMETRIC_DEFAULT"})
    assert violations("kms-rotation", [sym]) == ["key: enableKeyRotation is not true"]
