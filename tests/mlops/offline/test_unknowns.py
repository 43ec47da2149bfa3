"""Values not known during preview: the Plan holds Pulumi's marker; the pack cannot evaluate."""

from __future__ import annotations

import json

import pulumi_aws as aws
from pulumi.runtime import rpc

from mlops.offline.cloud import Cloud
from mlops.offline.fakes import FakeCloud
from mlops.offline.runtime import record
from mlops.policy.evaluate import check_plan
from policies.core import UNKNOWN_STRING
from tests.conftest import ROOT


def program() -> None:
    """A bucket policy built from an output the fakes do not give (its regional domain name)."""
    bucket = aws.s3.Bucket("raw", bucket="mlops-dev-raw")
    aws.s3.BucketPolicy("raw-policy", bucket=bucket.id, policy=bucket.bucket_regional_domain_name
                        .apply(lambda domain: json.dumps({"Statement": [{"Sid": domain}]})))


def plan_of(preview: bool):  # type: ignore[no-untyped-def]
    cloud = Cloud(account_id="123456789012", region="eu-west-1")
    return record(program, stack="dev", config={}, fakes=FakeCloud(cloud), preview=preview)


def test_an_unknown_input_is_recorded_as_pulumis_marker() -> None:
    policy = plan_of(preview=True).named("raw-policy")
    assert rpc.UNKNOWN == UNKNOWN_STRING
    assert policy.inputs["policy"] == rpc.UNKNOWN
    assert "object at 0x" not in json.dumps(policy.inputs)
    assert policy.inputs["bucket"] == "mlops-dev-raw"  # the faked output is known


def test_outside_preview_the_same_input_is_known() -> None:
    policy = plan_of(preview=False).named("raw-policy")
    assert json.loads(policy.inputs["policy"]) == {"Statement": [{"Sid": None}]}


def test_the_policy_pack_cannot_evaluate_the_unknown_value() -> None:
    report = check_plan(ROOT, "dev", "dev", plan_of(preview=True))
    unknown = {(r.rule.id, r.name, r.message) for r in report.of_status("cannot-evaluate")}
    assert unknown == {
        ("s3-tls-only", "raw", "cannot evaluate: value at raw-policy.policy is not known until "
                               "deploy"),
        ("s3-no-public-policy", "raw-policy", "cannot evaluate: value at policy is not known "
                                              "until deploy"),
    }
    assert not [r for r in report.violations if r.rule.id in ("s3-tls-only", "s3-no-public-policy")]
