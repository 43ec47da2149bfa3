"""`mlops stacks diff`: per-environment values normalized, real differences reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common import tokens
from mlops.offline.plan import Plan, PlanResource
from mlops.ops.stackdiff import Substitution, diff_plans, normalize
from tests.conftest import run_cli

A = Substitution(prefix="mlops", stack="staging", tier="staging", account="111111111111",
                 region="eu-west-1")
B = Substitution(prefix="mlops", stack="prod", tier="prod", account="222222222222",
                 region="us-east-1")


def _plan(stack: str, resources: list[PlanResource]) -> Plan:
    return Plan(stack=stack, project="p", resources=resources)


def _res(name: str, type_: str = tokens.S3_BUCKET, protect: bool = False,
         **inputs: object) -> PlanResource:
    return PlanResource(urn=f"urn:{name}", type=type_, name=name, inputs=inputs, protect=protect)


def test_names_arns_accounts_regions_and_ids_are_normalized() -> None:
    sub = Substitution("mlops", "staging", "staging", "111111111111", "eu-west-1")
    assert normalize("arn:aws:s3:::mlops-staging-raw-data-111111111111-eu-west-1", sub) == \
        "arn:aws:s3:::{stem}-raw-data-{account}-{region}"
    assert normalize("Model versions of churn in staging", sub) == "Model versions of churn in {stack}"
    assert normalize("key/4982823b-a408-fc3c-d4d1-8ddbc0236fde", sub) == "key/{id}"
    assert normalize('{"Resource": ["arn:aws:kms:eu-west-1:111111111111:key/x"], "n": 3.0}', sub) == \
        {"Resource": ["arn:aws:kms:{region}:{account}:key/x"], "n": 3}


def test_added_removed_changed_and_expected() -> None:
    a = _plan("staging", [
        _res("raw", bucket="mlops-staging-raw-111111111111-eu-west-1", forceDestroy=True),
        _res("lifecycle", tokens.S3_BUCKET_LIFECYCLE,
             rules=[{"noncurrentVersionExpiration": {"noncurrentDays": 30.0}}]),
        _res("policy", tokens.S3_BUCKET_POLICY, policy=json.dumps(
            {"Statement": [{"Effect": "Allow", "Resource": "arn:aws:s3:::mlops-staging-raw/*"}]})),
        _res("pipeline", tokens.SAGEMAKER_PIPELINE, definition=json.dumps(
            {"InstanceType": "ml.m5.large", "Types": ["ml.m5.large"], "Isolated": False})),
        _res("only-staging", tokens.SNS_TOPIC),
    ])
    b = _plan("prod", [
        _res("raw", protect=True, bucket="mlops-prod-raw-222222222222-us-east-1", forceDestroy=False),
        _res("lifecycle", tokens.S3_BUCKET_LIFECYCLE,
             rules=[{"noncurrentVersionExpiration": {"noncurrentDays": 90.0}}]),
        _res("policy", tokens.S3_BUCKET_POLICY, policy=json.dumps(
            {"Statement": [{"Effect": "Deny", "Resource": "arn:aws:s3:::mlops-prod-raw/*"}]})),
        _res("pipeline", tokens.SAGEMAKER_PIPELINE, definition=json.dumps(
            {"InstanceType": "ml.m5.xlarge", "Types": ["ml.m5.xlarge", "ml.m5.2xlarge"],
             "Isolated": True})),
        _res("only-prod", tokens.SNS_TOPIC_SUBSCRIPTION, protocol="https"),
    ])
    result = diff_plans(a, b, A, B)
    summary = {(r.name, r.status): [(c.path, c.a, c.b) for c in r.changes]
               for r in result.differences()}
    assert summary == {
        ("only-staging", "only-in-a"): [],
        ("only-prod", "only-in-b"): [],
        ("policy", "changed"): [("inputs.policy.Statement[0].Effect", "Allow", "Deny")],
        ("pipeline", "changed"): [("inputs.definition.Isolated", False, True)],
    }
    expected = {(r.name, c.path) for r, c in result.expected()}
    assert expected == {
        ("raw", "inputs.forceDestroy"), ("raw", "protect"),
        ("lifecycle", "inputs.rules[0].noncurrentVersionExpiration.noncurrentDays"),
        ("pipeline", "inputs.definition.InstanceType"), ("pipeline", "inputs.definition.Types"),
    }


def test_identical_stacks_have_no_differences() -> None:
    plan_a = _plan("staging", [_res("raw", bucket="mlops-staging-raw")])
    plan_b = _plan("qa", [_res("raw", bucket="mlops-qa-raw")])
    qa = Substitution("mlops", "qa", "staging", "111111111111", "eu-west-1")
    assert diff_plans(plan_a, plan_b, A, qa).resources == []


@pytest.fixture(scope="module")
def shipped(root: Path):
    from mlops.ops.stackdiff import diff_stacks

    return diff_stacks(root, "staging", "prod")


def test_shipped_staging_vs_prod(shipped) -> None:
    keys = {(r.status, r.name) for r in shipped.differences()}
    # prod pages on-call over https; staging only emails.
    assert ("only-in-b", "monitoring-https-0") in keys
    # nothing is reported for names, ARNs, accounts or per-environment sizes
    for r in shipped.differences():
        for c in r.changes:
            assert "staging" not in json.dumps(c.a) and "prod" not in json.dumps(c.b)
    expected = {c.path for _, c in shipped.expected()}
    assert "protect" in expected


def test_cli_stacks_diff(root: Path, shipped, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr("mlops.ops.stackdiff.diff_stacks", lambda root, a, b: shipped)
    code, stdout, _ = run_cli(monkeypatch, capsys, None, "stacks", "diff", "staging", "prod")
    assert code == 0
    assert f"+ {tokens.SNS_TOPIC_SUBSCRIPTION} monitoring-https-0  (only in prod)" in stdout
    assert "expected per-environment differences hidden" in stdout
    code, stdout, _ = run_cli(monkeypatch, capsys, None, "stacks", "diff", "staging", "prod",
                              "--json")
    assert code == 0 and {"a", "b", "differences", "expected"} <= set(json.loads(stdout))
    # --exit-code: differences exit 1, as `git diff --exit-code` does
    code, stdout, _ = run_cli(monkeypatch, capsys, None, "stacks", "diff", "staging", "prod",
                              "--exit-code")
    assert code == 1 and "only in prod" in stdout
    monkeypatch.undo()
    code, _, err = run_cli(monkeypatch, capsys, None, "stacks", "diff", "staging", "qa")
    assert code == 2
    assert err.strip().startswith("error: stacks/Pulumi.qa.yaml: no such stack file")


def test_cli_stacks_diff_exit_code_without_differences(root: Path, monkeypatch, capsys) -> None:
    code, stdout, _ = run_cli(monkeypatch, capsys, None, "stacks", "diff", "dev", "dev",
                              "--exit-code")
    assert code == 0 and "no differences beyond per-environment values" in stdout
