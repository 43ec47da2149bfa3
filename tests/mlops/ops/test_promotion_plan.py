"""Plan, then apply: the plan is pure, a blocked gate plans nothing, and apply does the plan."""

from __future__ import annotations

import ast
import hashlib
import json
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlops.ops import audit, promotion, promotion_plan
from mlops.ops.aws import AwsClients
from mlops.ops.pins import read_pins
from mlops.ops.promotion_apply import apply_promotion
from mlops.ops.promotion_facts import gather_facts
from mlops.ops.promotion_plan import (
    Checked,
    Promoted,
    PromotionFacts,
    TargetFacts,
    plan_promotion,
)
from mlops.ops.versions import ModelVersion
from tests.mlops.ops.world import World

SHA = "ab" * 32
SOURCE_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-dev-churn/3"
TARGET_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-staging-churn/1"
STAGING_BUCKET = "mlops-staging-model-artifacts-123456789012-eu-west-1"


def _version(arn: str, stack: str, status: str, artifact: str) -> ModelVersion:
    return ModelVersion(project="churn", stack=stack, version=int(arn.rsplit("/", 1)[-1]), arn=arn,
                        status=status, metrics={"auc": 0.91}, source={"kind": "pipeline"},
                        artifact=artifact, sha256=SHA, created="2026-01-01T00:00:00",
                        approval=None, metadata={"mlops:artifactSha256": SHA})


def _facts(**changes: object) -> PromotionFacts:
    """Facts made by hand: no AWS, no stack files."""
    facts = PromotionFacts(
        project="churn",
        source_stack="dev",
        source=_version(SOURCE_ARN, "dev", "Approved",
                        f"s3://mlops-dev-model-artifacts/models/churn/{SHA}/model.tar.gz"),
        target=TargetFacts(stack="staging", tier="staging", bucket=STAGING_BUCKET,
                           key_alias="alias/mlops-staging", group="mlops-staging-churn",
                           allow_from=("dev",), auto_approve=False),
        metric="auc",
        threshold=0.75,
        artifact_check=Checked(value=(True, "model.tar.gz sha256 matches")),
        firing_alarms=Checked(value=[]),
        alarm_prefix="mlops-dev-churn-",
        promoted=None,
        operator="alice@example.com",
        git_commit="0123456789abcdef",
    )
    return replace(facts, **changes)


def _promoted(*, status: str = "PendingManualApproval", artifact_ok: bool = True,
              audit_key: str | None = "audit/churn/x.json", pinned: bool = True) -> Promoted:
    uri = f"s3://{STAGING_BUCKET}/models/churn/{SHA}/model.tar.gz"
    return Promoted(package=_version(TARGET_ARN, "staging", status, uri),
                    artifact=Checked(value=(artifact_ok, "ok" if artifact_ok else "missing")),
                    audit_key=audit_key, pinned=pinned)


def _kinds(plan: promotion_plan.PromotionPlan) -> list[str]:
    return [step.kind for step in plan.steps]


def test_the_plan_is_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hand-made facts, every way out of the process blocked: the same facts, the same plan."""
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("plan_promotion reached outside its inputs")

    for target, name in ((AwsClients, "client"), (AwsClients, "identity"), (AwsClients, "session"),
                         (subprocess, "run"), (time, "time"), (audit, "now"), (Path, "read_text")):
        monkeypatch.setattr(target, name, forbidden)
    facts = _facts(target=replace(_facts().target, auto_approve=True))
    first = plan_promotion(facts)
    monkeypatch.setenv("MLOPS_OPERATOR", "mallory@example.com")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    second = plan_promotion(facts)
    assert first == second
    assert first.passed and _kinds(first) == ["copy", "create", "approve", "audit", "pin"]
    assert first.lines() == [
        f"copy {facts.source.artifact} -> s3://{STAGING_BUCKET}/models/churn/{SHA}/model.tar.gz "
        "(SSE-KMS alias/mlops-staging)",
        f"create model package in mlops-staging-churn from {SOURCE_ARN} (PendingManualApproval)",
        "approve it, its artifact verified again first (promotion.autoApprove: true)",
        f"audit record in s3://{STAGING_BUCKET}/audit/churn/ and an EventBridge event",
        "pin churn in stacks/Pulumi.staging.yaml (mlops:models)",
    ]


def test_the_plan_module_does_no_io() -> None:
    """What could reach AWS, a clock, files or the environment is not even imported."""
    tree = ast.parse(Path(promotion_plan.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not imported & {"boto3", "botocore", "os", "time", "datetime", "subprocess",
                           "pathlib", "mlops.ops.environment", "mlops.ops.packages",
                           "mlops.ops.provenance", "mlops.ops.pins", "mlops.ops.lock"}
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not calls & {"audit.now", "audit.append", "artifacts.check", "artifacts.copy"}


@pytest.mark.parametrize(("changes", "gate"), [
    ({"source": replace(_facts().source, status="PendingManualApproval")}, "source approved"),
    ({"threshold": 0.95}, "metrics meet threshold"),
    ({"artifact_check": Checked(value=(False, "artifact missing (NoSuchKey)"))}, "artifact checksum"),
    ({"firing_alarms": Checked(value=["mlops-dev-churn-pipeline-failed"])}, "no alarms firing"),
    ({"firing_alarms": Checked(error=RuntimeError("CloudWatch down"))}, "no alarms firing"),
    ({"source_stack": "qa"}, "promotion allowed"),
])
def test_a_blocked_gate_plans_nothing(changes: dict[str, object], gate: str) -> None:
    for promoted in (None, _promoted(audit_key=None, pinned=False)):
        plan = plan_promotion(_facts(promoted=promoted, **changes))
        assert [g.name for g in plan.gates if not g.passed] == [gate]
        assert plan.steps == () and plan.lines() == []


def test_an_error_while_gathering_fails_its_gate_with_the_error() -> None:
    plan = plan_promotion(_facts(artifact_check=Checked(error=RuntimeError("S3 down"))))
    (failed,) = [g for g in plan.gates if not g.passed]
    assert (failed.name, failed.detail) == ("artifact checksum", "could not check: RuntimeError: S3 down")


def test_options_and_settings_shape_the_new_steps() -> None:
    assert _kinds(plan_promotion(_facts())) == ["copy", "create", "audit", "pin"]
    assert _kinds(plan_promotion(_facts(), pin=False)) == ["copy", "create", "audit"]
    copy = plan_promotion(_facts()).steps[0]
    assert copy.destination == f"s3://{STAGING_BUCKET}/models/churn/{SHA}/model.tar.gz"


def test_an_already_promoted_version_plans_only_what_is_missing() -> None:
    done = plan_promotion(_facts(promoted=_promoted()))
    assert done.steps == ()
    assert done.lines() == [f"nothing: already promoted as {TARGET_ARN}"]
    auto = replace(_facts().target, auto_approve=True)
    half = plan_promotion(_facts(target=auto, promoted=_promoted(
        artifact_ok=False, audit_key=None, pinned=False)))
    assert _kinds(half) == ["copy", "approve", "audit", "pin"]
    assert half.steps[0].destination == _promoted().package.artifact
    assert half.steps[0].text.endswith("again (missing)")
    assert half.steps[1].text.startswith(f"approve {TARGET_ARN}")
    assert _kinds(plan_promotion(_facts(target=auto, promoted=_promoted(status="Approved")))) == []
    assert _kinds(plan_promotion(_facts(promoted=_promoted(pinned=False)), pin=False)) == []


# --------------------------------------------------------------------------- against moto


def _auto_approve_staging(world: World) -> None:
    path = world.root / "stacks" / "Pulumi.staging.yaml"
    path.write_text(path.read_text().replace("    allowFrom: [dev]\n",
                                             "    allowFrom: [dev]\n    autoApprove: true\n"))


def _check_steps_happened(world: World, plan: promotion_plan.PromotionPlan) -> None:
    """Each planned step, as found in moto and the stack file."""
    source = plan.facts.source
    (package,) = world.packages("staging")
    for step in plan.steps:
        if step.kind == "copy":
            bucket, key = step.destination[5:].split("/", 1)
            body = world.boto("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
            assert hashlib.sha256(body).hexdigest() == source.sha256
            url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
            assert url == step.destination
        elif step.kind == "create":
            assert package["CustomerMetadataProperties"]["mlops:sourcePackageArn"] == source.arn
        elif step.kind == "approve":
            assert package["ModelApprovalStatus"] == "Approved"
        elif step.kind == "audit":
            (record,) = world.trail("staging")
            assert (record["event"], record["packageArn"]) == ("promoted", package["ModelPackageArn"])
        elif step.kind == "pin":
            assert read_pins(world.root, "staging")["churn"] == {
                "version": package["ModelPackageVersion"], "packageArn": package["ModelPackageArn"],
                "artifactUri": package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"],
                "artifactSha256": source.sha256}


def test_apply_performs_the_steps_of_the_plan(world: World) -> None:
    _auto_approve_staging(world)
    dev = world.approved()
    facts, env = gather_facts(world.root, "churn", dev.version, "dev", "staging",
                              aws=world.aws, pins_root=world.root)
    plan = plan_promotion(facts)
    assert _kinds(plan) == ["copy", "create", "approve", "audit", "pin"]
    assert world.packages("staging") == []  # gathering and planning change nothing
    applied = apply_promotion(plan, env, pins_root=world.root)
    assert applied.performed == tuple(_kinds(plan)) and applied.plan == plan
    assert applied.outcome == "promoted"
    _check_steps_happened(world, plan)

    again = plan_promotion(gather_facts(world.root, "churn", dev.version, "dev", "staging",
                                        aws=world.aws, pins_root=world.root)[0])
    assert again.lines() == [f"nothing: already promoted as {applied.package.arn}"]
    assert apply_promotion(again, env, pins_root=world.root).performed == ()


def test_a_rerun_plans_and_performs_only_what_a_crash_left(world: World,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    dev = world.approved()
    real = audit.append

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(audit, "append", crash)
    with pytest.raises(KeyboardInterrupt):
        promotion.promote(world.root, "churn", dev.version, "dev", "staging", aws=world.aws)
    monkeypatch.setattr(audit, "append", real)
    facts, env = gather_facts(world.root, "churn", dev.version, "dev", "staging",
                              aws=world.aws, pins_root=world.root)
    plan = plan_promotion(facts)
    assert _kinds(plan) == ["audit", "pin"]
    applied = apply_promotion(plan, env, pins_root=world.root)
    assert applied.performed == ("audit", "pin") and applied.outcome == "completed"
    _check_steps_happened(world, plan)


def _planned(output: str, header: str) -> list[str]:
    lines = output.splitlines()
    start = lines.index(header) + 1
    return [line[4:] for line in lines[start:] if line.startswith("  - ")]


def test_dry_run_prints_the_steps_the_promotion_then_takes(world: World,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops.cli import app

    monkeypatch.setenv("MLOPS_ROOT", str(world.root))
    monkeypatch.setattr("mlops.ops.environment.clients", lambda region=None, **_: world.aws)
    monkeypatch.setenv("COLUMNS", "300")
    _auto_approve_staging(world)
    dev = world.approved()
    runner = CliRunner()
    args = ["models", "promote", "churn", "--version", str(dev.version), "--from", "dev",
            "--to", "staging"]

    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    shown = _planned(dry.stdout, "planned changes (none made):")
    assert world.packages("staging") == [] and world.trail("staging") == []
    facts, _ = gather_facts(world.root, "churn", dev.version, "dev", "staging",
                            aws=world.aws, pins_root=world.root)
    plan = plan_promotion(facts)
    assert shown == plan.lines() and len(shown) == 5
    for gate in plan.gates:
        assert gate.name in dry.stdout

    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert _planned(done.stdout.split("promoted: ")[0], "planned changes:") == shown
    _check_steps_happened(world, plan)

    as_json = runner.invoke(app, [*args, "--dry-run", "--json"])
    assert json.loads(as_json.stdout)["planned"] == [
        f"nothing: already promoted as {world.packages('staging')[0]['ModelPackageArn']}"]


def test_a_blocked_dry_run_prints_no_steps(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops.cli import app

    monkeypatch.setenv("MLOPS_ROOT", str(world.root))
    monkeypatch.setattr("mlops.ops.environment.clients", lambda region=None, **_: world.aws)
    version = world.register().version
    result = CliRunner().invoke(app, ["models", "promote", "churn", "--version", str(version),
                                      "--from", "dev", "--to", "staging", "--dry-run", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["passed"] is False and data["planned"] == [] and data["outcome"] == "blocked"
    text = CliRunner().invoke(app, ["models", "promote", "churn", "--version", str(version),
                                    "--from", "dev", "--to", "staging", "--dry-run"])
    assert text.exit_code == 1 and "planned changes" not in text.stdout
    assert world.packages("staging") == []
