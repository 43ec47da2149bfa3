"""Verdicts on the resource shapes scanners' own pass/fail cases use, written the way another
tool would hand us a plan: resources with literal values, companions joined to their bucket by
its name (no propertyDependencies), policies as JSON strings or objects, a single statement as
an object. Each case names the resource whose verdict for the rule is expected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from common import tokens
from mlops.offline.plan import load_plan
from mlops.policy.config import load_policy_config
from mlops.policy.evaluate import evaluate, plan_resources
from tests.conftest import ROOT

B = tokens.S3_BUCKET
SSE = tokens.S3_BUCKET_SSE
VER = tokens.S3_BUCKET_VERSIONING
PAB = tokens.S3_BUCKET_PUBLIC_ACCESS_BLOCK
LOG = tokens.S3_BUCKET_LOGGING
OWN = tokens.S3_BUCKET_OWNERSHIP
LC = tokens.S3_BUCKET_LIFECYCLE
BP = tokens.S3_BUCKET_POLICY
KEY = tokens.KMS_KEY
IAM_POLICY = tokens.IAM_POLICY
ROLE = tokens.IAM_ROLE
TOPIC = tokens.SNS_TOPIC
TP = tokens.SNS_TOPIC_POLICY
ALARM = tokens.METRIC_ALARM
LG = tokens.LOG_GROUP


def r(token: str, name: str, **inputs: Any) -> dict[str, Any]:
    return {"type": token, "name": name, "inputs": inputs}


def sse(bucket: str, algorithm: str | None, key: str | None = None) -> dict[str, Any]:
    default: dict[str, Any] = {}
    if algorithm:
        default["sseAlgorithm"] = algorithm
    if key:
        default["kmsMasterKeyId"] = key
    return r(SSE, f"{bucket}-sse", bucket=bucket,
             rules=[{"applyServerSideEncryptionByDefault": default}])


def pab(bucket: str, **flags: bool) -> dict[str, Any]:
    return r(PAB, f"{bucket}-pab", bucket=bucket, **flags)


def lc(bucket: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return r(LC, f"{bucket}-lc", bucket=bucket, rules=list(rules))


ABORT = {"abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}
ALL_FLAGS = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
             "restrictPublicBuckets": True}


def stmt(**fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", **fields}


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ROOT_ARN = "arn:aws:iam::111122223333:root"
CASES: list[tuple[str, str, str, list[dict[str, Any]], bool]] = [
    # (case, rule, resource judged, resources, fails)
    ("sse aws:kms with a key", "s3-encryption-kms", "b", [r(B, "b", bucket="b1"),
                                                          sse("b1", "aws:kms", "k")], False),
    ("sse aws:kms without a key", "s3-encryption-kms", "b", [r(B, "b", bucket="b1"),
                                                             sse("b1", "aws:kms")], False),
    ("sse aws:kms:dsse", "s3-encryption-kms", "b", [r(B, "b", bucket="b1"),
                                                    sse("b1", "aws:kms:dsse")], False),
    ("sse AES256", "s3-encryption-kms", "b", [r(B, "b", bucket="b1"), sse("b1", "AES256")], True),
    ("sse without algorithm", "s3-encryption-kms", "b", [r(B, "b", bucket="b1"),
                                                         sse("b1", None, "k")], True),
    ("sse unknown algorithm", "s3-encryption-kms", "b", [r(B, "b", bucket="b1"),
                                                         sse("b1", "metallica")], True),
    ("no sse at all", "s3-encryption-kms", "b", [r(B, "b", bucket="b1")], True),
    ("inline sse aws:kms", "s3-encryption-kms", "b", [r(B, "b", bucket="b1",
        serverSideEncryptionConfiguration={"rule": {"applyServerSideEncryptionByDefault": {
            "sseAlgorithm": "aws:kms"}}})], False),
    ("versioning Enabled", "s3-versioning", "b", [r(B, "b", bucket="b1"), r(
        VER, "v", bucket="b1", versioningConfiguration={"status": "Enabled"})], False),
    ("versioning Suspended", "s3-versioning", "b", [r(B, "b", bucket="b1"), r(
        VER, "v", bucket="b1", versioningConfiguration={"status": "Suspended"})], True),
    ("inline versioning enabled", "s3-versioning", "b", [r(B, "b", bucket="b1",
                                                           versioning={"enabled": True})], False),
    ("inline versioning disabled", "s3-versioning", "b", [r(B, "b", bucket="b1",
                                                            versioning={"enabled": False})], True),
    ("no versioning", "s3-versioning", "b", [r(B, "b", bucket="b1")], True),
    ("access block with the two blocking flags", "s3-public-access-block", "b",
     [r(B, "b", bucket="b1"), pab("b1", blockPublicAcls=True, blockPublicPolicy=True)], False),
    ("access block with the two blocking flags: the block itself", "s3-public-access-block",
     "b1-pab", [r(B, "b", bucket="b1"), pab("b1", blockPublicAcls=True, blockPublicPolicy=True)],
     True),
    ("access block with every flag", "s3-public-access-block", "b1-pab",
     [r(B, "b", bucket="b1"), pab("b1", **ALL_FLAGS)], False),
    ("access block with one flag false", "s3-public-access-block", "b1-pab",
     [pab("b1", **{**ALL_FLAGS, "ignorePublicAcls": False})], True),
    ("access block without flags", "s3-public-access-block", "b", [r(B, "b", bucket="b1"),
                                                                   pab("b1")], True),
    ("no access block", "s3-public-access-block", "b", [r(B, "b", bucket="b1")], True),
    ("logging companion", "s3-access-logging", "b", [r(B, "b", bucket="b1"), r(
        LOG, "l", bucket="b1", targetBucket="log-bucket", targetPrefix="log/")], False),
    ("inline logging", "s3-access-logging", "b", [r(B, "b", bucket="b1",
                                                    logging={"targetBucket": "log-bucket"})],
     False),
    ("no logging", "s3-access-logging", "b", [r(B, "b", bucket="b1")], True),
    ("ownership enforced", "s3-ownership-enforced", "o", [r(
        OWN, "o", bucket="b1", rule={"objectOwnership": "BucketOwnerEnforced"})], False),
    ("ownership preferred", "s3-ownership-enforced", "o", [r(
        OWN, "o", bucket="b1", rule={"objectOwnership": "BucketOwnerPreferred"})], True),
    ("a lifecycle configuration exists", "s3-lifecycle", "b",
     [r(B, "b", bucket="b1"), lc("b1", {"id": "", "status": ""})], False),
    ("no lifecycle configuration", "s3-lifecycle", "b", [r(B, "b", bucket="b1")], True),
    ("abort rule with an empty filter", "s3-lifecycle", "b1-lc",
     [lc("b1", {"id": "a", "status": "Enabled", "filter": {}, **ABORT})], False),
    ("abort rule without filter", "s3-lifecycle", "b1-lc",
     [lc("b1", {"id": "a", "status": "Enabled", **ABORT})], False),
    ("abort rule on a prefix only", "s3-lifecycle", "b1-lc",
     [lc("b1", {"id": "a", "status": "Enabled", "filter": {"prefix": "log/"}, **ABORT})], True),
    ("abort rule on an and-prefix, another for the whole bucket", "s3-lifecycle", "b1-lc",
     [lc("b1", {"id": "a", "status": "Enabled", "filter": {"and": {"prefix": "log/"}}, **ABORT},
         {"id": "b", "status": "Enabled", **ABORT})], False),
    ("abort rule disabled", "s3-lifecycle", "b1-lc",
     [lc("b1", {"id": "a", "status": "Disabled", **ABORT})], True),
    ("lifecycle without abort", "s3-lifecycle", "b1-lc",
     [lc("b1", {"id": "a", "status": "Enabled", "filter": {"prefix": "config/"}})], True),
    ("bucket policy AWS '*'", "s3-no-public-policy", "p",
     [r(BP, "p", bucket="b1", policy=policy(stmt(Principal={"AWS": "*"})))], True),
    ("bucket policy AWS ['*']", "s3-no-public-policy", "p",
     [r(BP, "p", bucket="b1", policy=policy(stmt(Principal={"AWS": ["*"]})))], True),
    ("bucket policy '*' as an object, single statement", "s3-no-public-policy", "p",
     [r(BP, "p", bucket="b1", policy={"Statement": stmt(Principal="*")})], True),
    ("bucket policy names an ARN", "s3-no-public-policy", "p",
     [r(BP, "p", bucket="b1", policy=policy(stmt(Principal={"AWS": ROOT_ARN})))], False),
    ("bucket policy Deny '*'", "s3-no-public-policy", "p",
     [r(BP, "p", bucket="b1", policy=policy(stmt(Effect="Deny", Principal="*")))], False),
    ("bucket policy '*' with ArnNotEquals", "s3-no-public-policy", "p", [r(
        BP, "p", bucket="b1", policy=policy(stmt(Principal={"AWS": "*"}, Condition={
            "ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::1:user/u"}})))], False),
    ("bucket policy '*' with ArnEquals on one principal", "s3-no-public-policy", "p", [r(
        BP, "p", bucket="b1", policy=policy(stmt(Principal="*", Condition={
            "ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::1:user/u"}})))], False),
    ("bucket policy '*' with ArnEquals on every account", "s3-no-public-policy", "p", [r(
        BP, "p", bucket="b1", policy=policy(stmt(Principal={"AWS": "*"}, Condition={
            "ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::*"}})))], True),
    ("bucket policy '*' from one VPC endpoint", "s3-no-public-policy", "p", [r(
        BP, "p", bucket="b1", policy=policy(stmt(Principal="*", Condition={
            "StringEquals": {"aws:sourceVpce": "vpce-1a2b"}})))], False),
    ("bucket policy '*' with a trail ARN", "s3-no-public-policy", "p", [r(
        BP, "p", bucket="b1", policy=policy(stmt(Principal="*", Condition={
            "ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}})))],
     False),
    ("bucket policy '*' over TLS only", "s3-no-public-policy", "p", [r(
        BP, "p", bucket="b1", policy=policy(stmt(Principal="*", Condition={
            "Bool": {"aws:SecureTransport": "true"}})))], True),
    ("inline bucket policy '*'", "s3-no-public-policy", "b",
     [r(B, "b", bucket="b1", policy=policy(stmt(Principal="*")))], True),
    ("key rotation on", "kms-rotation", "k", [r(KEY, "k", enableKeyRotation=True)], False),
    ("key rotation off", "kms-rotation", "k", [r(KEY, "k", enableKeyRotation=False)], True),
    ("key rotation unset", "kms-rotation", "k", [r(KEY, "k")], True),
    ("key policy AWS '*'", "kms-no-wildcard-principal", "k", [r(KEY, "k", policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}))],
     True),
    ("key policy principal list with '*'", "kms-no-wildcard-principal", "k", [r(
        KEY, "k", policy=policy({"Effect": "Allow", "Principal": ["foo", "*"],
                                 "Action": "kms:*", "Resource": "*"}))], True),
    ("key policy Deny '*'", "kms-no-wildcard-principal", "k", [r(KEY, "k", policy=policy(
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}))],
     False),
    ("key policy '*' with a condition", "kms-no-wildcard-principal", "k", [r(
        KEY, "k", policy=policy({"Effect": "Allow", "Principal": "*", "Action": "kms:*",
                                 "Resource": "*", "Condition": {"StringEquals": {
                                     "kms:CallerAccount": "111122223333"}}}))], False),
    ("admin: '*' among actions", "iam-no-admin", "p", [r(IAM_POLICY, "p", policy=policy(
        {"Effect": "Allow", "Action": ["s3:HeadBucket", "*"], "Resource": ["*"]}))], True),
    ("admin without Effect", "iam-no-admin", "p", [r(IAM_POLICY, "p", policy=policy(
        {"Action": "*", "Resource": "*"}))], True),
    ("admin denied", "iam-no-admin", "p", [r(IAM_POLICY, "p", policy=policy(
        {"Effect": "Deny", "Action": "*", "Resource": "*"}))], False),
    ("scoped s3 actions", "iam-no-admin", "p", [r(IAM_POLICY, "p", policy=policy(
        {"Effect": "Allow", "Action": ["s3:ListBucket*", "s3:Get*"],
         "Resource": ["arn:aws:s3:::b1", "arn:aws:s3:::b1/*"]}))], False),
    ("s3:* on '*'", "iam-no-wildcard-resource-write", "p", [r(IAM_POLICY, "p", policy=policy(
        {"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}))], True),
    ("s3:* on a bucket", "iam-no-wildcard-resource-write", "p", [r(IAM_POLICY, "p", policy=policy(
        {"Effect": "Allow", "Action": ["s3:*"], "Resource": "arn:aws:s3:::bucket"}))], False),
    ("x-ray writes on '*'", "iam-no-wildcard-resource-write", "p", [r(
        IAM_POLICY, "p", policy=policy({"Effect": "Allow", "Resource": "*", "Action": [
            "xray:PutTelemetryRecords", "xray:PutTraceSegments"]}))], False),
    ("ec2:Describe* on '*'", "iam-no-wildcard-resource-write", "p", [r(
        IAM_POLICY, "p", policy=policy({"Effect": "Allow", "Action": ["ec2:Describe*"],
                                        "Resource": "*"}))], True),
    ("ec2:Describe* on instances", "iam-no-wildcard-resource-write", "p", [r(
        IAM_POLICY, "p", policy=policy({"Effect": "Allow", "Action": ["ec2:Describe*"],
                                        "Resource": "arn:aws:ec2:us-east-1:1:instance/*"}))],
     False),
    ("an action that does not exist on '*'", "iam-no-wildcard-resource-write", "p", [r(
        IAM_POLICY, "p", policy=policy({"Effect": "Allow", "Action": ["ec2:ListAllMyBuckets"],
                                        "Resource": "*"}))], False),
    ("s3:GetObject on '*' with a condition", "iam-no-wildcard-resource-write", "p", [r(
        IAM_POLICY, "p", policy=policy({"Effect": "Allow", "Action": "s3:GetObject",
                                        "Resource": "*", "Condition": {"StringEquals": {
                                            "s3:ExistingObjectTag/team": "ml"}}}))], False),
    ("trust AWS '*'", "iam-trust-scoped", "role", [r(ROLE, "role", assumeRolePolicy=policy(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
         "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "sts:AssumeRole"}))], True),
    ("trust account root", "iam-trust-scoped", "role", [r(ROLE, "role", assumeRolePolicy=policy(
        {"Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "sts:AssumeRole"}))], True),
    ("trust a role", "iam-trust-scoped", "role", [r(ROLE, "role", assumeRolePolicy=policy(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/ci"},
         "Action": "sts:AssumeRole"}))], False),
    ("trust '*' denied", "iam-trust-scoped", "role", [r(ROLE, "role", assumeRolePolicy=policy(
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}))], False),
    ("topic with a key", "sns-kms", "t", [r(TOPIC, "t", kmsMasterKeyId="alias/aws/sns")], False),
    ("topic without a key", "sns-kms", "t", [r(TOPIC, "t")], True),
    ("topic policy for every account's role", "sns-no-public-policy", "tp", [r(
        TP, "tp", arn="arn:aws:sns:eu-west-1:1:t", policy=policy({
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::*:role/sns"},
            "Action": ["SNS:Publish"], "Resource": "arn:aws:sns:eu-west-1:1:t"}))], True),
    ("topic policy for one role", "sns-no-public-policy", "tp", [r(
        TP, "tp", arn="arn:aws:sns:eu-west-1:1:t", policy=policy({
            "Effect": "Allow", "Principal": "arn:aws:iam::123456789101:role/sns",
            "Action": ["SNS:Publish"], "Resource": "arn:aws:sns:eu-west-1:1:t"}))], False),
    ("topic policy '*' over TLS only", "sns-no-public-policy", "tp", [r(
        TP, "tp", policy=policy({"Effect": "Allow", "Principal": "*", "Action": "SNS:Publish",
                                 "Resource": "arn:aws:sns:eu-west-1:1:t",
                                 "Condition": {"Bool": {"aws:SecureTransport": "true"}}}))],
     True),
    ("topic policy '*' from any IP", "sns-no-public-policy", "tp", [r(
        TP, "tp", policy=policy({"Effect": "Allow", "Principal": "*", "Action": "SNS:Publish",
                                 "Resource": "arn:aws:sns:eu-west-1:1:t",
                                 "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}))],
     True),
    ("topic policy '*' for one organisation", "sns-no-public-policy", "tp", [r(
        TP, "tp", policy=policy({"Effect": "Allow", "Principal": "*", "Action": "SNS:Publish",
                                 "Resource": "arn:aws:sns:eu-west-1:1:t",
                                 "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}))],
     False),
    ("topic policy '*' for every account's alarms", "sns-no-public-policy", "tp", [r(
        TP, "tp", policy=policy({"Effect": "Allow", "Principal": "*", "Action": "SNS:Publish",
                                 "Resource": "arn:aws:sns:eu-west-1:1:t", "Condition": {
                                     "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:*:*"}}}))],
     True),
    ("topic policy '*' for one account's alarms", "sns-no-public-policy", "tp", [r(
        TP, "tp", policy=policy({"Effect": "Allow", "Principal": "*", "Action": "SNS:Publish",
                                 "Resource": "arn:aws:sns:eu-west-1:1:t", "Condition": {
                                     "StringEquals": {"aws:SourceAccount": "111122223333"}}}))],
     False),
    ("alarm actions disabled", "alarm-has-actions", "a", [r(
        ALARM, "a", actionsEnabled=False, alarmActions=["arn:aws:sns:eu-west-1:1:t"])], True),
    ("alarm actions enabled", "alarm-has-actions", "a", [r(
        ALARM, "a", actionsEnabled=True, alarmActions=["arn:aws:sns:eu-west-1:1:t"])], False),
    ("log group kept 400 days with a key", "log-group-retention-kms", "lg",
     [r(LG, "lg", retentionInDays=400, kmsKeyId="arn:aws:kms:eu-west-1:1:key/k")], False),
    ("log group kept forever with a key", "log-group-retention-kms", "lg",
     [r(LG, "lg", retentionInDays=0, kmsKeyId="arn:aws:kms:eu-west-1:1:key/k")], False),
    ("log group kept 30 days", "log-group-retention-kms", "lg",
     [r(LG, "lg", retentionInDays=30, kmsKeyId="arn:aws:kms:eu-west-1:1:key/k")], True),
    ("endpoint config without a key", "endpoint-config-kms", "ec",
     [r(tokens.SAGEMAKER_ENDPOINT_CONFIGURATION, "ec")], True),
    ("model without network isolation", "model-network-isolation", "m",
     [r(tokens.SAGEMAKER_MODEL, "m", enableNetworkIsolation=False)], True),
    ("notebook without root", "notebook-no-root", "nb",
     [r(tokens.SAGEMAKER_NOTEBOOK_INSTANCE, "nb", rootAccess="Disabled")], False),
    ("notebook root by default", "notebook-no-root", "nb",
     [r(tokens.SAGEMAKER_NOTEBOOK_INSTANCE, "nb")], True),
]


def verdicts(tmp_path: Path, resources: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(rule, resource name) of every violation, through the --plan loader with prod config."""
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"resources": resources}))
    plan = load_plan(path, "prod")
    config = load_policy_config(ROOT / "policies" / "config" / "prod.json")
    report = evaluate(plan_resources(plan), stack="prod", tier="prod", config=config)
    return {(v.rule.id, v.name) for v in report.violations}


@pytest.mark.parametrize(("case", "rule", "subject", "resources", "fails"), CASES,
                         ids=[c[0] for c in CASES])
def test_verdict(tmp_path, case, rule, subject, resources, fails):
    assert ((rule, subject) in verdicts(tmp_path, resources)) is fails


def test_bucket_known_only_by_its_logical_name(tmp_path):
    """A bucket without a physical name: companions may name it by its logical name."""
    resources = [r(B, "raw"), r(VER, "raw-versioning", bucket="raw",
                                versioningConfiguration={"status": "Enabled"})]
    assert ("s3-versioning", "raw") not in verdicts(tmp_path, resources)


def test_unknown_reference_joined_through_plain_dependencies(tmp_path):
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    bucket = r(B, "raw")
    bucket["urn"] = f"urn:pulumi:prod::mlops-platform::{tokens.S3_BUCKET}::raw"
    other = r(B, "other", bucket="other-name")
    versioning = {**r(VER, "raw-versioning", bucket=unknown,
                      versioningConfiguration={"status": "Suspended"}),
                  "dependencies": [bucket["urn"]]}
    found = verdicts(tmp_path, [bucket, other, versioning])
    assert ("s3-versioning", "raw") in found  # joined to raw: its Suspended status counts
    assert ("s3-versioning", "other") in found  # other has no versioning at all
