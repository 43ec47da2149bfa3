"""`mlops models ...` end to end on moto: output, exit codes, one-line errors."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests.conftest import run_cli
from tests.mlops.ops.world import World


@pytest.fixture()
def cli(world: World, monkeypatch: pytest.MonkeyPatch, capsys):
    """`mlops models ARGS` through the console-script entry (its exit codes and error lines)."""
    monkeypatch.setattr("mlops.ops.environment.clients", lambda region=None, **_: world.aws)
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> SimpleNamespace:
        code, stdout, stderr = run_cli(monkeypatch, capsys, world.root, "models", *args)
        return SimpleNamespace(exit_code=code, stdout=stdout, stderr=stderr,
                               output=stdout + stderr)

    return run


def test_register_approve_promote_list(world: World, cli) -> None:
    reg = cli("register", "churn", "--stack", "dev", "--artifact", str(world.artifact),
              "--metrics", str(world.metrics))
    assert reg.exit_code == 0, reg.output
    assert "registered churn v1 in dev: PendingManualApproval" in reg.stdout
    assert "auc=0.91, f1=0.84" in reg.stdout

    ok = cli("approve", "churn", "--version", "1", "--stack", "dev", "--reason", "offline eval ok")
    assert ok.exit_code == 0, ok.output
    assert "churn v1 in dev: Approved (approved by alice@example.com: offline eval ok)" in ok.stdout

    dry = cli("promote", "churn", "--version", "1", "--from", "dev", "--to", "staging", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "(dry run)" in dry.stdout and "planned changes (none made):" in dry.stdout
    assert world.packages("staging") == []

    done = cli("promote", "churn", "--version", "1", "--from", "dev", "--to", "staging")
    assert done.exit_code == 0, done.output
    assert "promoted: arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-staging-churn/1" \
        in done.stdout
    assert "pinned in stacks/Pulumi.staging.yaml" in done.stdout
    again = cli("promote", "churn", "--version", "1", "--from", "dev", "--to", "staging")
    assert again.exit_code == 0
    assert "already promoted, nothing changed" in again.stdout
    assert "pin already up to date" in again.stdout

    listed = cli("list", "churn", "--stack", "staging", "--json")
    assert listed.exit_code == 0, listed.output
    (item,) = json.loads(listed.stdout)
    assert item["version"] == 1 and item["status"] == "PendingManualApproval"
    assert item["metrics"] == {"auc": 0.91, "f1": 0.84}
    assert item["source"]["kind"] == "promotion"
    assert (item["source"]["stack"], item["source"]["version"]) == ("dev", 1)
    assert item["source"]["packageArn"].endswith("mlops-dev-churn/1")
    assert item["arn"].endswith("mlops-staging-churn/1")

    table = cli("list", "churn", "--stack", "staging")
    assert table.exit_code == 0 and "promoted from dev v1" in table.stdout

    rej = cli("reject", "churn", "--version", "1", "--stack", "staging", "--reason", "drift")
    assert rej.exit_code == 0 and "Rejected" in rej.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["list", "churn", "--stack", "qa"], "stacks/Pulumi.qa.yaml: no such stack file"),
    (["list", "nope", "--stack", "dev"], "pipelines/nope/project.yaml"),
    (["approve", "churn", "--version", "4", "--stack", "dev"],
     "churn version 4 not found in mlops-dev-churn (stack dev; versions: none)"),
    (["register", "churn", "--stack", "dev", "--artifact", "/no/such/model.tar.gz",
      "--metrics", "{metrics}"], "/no/such/model.tar.gz: no such artifact file"),
    (["register", "churn", "--stack", "dev", "--artifact", "{artifact}",
      "--metrics", "/no/metrics.json"], "/no/metrics.json: no such metrics file"),
    (["promote", "churn", "--version", "1", "--from", "dev", "--to", "dev"],
     "--from and --to are the same stack (dev)"),
])
def test_bad_input_is_one_line_and_exit_2(world: World, cli, args: list[str], message: str) -> None:
    args = [a.format(metrics=world.metrics, artifact=world.artifact) for a in args]
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: {message}" or message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_unprovisioned_group_is_one_line(world: World, cli) -> None:
    (world.root / "pipelines" / "fraud").mkdir()
    (world.root / "pipelines" / "fraud" / "project.yaml").write_text(
        (world.root / "pipelines" / "churn" / "project.yaml").read_text().replace("churn", "fraud"))
    result = cli("list", "fraud", "--stack", "prod")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: stack prod: model package group mlops-prod-fraud "
                                     "not found (is project fraud deployed to prod?)")


def test_aws_failure_is_one_line_exit_1(world: World, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    monkeypatch.setattr(world.aws, "identity", lambda: (_ for _ in ()).throw(ClientError(
        {"Error": {"Code": "ExpiredToken", "Message": "token expired"}}, "GetCallerIdentity")))
    result = cli("list", "churn", "--stack", "dev")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: AWS: GetCallerIdentity: ExpiredToken: token expired"


def test_the_gate_table_is_out_before_the_action_fails(world: World, cli,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops.ops import promotion_apply
    from mlops.ops.aws import OpsError
    from mlops.ops.gates import GATES

    world.approved()

    def fail(*args, **kwargs):
        raise OpsError("copy failed: injected")

    monkeypatch.setattr(promotion_apply, "_create_promoted", fail)
    result = cli("promote", "churn", "--version", "1", "--from", "dev", "--to", "staging")
    assert result.exit_code == 1, result.output
    for name, _ in GATES:
        assert name in result.stdout
    assert result.stderr.strip() == "error: copy failed: injected"
    assert world.packages("staging") == []
