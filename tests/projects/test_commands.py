"""`mlops pipelines ...` end to end: offline commands, and submit/diff/status against moto."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from moto import mock_aws
from typer.testing import CliRunner

import mlops.cli
from mlops.commands.pipelines import app
from tests.conftest import ROOT

runner = CliRunner()


@pytest.fixture
def cli_root(tmp_root, monkeypatch):
    monkeypatch.setattr(mlops.cli, "ROOT", tmp_root)
    return tmp_root


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=True)


def mlops_main(root, *args: str) -> subprocess.CompletedProcess:
    """The console script as a person runs it (one-line errors, exit codes)."""
    return subprocess.run(
        [sys.executable, "-c", "from mlops.cli import main; main()", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**__import__("os").environ, "MLOPS_ROOT": str(root)},
    )


def test_render_prints_pretty_deterministic_json(cli_root):
    first = invoke("render", "churn", "--stack", "dev")
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert [s["Name"] for s in data["Steps"]][:2] == ["Preprocess", "Train"]
    assert invoke("render", "churn", "--stack", "dev").stdout == first.stdout


def test_validate_reports_findings_with_exit_1(cli_root):
    path = cli_root / "pipelines" / "fraud" / "pipeline.py"
    path.write_text(path.read_text().replace('approval_status="PendingManualApproval"',
                                             'approval_status="Approved"'))
    result = invoke("validate", "fraud", "--stack", "staging")
    assert result.exit_code == 1
    assert ("FAIL staging: fraud: step Register: ModelApprovalStatus: Approved must be "
            "PendingManualApproval") in result.stdout


def test_validate_all_ok(cli_root):
    result = invoke("validate")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("ok ") == 6


def test_bad_project_is_one_line_exit_2(tmp_root):
    path = tmp_root / "pipelines" / "churn" / "project.yaml"
    path.write_text(path.read_text() + "unknownKey: 1\n")
    result = mlops_main(tmp_root, "pipelines", "validate", "churn", "--stack", "dev")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: pipelines/churn/project.yaml:{len(path.read_text().splitlines())}: "
        "unknownKey: unknown key"]
    assert "Traceback" not in result.stderr


def test_new_scaffolds_a_project_that_validates(cli_root):
    result = invoke("new", "demo", "--owner", "me@example.com")
    assert result.exit_code == 0, result.output
    result = invoke("validate", "demo")
    assert result.exit_code == 0, result.output
    assert invoke("new", "demo").exit_code != 0  # already exists


def test_schema_check(cli_root):
    (cli_root / "docs").mkdir()
    assert invoke("schema", "--check").exit_code == 1
    assert invoke("schema", "--write").exit_code == 0
    assert invoke("schema", "--check").exit_code == 0


def test_submit_refused_outside_dev(cli_root):
    with mock_aws():
        result = invoke("submit", "churn", "--stack", "staging")
        import boto3
        assert boto3.client("sagemaker", region_name="eu-west-1").list_pipelines()[
            "PipelineSummaries"] == []
    assert "deployments to staging go through `pulumi up`" in str(result.exception)


@mock_aws
def test_submit_diff_status_against_moto(cli_root):
    import boto3

    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="mlops-dev-pipeline-workspace-123456789012-eu-west-1",
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    diff = invoke("diff", "churn", "--stack", "dev")
    assert diff.exit_code == 0, diff.output
    assert diff.stdout.startswith("--- /dev/null\n+++ rendered/mlops-dev-churn")

    first = invoke("submit", "churn", "--stack", "dev", "--no-wait")
    assert first.exit_code == 0, first.output
    assert "pipeline mlops-dev-churn: created" in first.stdout
    keys = [o["Key"] for o in s3.list_objects_v2(
        Bucket="mlops-dev-pipeline-workspace-123456789012-eu-west-1")["Contents"]]
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == ["evaluate.py", "preprocess.py"]

    second = invoke("submit", "churn", "--stack", "dev")  # idempotent; follows the execution
    assert second.exit_code == 0, second.output
    assert "pipeline mlops-dev-churn: unchanged" in second.stdout
    assert "status Succeeded" in second.stdout

    sm = boto3.client("sagemaker", region_name="eu-west-1")
    described = sm.describe_pipeline(PipelineName="mlops-dev-churn")
    assert json.loads(described["PipelineDefinition"])["Steps"][0]["Name"] == "Preprocess"
    assert described["RoleArn"].endswith("role/mlops-dev-sagemaker-execution")

    assert invoke("diff", "churn", "--stack", "dev").stdout == ""

    path = cli_root / "pipelines" / "churn" / "project.yaml"
    path.write_text(path.read_text().replace("NumRound: 200", "NumRound: 300"))
    changed = invoke("diff", "churn", "--stack", "dev")
    assert "-      \"DefaultValue\": 200," in changed.stdout
    assert "+      \"DefaultValue\": 300," in changed.stdout
    third = invoke("submit", "churn", "--stack", "dev", "--no-wait")
    assert "pipeline mlops-dev-churn: updated" in third.stdout

    status = invoke("status", "churn", "--stack", "dev")
    assert status.exit_code == 0, status.output
    assert status.stdout.count("Succeeded") + status.stdout.count("Executing") == 3


def test_rule_findings_block_submit(cli_root):
    path = cli_root / "pipelines" / "churn" / "pipeline.py"
    path.write_text(path.read_text().replace("volume_kms_key=ctx.kms_key_arn, output_kms_key",
                                             "output_kms_key", 1))
    with mock_aws():
        import boto3
        result = invoke("submit", "churn", "--stack", "dev")
        assert boto3.client("sagemaker", region_name="eu-west-1").list_pipelines()[
            "PipelineSummaries"] == []
    assert "VolumeKmsKeyId: not set" in str(result.exception)
