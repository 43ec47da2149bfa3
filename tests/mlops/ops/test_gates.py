"""Each gate failing on its own: the table shows it, nothing changes, the CLI exits 1."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from mlops.ops import models, promotion
from mlops.ops.gates import GATES
from tests.mlops.ops.world import World

GATE_NAMES = [name for name, _ in GATES]


def _nothing_changed(world: World, stack: str = "staging") -> None:
    assert world.packages(stack) == []
    assert world.trail(stack) == []
    assert "mlops:models" not in (world.root / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    keys = world.boto("s3").list_objects_v2(Bucket=world.bucket(stack)).get("Contents", [])
    assert keys == []


def _not_approved(world: World) -> tuple[int, str, str]:
    return world.register().version, "dev", "staging"


def _low_metric(world: World) -> tuple[int, str, str]:
    version = world.register(metrics={"auc": 0.70, "f1": 0.9})  # dev 0.60 ok, staging 0.75 not
    models.approve(world.root, "churn", "dev", version.version, aws=world.aws)
    return version.version, "dev", "staging"


def _tampered_artifact(world: World) -> tuple[int, str, str]:
    version = world.approved()
    bucket, key = version.artifact[5:].split("/", 1)
    world.boto("s3").put_object(Bucket=bucket, Key=key, Body=b"not the registered model")
    return version.version, "dev", "staging"


def _missing_artifact(world: World) -> tuple[int, str, str]:
    version = world.approved()
    bucket, key = version.artifact[5:].split("/", 1)
    s3 = world.boto("s3")
    for v in s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", []):
        s3.delete_object(Bucket=bucket, Key=key, VersionId=v["VersionId"])
    return version.version, "dev", "staging"


def _alarm_firing(world: World) -> tuple[int, str, str]:
    version = world.approved()
    cw = world.boto("cloudwatch")
    for name in ("mlops-dev-churn-pipeline-failed", "mlops-dev-fraud-pipeline-failed"):
        cw.put_metric_alarm(AlarmName=name, MetricName="ExecutionFailed", Namespace="AWS/SageMaker",
                            Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="GreaterThanOrEqualToThreshold")
        cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")
    return version.version, "dev", "staging"


def _not_allowed(world: World) -> tuple[int, str, str]:
    return world.approved().version, "dev", "prod"  # prod takes promotions from staging only


CASES: dict[str, tuple[Callable[[World], tuple[int, str, str]], str, str]] = {
    "not approved": (_not_approved, "source approved",
                     "source version is PendingManualApproval in dev, not Approved"),
    "metric below threshold": (_low_metric, "metrics meet threshold",
                               "auc 0.7 < 0.75 (staging threshold)"),
    "artifact tampered": (_tampered_artifact, "artifact checksum", "!= recorded"),
    "artifact missing": (_missing_artifact, "artifact checksum", "missing (NoSuchKey)"),
    "alarm firing": (_alarm_firing, "no alarms firing",
                     "in ALARM in dev: mlops-dev-churn-pipeline-failed"),
    "source not allowed": (_not_allowed, "promotion allowed",
                           "prod allows promotion from staging, not dev"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_gate_fails_alone_and_changes_nothing(world: World, case: str) -> None:
    arrange, gate, detail = CASES[case]
    version, source, target = arrange(world)
    result = promotion.promote(world.root, "churn", version, source, target, aws=world.aws)
    failed = [g for g in result.gates if not g.passed]
    assert [g.name for g in failed] == [gate]
    assert detail in failed[0].detail
    assert "fraud" not in failed[0].detail  # only the project's own alarms count
    assert result.outcome == "blocked" and result.target_arn is None
    _nothing_changed(world, target)


def test_all_gates_pass_on_the_happy_path(world: World) -> None:
    version = world.approved()
    result = promotion.promote(world.root, "churn", version.version, "dev", "staging", dry_run=True,
                               aws=world.aws)
    assert [(g.name, g.passed) for g in result.gates] == [(n, True) for n in GATE_NAMES]


def test_missing_threshold_fails_the_metrics_gate(world: World) -> None:
    manifest = world.root / "pipelines" / "churn" / "project.yaml"
    manifest.write_text(manifest.read_text().replace(", staging: 0.75", ""))
    version = world.approved()
    result = promotion.promote(world.root, "churn", version.version, "dev", "staging", aws=world.aws)
    (failed,) = [g for g in result.gates if not g.passed]
    assert failed.name == "metrics meet threshold"
    assert "no approval threshold for staging" in failed.detail


def test_cli_failed_gate_prints_the_table_and_exits_1(world: World,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops.cli import app

    monkeypatch.setenv("MLOPS_ROOT", str(world.root))
    monkeypatch.setattr("mlops.ops.environment.clients", lambda region=None, **_: world.aws)
    version = world.register().version
    runner = CliRunner()
    result = runner.invoke(app, ["models", "promote", "churn", "--version", str(version),
                                 "--from", "dev", "--to", "staging"])
    assert result.exit_code == 1, result.output
    for name in GATE_NAMES:
        assert name in result.stdout
    assert "FAIL" in result.stdout and "not Approved" in result.stdout
    assert "promotion blocked by 1 gate(s): source approved; nothing changed" in result.stderr
    _nothing_changed(world)

    as_json = runner.invoke(app, ["models", "promote", "churn", "--version", str(version),
                                  "--from", "dev", "--to", "staging", "--json"])
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert data["passed"] is False
    assert [g["passed"] for g in data["gates"]] == [True, False, True, True, True, True]
