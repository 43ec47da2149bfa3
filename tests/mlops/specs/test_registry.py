"""The spec registry: one complete spec per resource type, and Plans refuse types without one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pulumi
import pytest

from common import tokens
from mlops.offline.cloud import Cloud
from mlops.offline.fakes import FakeCloud
from mlops.offline.runtime import build_plan, record
from mlops.specs import REGISTRY, SERVICES, IncompleteSpec, NotSimulated, check_types, problems_of
from tests.conftest import ROOT

MADE_UP = ":".join(("aws", "madeup/thing", "Thing"))  # no spec, by design (and not a real type)


def test_every_type_in_every_stack_plan_has_a_complete_spec(plans) -> None:
    for stack, plan in plans.items():
        types = set(plan.type_counts())
        assert types, stack
        assert problems_of(types) == {}, stack


@pytest.mark.parametrize("token", sorted(REGISTRY))
def test_each_spec_is_complete(token: str) -> None:
    spec = REGISTRY[token]
    assert spec.problems() == []
    assert spec.token == token and spec.token in vars(tokens).values()
    assert spec.rules or spec.unchecked


def test_each_token_has_one_spec_in_its_service_module() -> None:
    seen = [spec.token for module in SERVICES for spec in module.SPECS]
    assert len(seen) == len(set(seen)) == len(REGISTRY)
    for module in SERVICES:
        # One pulumi-aws module per spec module; pulumi-kubernetes's API groups share one.
        services = {"kubernetes" if tokens.is_kubernetes(spec.token)
                    else spec.token.split(":")[1].split("/")[0] for spec in module.SPECS}
        assert len(services) == 1, module.__name__


def test_a_made_up_type_is_refused_with_its_name() -> None:
    assert problems_of([tokens.S3_BUCKET, MADE_UP]) == {MADE_UP: ["no spec in mlops/specs/"]}
    with pytest.raises(IncompleteSpec, match=f"stack dev: .*{MADE_UP}: no spec"):
        check_types([tokens.S3_BUCKET, MADE_UP], "stack dev")


def test_incomplete_specs_are_named() -> None:
    bucket = REGISTRY[tokens.S3_BUCKET]
    assert replace(bucket, sandbox=NotSimulated(" ")).problems() == [
        "sandbox: NotSimulated needs its reason"]
    assert replace(bucket, unchecked="no reason to").problems() == [
        f"policy: `unchecked` is set but rules judge it ({', '.join(bucket.rules)})"]
    dashboard = REGISTRY[tokens.DASHBOARD]
    assert dashboard.rules == () and dashboard.unchecked
    assert replace(dashboard, unchecked="").problems() == [
        "policy: no rule judges this type and `unchecked` gives no reason"]
    assert replace(bucket, token=MADE_UP).problems()[0].startswith("policy:")
    assert replace(bucket, terraform=replace(bucket.terraform, type="s3")).problems() == [
        "terraform.type 's3' is not a Terraform AWS type"]


def test_the_program_registering_a_made_up_type_fails_the_plan(monkeypatch) -> None:
    import infra.program

    real = infra.program.run

    def run(root: Path):  # the platform plus one resource of a type nobody specified
        platform = real(root)
        pulumi.CustomResource(MADE_UP, "mystery", {})
        return platform

    monkeypatch.setattr(infra.program, "run", run)
    with pytest.raises(IncompleteSpec, match=f"the program for stack dev: .*{MADE_UP}"):
        build_plan(ROOT, "dev")


def test_fakes_come_from_the_spec() -> None:
    cloud = Cloud(account_id="123456789012", region="eu-west-1")
    plan = record(lambda: pulumi.CustomResource(tokens.S3_BUCKET, "raw", {"bucket": "b-1"}),
                  stack="t", config={}, fakes=FakeCloud(cloud))
    [bucket] = plan.custom_resources()
    assert bucket.inputs == {"bucket": "b-1"}
    physical, outputs = REGISTRY[tokens.S3_BUCKET].fake(cloud, "raw", {"bucket": "b-1"})
    assert (physical, outputs["arn"]) == ("b-1", "arn:aws:s3:::b-1")
