"""S3 rules: each passes on a complete bucket and fails on a missing or wrong companion."""

from __future__ import annotations

import pytest

from common import tokens
from policies.core import Resource
from tests.policies.helpers import (
    BUCKET,
    OWNERSHIP,
    PAB,
    SSE,
    TLS_DENY,
    UNKNOWN,
    VERSIONING,
    bucket,
    companions,
    doc,
    res,
    secure_buckets,
    unknowns,
    violations,
)

STACK_RULES = ["s3-encryption-kms", "s3-encryption-cmk", "s3-versioning",
               "s3-public-access-block", "s3-tls-only", "s3-access-logging",
               "s3-access-log-target", "s3-ownership-enforced", "s3-lifecycle"]


@pytest.mark.parametrize("rule", STACK_RULES)
def test_complete_buckets_pass(rule):
    assert violations(rule, secure_buckets()) == []


@pytest.mark.parametrize(("rule", "companion", "expected"), [
    ("s3-encryption-kms", "sse", ["data: bucket has no BucketServerSideEncryptionConfiguration"]),
    ("s3-versioning", "versioning", ["data: bucket has no BucketVersioning"]),
    ("s3-public-access-block", "pab", ["data: bucket has no BucketPublicAccessBlock"]),
    ("s3-tls-only", "policy", ["data: bucket has no BucketPolicy denying insecure transport"]),
    # without any BucketLogging, the log bucket is no longer recognised as one either
    ("s3-access-logging", "logging", ["data: bucket has no BucketLogging (server access logs)",
                                      "logs: bucket has no BucketLogging (server access logs)"]),
    ("s3-ownership-enforced", "ownership", ["data: bucket has no BucketOwnershipControls"]),
    ("s3-lifecycle", "lifecycle", ["data: bucket has no BucketLifecycleConfiguration"]),
])
def test_stack_policy_catches_missing_companion(rule, companion, expected):
    assert sorted(violations(rule, secure_buckets(skip=(companion,)))) == expected


@pytest.mark.parametrize(("rule", "kind", "override", "expected"), [
    ("s3-encryption-kms", "sse", {"rules": [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "AES256"}, "bucketKeyEnabled": True}]}, "uses AES256, not aws:kms"),
    ("s3-encryption-kms", "sse", {"rules": [{"applyServerSideEncryptionByDefault": {}}]},
     "uses no algorithm, not aws:kms"),
    ("s3-encryption-cmk", "sse", {"rules": [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms"}, "bucketKeyEnabled": True}]}, "AWS-managed key aws/s3"),
    ("s3-encryption-cmk", "sse", {"rules": [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": "alias/aws/s3"},
        "bucketKeyEnabled": True}]}, "AWS-managed key alias/aws/s3"),
    ("s3-encryption-cmk", "sse", {"rules": [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": "k"}}]}, "bucketKeyEnabled is off"),
    ("s3-versioning", "versioning", {"versioningConfiguration": {"status": "Suspended"}},
     "Suspended, not Enabled"),
    ("s3-public-access-block", "pab", {"blockPublicPolicy": False},
     "leaves blockPublicPolicy off"),
    ("s3-tls-only", "policy", {"policy": doc({**TLS_DENY, "Effect": "Allow"})},
     "does not deny aws:SecureTransport=false"),
])
def test_wrong_bucket_level_settings_fail_on_the_bucket(rule, kind, override, expected):
    """What scanners judge on the bucket (encrypted, versioned, ...) is reported on the bucket."""
    found = [f for f in violations(rule, secure_buckets(**{kind: override}))
             if not f.startswith(f"data-{kind}: ")]
    assert len(found) == 1 and found[0].startswith("data: ") and expected in found[0], found


@pytest.mark.parametrize(("rule", "kind", "override", "expected"), [
    ("s3-public-access-block", "pab", {"restrictPublicBuckets": False},
     "restrictPublicBuckets not true"),
    ("s3-ownership-enforced", "ownership", {"rule": {"objectOwnership": "ObjectWriter"}},
     "ObjectWriter, not BucketOwnerEnforced"),
    ("s3-lifecycle", "lifecycle", {"rules": [{"id": "x", "status": "Enabled",
                                              "expiration": {"days": 30}}]},
     "aborts incomplete multipart uploads"),
])
def test_wrong_companion_settings_fail_on_the_companion(rule, kind, override, expected):
    """What scanners judge on the companion (PAB flags, abort rule, ownership) lands there."""
    found = violations(rule, secure_buckets(**{kind: override}))
    assert len(found) == 1 and found[0].startswith(f"data-{kind}: ") and expected in found[0], found


def test_access_block_without_the_two_blocking_flags_fails_bucket_and_block():
    found = violations("s3-public-access-block", secure_buckets(pab={"blockPublicAcls": False}))
    assert found == ["data: public access block data-pab leaves blockPublicAcls off",
                     "data-pab: blockPublicAcls not true"]


def test_encryption_kms_accepts_dsse_and_the_aws_managed_key():
    """aws:kms without a key id is SSE-KMS (s3-encryption-kms passes); the customer-key part
    is s3-encryption-cmk's, which does not ask DSSE for a bucket key."""
    aws_key = {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]}
    assert violations("s3-encryption-kms", secure_buckets(sse=aws_key)) == []
    assert len(violations("s3-encryption-cmk", secure_buckets(sse=aws_key))) == 2
    dsse = {"rules": [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms:dsse", "kmsMasterKeyId": "k"}}]}
    assert violations("s3-encryption-kms", secure_buckets(sse=dsse)) == []
    assert violations("s3-encryption-cmk", secure_buckets(sse=dsse)) == []
    aes = {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}
    assert violations("s3-encryption-cmk", secure_buckets(sse=aes)) == []  # kms rule's finding
    assert violations("s3-encryption-cmk", secure_buckets(skip=("sse",))) == []


@pytest.mark.parametrize(("rule", "companion", "props", "expected"), [
    ("s3-public-access-block", PAB, {"bucket": "x", "blockPublicAcls": False,
                                     "blockPublicPolicy": True, "ignorePublicAcls": True,
                                     "restrictPublicBuckets": True}, "blockPublicAcls not true"),
    ("s3-versioning", VERSIONING, {"bucket": "x", "versioningConfiguration": {
        "status": "Disabled"}}, "Disabled, not Enabled"),
    ("s3-ownership-enforced", OWNERSHIP, {"bucket": "x", "rule": {
        "objectOwnership": "BucketOwnerPreferred"}}, "BucketOwnerPreferred"),
    ("s3-encryption-kms", SSE, {"bucket": "x", "rule": {"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "AES256"}}}, "uses AES256"),
])
def test_companion_without_bucket_in_stack_is_still_judged(rule, companion, props, expected):
    found = violations(rule, [res(companion, "orphan", props)])
    assert len(found) == 1 and found[0].startswith("orphan: ") and expected in found[0]


def test_lifecycle_rule_with_prefix_filter_does_not_cover_the_bucket():
    narrow = {"rules": [{"id": "abort", "status": "Enabled", "filter": {"prefix": "tmp/"},
                         "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}]}
    found = violations("s3-lifecycle", secure_buckets(lifecycle=narrow))
    assert found == ["data-lifecycle: no Enabled whole-bucket rule aborts incomplete multipart "
                     "uploads"]
    disabled = {"rules": [{"id": "abort", "status": "Disabled",
                           "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}]}
    assert len(violations("s3-lifecycle", secure_buckets(lifecycle=disabled))) == 1


def test_companion_joined_by_dependency_not_by_name():
    """An encryption config named after the bucket but depending on another bucket does not count."""
    a, b = bucket("a"), bucket("b")
    misleading = res(SSE, "a-encryption", companions(a, skip=("versioning", "pab", "policy",
                                                               "ownership", "lifecycle"))[0].props,
                     deps={"bucket": [b]})
    found = violations("s3-encryption-kms", [a, b, misleading])
    assert found == ["a: bucket has no BucketServerSideEncryptionConfiguration"]


def test_value_join_is_the_fallback_without_dependencies():
    a = bucket("a")
    sse = companions(a, skip=("versioning", "pab", "policy", "ownership", "lifecycle"))[0]
    no_deps = Resource(urn=sse.urn, type=sse.type, name=sse.name, props=sse.props)
    assert violations("s3-encryption-kms", [a, no_deps]) == []


def test_unknown_bucket_reference_cannot_be_evaluated():
    a = bucket("a")
    rules = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms",
                                                     "kmsMasterKeyId": "k"},
              "bucketKeyEnabled": True}]
    sse = res(SSE, "orphan", {"bucket": UNKNOWN, "rules": rules})
    assert unknowns("s3-encryption-kms", [a, sse]) == ["value at orphan.bucket is not known "
                                                       "until deploy"]
    assert violations("s3-encryption-kms", [a, sse]) == []


def test_unknown_bucket_policy_cannot_be_evaluated():
    found = unknowns("s3-tls-only", secure_buckets(policy={"policy": UNKNOWN}))
    assert found == ["value at data-policy.policy is not known until deploy"]


def test_access_log_target_must_be_a_stack_bucket():
    assert violations("s3-access-log-target", secure_buckets()) == []
    logs, data = bucket("logs"), bucket("data")
    logging = res(tokens.S3_BUCKET_LOGGING, "data-logging",
                  {"bucket": data.props["bucket"], "targetBucket": "central-logs"},
                  deps={"bucket": [data]})
    assert violations("s3-access-log-target", [logs, data, logging]) == [
        "data-logging: target bucket central-logs is not a bucket of this stack"]
    assert violations("s3-access-log-target", [logs, data, logging],
                      {"externalLogBuckets": ["central-logs"]}) == []
    # s3-access-logging only asks for logging with a target (CKV_AWS_18); the log bucket that
    # receives nothing is then a bucket like any other
    assert violations("s3-access-logging", [logs, data, logging]) == [
        "logs: bucket has no BucketLogging (server access logs)"]


def test_unknown_log_target_cannot_be_evaluated():
    data = bucket("data")
    logging = res(tokens.S3_BUCKET_LOGGING, "data-logging",
                  {"bucket": data.props["bucket"], "targetBucket": UNKNOWN},
                  deps={"bucket": [data]})
    assert unknowns("s3-access-log-target", [data, logging]) == [
        "value at data-logging.targetBucket is not known until deploy"]
    assert violations("s3-access-logging", [data, logging]) == []


POLICY = tokens.S3_BUCKET_POLICY


def test_no_public_policy():
    ok = res(POLICY, "p", {"policy": doc(TLS_DENY, {
        "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"})})
    public = res(POLICY, "p", {"policy": doc({
        "Sid": "Public", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*"})})
    assert violations("s3-no-public-policy", [ok]) == []
    assert violations("s3-no-public-policy", [public]) == ["p: statement Public allows principal '*'"]
    org_only = res(POLICY, "p", {"policy": doc({
        "Sid": "Org", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}})})
    assert violations("s3-no-public-policy", [org_only]) == []
    weak = res(POLICY, "p", {"policy": doc({
        "Sid": "Weak", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}}})})
    assert violations("s3-no-public-policy", [weak]) == ["p: statement Weak allows principal '*'"]


def test_no_public_acl():
    acl = tokens.S3_BUCKET_ACL
    assert violations("s3-no-public-acl", [res(acl, "a", {"acl": "private"})]) == []
    assert violations("s3-no-public-acl", [res(acl, "a", {"acl": "public-read"})]) == [
        "a: canned ACL public-read makes the bucket public"]
    grant = {"accessControlPolicy": {"grants": [{"permission": "READ", "grantee": {
        "type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}}]}}
    assert violations("s3-no-public-acl", [res(acl, "a", grant)]) == [
        "a: ACL grants READ to AllUsers"]


def test_stateful_protected():
    good = res(BUCKET, "b", {"bucket": "x", "forceDestroy": False}, protect=True, retain=True)
    bad = res(BUCKET, "b", {"bucket": "x", "forceDestroy": True})
    key = res(tokens.KMS_KEY, "k", {}, protect=True, retain=None)  # retain not visible
    assert violations("stateful-protected", [good, key]) == []
    assert violations("stateful-protected", [bad]) == [
        "b: resource is not protected (protect=True)",
        "b: resource is not retained on delete (retain_on_delete=True)",
        "b: forceDestroy is true: deleting the stack would empty the bucket",
    ]


INLINE_GOOD = {
    "serverSideEncryptionConfiguration": {"rule": {
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "k"},
        "bucketKeyEnabled": True}},
    "versioning": {"enabled": True},
    "logging": {"targetBucket": "central-logs", "targetPrefix": "b/"},
    "lifecycleRules": [{"enabled": True, "abortIncompleteMultipartUploadDays": 7}],
    "policy": doc(TLS_DENY),
}


@pytest.mark.parametrize(("rule", "prop", "bad", "expected"), [
    ("s3-encryption-kms", "serverSideEncryptionConfiguration",
     {"rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"},
               "bucketKeyEnabled": True}},
     "default encryption uses AES256, not aws:kms"),
    ("s3-versioning", "versioning", {"enabled": False}, "versioning is not enabled"),
    ("s3-access-logging", "logging", {"targetPrefix": "x/"}, "logging has no targetBucket"),
    ("s3-lifecycle", "lifecycleRules", [{"enabled": False,
                                         "abortIncompleteMultipartUploadDays": 7}],
     "no enabled whole-bucket lifecycle rule aborts incomplete multipart uploads"),
    ("s3-tls-only", "policy", doc({**TLS_DENY, "Effect": "Allow"}),
     "bucket policy does not deny aws:SecureTransport=false for s3:*"),
])
def test_inline_bucket_settings_count(rule, prop, bad, expected):
    """The deprecated inline form on aws.s3.Bucket is judged like the companion resource."""
    good = bucket("inline", **INLINE_GOOD)
    assert violations(rule, [good]) == []
    broken = bucket("inline", **{**INLINE_GOOD, prop: bad})
    assert violations(rule, [broken]) == [f"inline: {expected}"]


def test_inline_public_acl_and_policy_on_the_bucket():
    public = bucket("b", acl="public-read-write", policy=doc({
        "Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*"}))
    assert violations("s3-no-public-acl", [public]) == [
        "b: canned ACL public-read-write makes the bucket public"]
    assert violations("s3-no-public-policy", [public]) == [
        "b: statement Anyone allows principal '*'"]


def test_deprecated_v2_types_are_the_same_resources():
    b = res(tokens.S3_BUCKET_V2, "legacy", {"bucket": "legacy"})
    v = res(tokens.S3_BUCKET_VERSIONING_V2, "legacy-versioning",
            {"bucket": "legacy", "versioningConfiguration": {"status": "Suspended"}},
            deps={"bucket": [b]})
    assert violations("s3-versioning", [b, v]) == [
        "legacy: versioning is Suspended, not Enabled"]
    assert violations("s3-versioning", [b]) == ["legacy: bucket has no BucketVersioning"]


def test_object_kms():
    obj = tokens.S3_BUCKET_OBJECT
    ok = res(obj, "code", {"bucket": "b", "key": "k", "serverSideEncryption": "aws:kms",
                           "kmsKeyId": "arn:aws:kms:eu-west-1:1:key/x"})
    bare = res(obj, "code", {"bucket": "b", "key": "k", "serverSideEncryption": "AES256"})
    assert violations("s3-object-kms", [ok]) == []
    assert violations("s3-object-kms", [bare]) == [
        "code: kmsKeyId is not set (object encrypted with the bucket default or an AWS key)"]
