"""A project's serving section resolved for each stack: tier fallback and the stack's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import PinnedModel
from infra.naming import Naming
from infra.projects.errors import ProjectError
from infra.projects.loader import load_project
from infra.projects.serving import NotServed, ServingPlan, serving_for
from mlops.offline.runtime import load_settings

PIN = PinnedModel(version=3, package_arn="arn:aws:sagemaker:eu-west-1:123456789012:"
                                         "model-package/mlops-{stack}-churn/3")


def plan_for(root: Path, stack: str, pinned: bool = True):  # type: ignore[no-untyped-def]
    settings, _ = load_settings(root, stack)
    if pinned:
        settings = settings.model_copy(update={"models": {"churn": PIN}})
    naming = Naming(prefix="mlops", stack=stack, account_id="123456789012", region="eu-west-1")
    return serving_for(load_project(root, "churn"), settings, naming)


def edit_serving(root: Path, text: str) -> None:
    path = root / "pipelines" / "churn" / "project.yaml"
    head = path.read_text().split("\n# An endpoint for the version")[0]
    path.write_text(head + "\nserving:\n" + text)


def test_each_tier_gets_its_own_rollout(tmp_root: Path) -> None:
    dev, staging, prod = (plan_for(tmp_root, s) for s in ("dev", "staging", "prod"))
    assert isinstance(dev, ServingPlan) and isinstance(staging, ServingPlan)
    assert isinstance(prod, ServingPlan)
    assert (dev.rollout.mode, staging.rollout.mode, prod.rollout.mode) == (
        "all-at-once", "canary", "linear")
    assert (dev.instance_count, staging.instance_count, prod.instance_count) == (1, 2, 2)
    assert (prod.instance_type, prod.latency_slo_ms, prod.capture_percent) == (
        "ml.m5.xlarge", 200, 20)
    assert prod.expects_traffic and not dev.expects_traffic
    assert dev.autoscaling is None and prod.autoscaling is not None
    assert (prod.endpoint_name, prod.model_name) == ("mlops-prod-churn", "mlops-prod-churn-v3")
    assert prod.alarm_name("5xx") == "mlops-prod-churn-endpoint-5xx"


def test_no_pinned_version_no_endpoint_and_the_reason(tmp_root: Path) -> None:
    waiting = plan_for(tmp_root, "staging", pinned=False)
    assert isinstance(waiting, NotServed)
    assert "no version of churn is pinned in stacks/Pulumi.staging.yaml" in waiting.reason


def test_a_project_without_serving_gets_nothing(tmp_root: Path) -> None:
    settings, _ = load_settings(tmp_root, "dev")
    naming = Naming(prefix="mlops", stack="dev", account_id="123456789012", region="eu-west-1")
    assert serving_for(load_project(tmp_root, "fraud"), settings, naming) is None


@pytest.mark.parametrize(("stack", "serving", "key", "problem"), [
    ("prod", "  serverless: {prod: {memorySizeMb: 2048}}\n", "serving.serverless.prod",
     "serverless inference is for dev-tier stacks only (stack prod is prod)"),
    ("prod", "  rollout: {prod: {mode: canary, sizePercent: 10}}\n", "serving",
     "prod serves from at least 2 instances"),
    ("prod", "  instanceCount: {prod: 2}\n", "serving",
     "prod rolls out a new version as a canary or linearly"),
    ("staging", "  instanceType: {staging: ml.p3.2xlarge}\n", "serving.instanceType.staging",
     "ml.p3.2xlarge is not allowed in stack staging"),
    ("dev", "  instanceCount: {dev: 3}\n  autoscaling: {dev: {min: 1, max: 2, "
     "targetInvocationsPerInstance: 10}}\n", "serving.autoscaling.dev",
     "the initial instance count (3) must be between min (1) and max (2)"),
    ("dev", "  serverless: {dev: {maxConcurrency: 5}}\n  autoscaling: {dev: {min: 1, max: 2, "
     "targetInvocationsPerInstance: 10}}\n", "serving.autoscaling.dev",
     "serverless endpoints scale themselves"),
])
def test_what_a_stack_refuses_names_the_key(tmp_root: Path, stack: str, serving: str, key: str,
                                            problem: str) -> None:
    edit_serving(tmp_root, serving)
    with pytest.raises(ProjectError) as info:
        plan_for(tmp_root, stack)
    assert info.value.key == key and problem in str(info.value)
    assert str(info.value).startswith("pipelines/churn/project.yaml:")


def test_serverless_in_dev(tmp_root: Path) -> None:
    edit_serving(tmp_root, "  serverless: {dev: {memorySizeMb: 3072, maxConcurrency: 4}}\n")
    dev = plan_for(tmp_root, "dev")
    assert isinstance(dev, ServingPlan) and dev.serverless is not None
    assert dev.instance_type is None and dev.volume_key


def test_nvme_instance_types_take_no_volume_key(tmp_root: Path) -> None:
    settings, _ = load_settings(tmp_root, "dev")
    edit_serving(tmp_root, "  instanceType: {dev: ml.m5d.large}\n")
    settings = settings.model_copy(update={
        "models": {"churn": PIN}, "allowed_instance_types": ["ml.m5d.large"]})
    naming = Naming(prefix="mlops", stack="dev", account_id="123456789012", region="eu-west-1")
    plan = serving_for(load_project(tmp_root, "churn"), settings, naming)
    assert isinstance(plan, ServingPlan) and plan.volume_key is False
