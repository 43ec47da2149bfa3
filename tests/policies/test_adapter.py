"""The pulumi-policy wrappers run the same rules (no PolicyPack is built here)."""

from __future__ import annotations

import datetime as dt

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from common import tokens
from policies.adapter import build_policies, plain
from policies.rules import all_rules
from tests.policies.helpers import KEY_ARN, UNKNOWN


@pytest.fixture(scope="module")
def policies(tmp_path_factory):
    path = tmp_path_factory.mktemp("pack") / "exemptions.yaml"
    path.write_text(
        "exemptions:\n"
        "  - rule: sns-kms\n    resource: legacy-*\n    owner: a@example.com\n"
        "    reason: legacy topic, deleted in Q1\n    expires: 2030-01-01\n"
        "  - rule: sns-kms\n    resource: old-*\n    owner: a@example.com\n"
        "    reason: this one has run out\n    expires: 2020-01-01\n")
    return {p.name: p for p in build_policies(path, today=dt.date(2026, 11, 22))}


def opts(protect=False):
    return PolicyResourceOptions(protect, [], None, [], None, [])


def validate_resource(policy, token, name, props, config=None):
    reported: list[tuple[str, str | None]] = []
    args = ResourceValidationArgs(token, unknown_checking_proxy(props),
                                  f"urn:pulumi:prod::p::{token}::{name}", name, opts(), None,
                                  config)
    policy.validate(args, lambda msg, urn=None: reported.append((msg, urn)))
    return reported


def test_one_policy_per_rule_with_metadata(policies):
    assert set(policies) == {r.id for r in all_rules()}
    admin = policies["iam-no-admin"]
    assert admin.enforcement_level == EnforcementLevel.MANDATORY
    assert admin.severity.value == "critical"
    assert "CKV_AWS_62" in admin.tags and admin.remediation_steps
    assert policies["s3-lifecycle"].enforcement_level == EnforcementLevel.ADVISORY
    assert policies["kms-deletion-window"].config_schema.properties["minDays"]["default"] == 30


def test_resource_policy_reports_violation(policies):
    topic = tokens.SNS_TOPIC
    assert validate_resource(policies["sns-kms"], topic, "alerts", {"kmsMasterKeyId": KEY_ARN}) == []
    reported = validate_resource(policies["sns-kms"], topic, "alerts", {"name": "alerts"})
    assert len(reported) == 1 and reported[0][0].startswith(
        "alerts: kmsMasterKeyId is not set")
    assert validate_resource(policies["sns-kms"], tokens.S3_BUCKET, "b", {}) == []


def test_resource_policy_uses_config(policies):
    key = {"deletionWindowInDays": 7, "enableKeyRotation": True}
    token = tokens.KMS_KEY
    assert len(validate_resource(policies["kms-deletion-window"], token, "k", key)) == 1
    assert validate_resource(policies["kms-deletion-window"], token, "k", key,
                             {"minDays": 7}) == []


def test_exemptions_apply_in_the_pack(policies):
    topic = tokens.SNS_TOPIC
    assert validate_resource(policies["sns-kms"], topic, "legacy-alerts", {}) == []
    assert len(validate_resource(policies["sns-kms"], topic, "old-alerts", {})) == 1
    reported: list = []
    policies["exemption-expired"].validate(StackValidationArgs([], {}),
                                           lambda m, u=None: reported.append(m))
    assert len(reported) == 1 and "old-*" in reported[0] and "expired on 2020-01-01" in reported[0]


def test_unknown_values_become_the_engines_cannot_run_notice(policies):
    with pytest.raises(UnknownValueError):
        validate_resource(policies["sns-kms"], tokens.SNS_TOPIC, "t",
                          {"kmsMasterKeyId": UNKNOWN})


def test_plain_unwraps_proxies_and_keeps_unknowns():
    proxied = unknown_checking_proxy({"a": [1, {"b": UNKNOWN}], "c": UNKNOWN})
    assert plain(proxied) == {"a": [1, {"b": UNKNOWN}], "c": UNKNOWN}


def policy_resource(token, name, props, deps=None, protect=False):
    return PolicyResource(token, unknown_checking_proxy(props),
                          f"urn:pulumi:prod::p::{token}::{name}", name, opts(protect), None,
                          None, [], deps or {})


def test_stack_policy_joins_property_dependencies(policies):
    b = policy_resource(tokens.S3_BUCKET, "data", {"bucket": "d"})
    sse = policy_resource(
        tokens.S3_BUCKET_SSE,
        "data-encryption",
        {"bucket": "d", "rules": [{"applyServerSideEncryptionByDefault": {
            "sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}, "bucketKeyEnabled": True}]},
        deps={"bucket": [b]})
    reported: list = []
    policies["s3-encryption-kms"].validate(StackValidationArgs([b, sse], {}),
                                           lambda m, u=None: reported.append((m, u)))
    assert reported == []
    policies["s3-encryption-kms"].validate(StackValidationArgs([b], {}),
                                           lambda m, u=None: reported.append((m, u)))
    assert reported == [(
        "data: bucket has no BucketServerSideEncryptionConfiguration\nfix: "
        + policies["s3-encryption-kms"].remediation_steps, b.urn)]
