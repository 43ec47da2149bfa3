"""S3 rules: each passes on a complete bucket and fails on a missing or wrong companion."""

from __future__ import annotations

import pytest

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

STACK_RULES = ["s3-encryption-kms", "s3-versioning", "s3-public-access-block", "s3-tls-only",
               "s3-access-logging", "s3-ownership-enforced", "s3-lifecycle"]


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
        "sseAlgorithm": "AES256"}, "bucketKeyEnabled": True}]}, "AES256, not aws:kms"),
    ("s3-encryption-kms", "sse", {"rules": [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms"}, "bucketKeyEnabled": True}]}, "AWS-managed key"),
    ("s3-encryption-kms", "sse", {"rules": [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": "k"}}]}, "bucketKeyEnabled off"),
    ("s3-versioning", "versioning", {"versioningConfiguration": {"status": "Suspended"}},
     "Suspended, not Enabled"),
    ("s3-public-access-block", "pab", {"restrictPublicBuckets": False},
     "restrictPublicBuckets not true"),
    ("s3-tls-only", "policy", {"policy": doc({**TLS_DENY, "Effect": "Allow"})},
     "does not deny aws:SecureTransport=false"),
    ("s3-ownership-enforced", "ownership", {"rule": {"objectOwnership": "ObjectWriter"}},
     "ObjectWriter, not BucketOwnerEnforced"),
    ("s3-lifecycle", "lifecycle", {"rules": [{"id": "x", "status": "Enabled",
                                              "expiration": {"days": 30}}]},
     "aborts incomplete multipart uploads"),
])
def test_wrong_companion_settings_fail(rule, kind, override, expected):
    """The violation is reported on the misconfigured companion, not on the bucket."""
    found = violations(rule, secure_buckets(**{kind: override}))
    assert len(found) == 1 and found[0].startswith(f"data-{kind}: ") and expected in found[0], found


@pytest.mark.parametrize(("rule", "companion", "props", "expected"), [
    ("s3-public-access-block", PAB, {"bucket": "x", "blockPublicAcls": False,
                                     "blockPublicPolicy": True, "ignorePublicAcls": True,
                                     "restrictPublicBuckets": True}, "blockPublicAcls not true"),
    ("s3-versioning", VERSIONING, {"bucket": "x", "versioningConfiguration": {
        "status": "Disabled"}}, "Disabled, not Enabled"),
    ("s3-ownership-enforced", OWNERSHIP, {"bucket": "x", "rule": {
        "objectOwnership": "BucketOwnerPreferred"}}, "BucketOwnerPreferred"),
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


def test_access_logging_requires_a_stack_log_bucket():
    found = violations("s3-access-logging", secure_buckets(logging={"targetBucket": "elsewhere"}))
    # the dependency still names the stack's log bucket: pass; drop it and the value decides
    assert found == []
    logs, data = bucket("logs"), bucket("data")
    logging = res("aws:s3/bucketLogging:BucketLogging", "data-logging",
                  {"bucket": data.props["bucket"], "targetBucket": "central-logs"},
                  deps={"bucket": [data]})
    assert sorted(violations("s3-access-logging", [logs, data, logging])) == [
        "data-logging: target bucket central-logs is not a log bucket of this stack",
        "logs: bucket has no BucketLogging (server access logs)",
    ]
    assert violations("s3-access-logging", [logs, data, logging],
                      {"externalLogBuckets": ["central-logs"]}) == [
        "logs: bucket has no BucketLogging (server access logs)"]


POLICY = "aws:s3/bucketPolicy:BucketPolicy"


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
    acl = "aws:s3/bucketAcl:BucketAcl"
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
    key = res("aws:kms/key:Key", "k", {}, protect=True, retain=None)  # retain not visible
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
     "rules[0] uses AES256, not aws:kms"),
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
    b = res("aws:s3/bucketV2:BucketV2", "legacy", {"bucket": "legacy"})
    v = res("aws:s3/bucketVersioningV2:BucketVersioningV2", "legacy-versioning",
            {"bucket": "legacy", "versioningConfiguration": {"status": "Suspended"}},
            deps={"bucket": [b]})
    assert violations("s3-versioning", [b, v]) == [
        "legacy-versioning: versioning status is Suspended, not Enabled"]
    assert violations("s3-versioning", [b]) == ["legacy: bucket has no BucketVersioning"]
