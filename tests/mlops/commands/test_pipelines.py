"""`mlops pipelines ...` end to end: offline commands, and submit/diff/status against moto."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from moto import mock_aws
from typer.testing import CliRunner

from infra.projects.platform_code import PREFIX as PLATFORM_PREFIX
from infra.projects.platform_code import platform_code_files
from mlops.commands.pipelines import app
from tests.conftest import ROOT, boto_client, run_cli
from tests.infra.projects.shapes import shape_problems

runner = CliRunner()


@pytest.fixture
def cli_root(tmp_root, monkeypatch):
    monkeypatch.setenv("MLOPS_ROOT", str(tmp_root))
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
    assert [s["Name"] for s in data["Steps"]][:3] == ["Trigger", "CoolDown", "Train"]  # monitored
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


@pytest.mark.slow  # cold render
def test_new_scaffolds_a_project_that_validates(cli_root):
    result = invoke("new", "demo", "--owner", "me@example.com")
    assert result.exit_code == 0, result.output
    assert json.loads((cli_root / "pipelines" / "demo" / "featuregroups.lock.json").read_text())
    result = invoke("validate", "demo")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("ok ") == 3
    for stack in ("dev", "staging", "prod"):
        rendered = invoke("render", "demo", "--stack", stack)
        assert rendered.exit_code == 0, rendered.output
        assert shape_problems(rendered.stdout) == []
    assert invoke("new", "demo").exit_code != 0  # already exists


@pytest.mark.parametrize(("args", "message"), [
    (("new", "demo", "--owner", "not-an-email"), "pipelines/demo: --owner: must be an email"),
    (("new", "Demo_1"), "pipelines/Demo_1: project names are lowercase letters"),
])
def test_new_refuses_bad_input_and_writes_nothing(tmp_root, args, message):
    before = sorted(p.name for p in (tmp_root / "pipelines").iterdir())
    result = mlops_main(tmp_root, "pipelines", *args)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line
    assert sorted(p.name for p in (tmp_root / "pipelines").iterdir()) == before


def test_schema_writes_docs_and_checks_staleness(cli_root):
    from infra.projects.manifest import schema_json

    assert invoke("schema", "--check").exit_code == 1  # no docs/project.schema.json yet
    result = invoke("schema")
    assert result.exit_code == 0 and "wrote docs/project.schema.json" in result.output
    assert (cli_root / "docs" / "project.schema.json").read_text() == schema_json()
    assert invoke("schema", "--check").exit_code == 0
    assert json.loads(invoke("schema", "--stdout").stdout)["title"] == "mlops-platform project.yaml"


def test_submit_refused_outside_dev(cli_root):
    with mock_aws():
        result = invoke("submit", "churn", "--stack", "staging")
        assert boto_client("sagemaker").list_pipelines()[
            "PipelineSummaries"] == []
    assert "deployments to staging go through `pulumi up`" in str(result.exception)


WORKSPACE = "mlops-dev-pipeline-workspace-123456789012-eu-west-1"
ALIAS_ARN = "arn:aws:kms:eu-west-1:123456789012:alias/mlops-dev"


def dev_environment(endpoint_url: str | None = None) -> str:
    """What the dev stack provides to submit: the workspace bucket and the environment key
    (behind its alias). Returns the key's ARN."""
    import boto3

    boto3.client("s3", region_name="eu-west-1", endpoint_url=endpoint_url).create_bucket(
        Bucket=WORKSPACE, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    kms = boto3.client("kms", region_name="eu-west-1", endpoint_url=endpoint_url)
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/mlops-dev", TargetKeyId=key["KeyId"])
    return str(key["Arn"])


def _values(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _values(value)
    elif isinstance(node, list):
        for value in node:
            yield from _values(value)
    else:
        yield node


@mock_aws
def test_submit_without_the_environment_key_is_refused(cli_root):

    boto_client("s3").create_bucket(
        Bucket=WORKSPACE, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    result = invoke("submit", "churn", "--stack", "dev")
    assert f"{ALIAS_ARN} does not exist here: deploy stack dev first" in str(result.exception)
    assert boto_client("sagemaker").list_pipelines()[
        "PipelineSummaries"] == []
    assert boto_client("s3").list_objects_v2(Bucket=WORKSPACE)[
        "KeyCount"] == 0


@pytest.mark.slow  # runs a whole pipeline end to end
@mock_aws
def test_submit_diff_status_against_moto(cli_root):

    key_arn = dev_environment()
    s3 = boto_client("s3")

    diff = invoke("diff", "churn", "--stack", "dev")
    assert diff.exit_code == 0, diff.output
    assert diff.stdout.startswith("--- /dev/null\n+++ rendered/mlops-dev-churn")

    first = invoke("submit", "churn", "--stack", "dev", "--no-wait")
    assert first.exit_code == 0, first.output
    assert "pipeline mlops-dev-churn: created" in first.stdout
    keys = [o["Key"] for o in s3.list_objects_v2(
        Bucket="mlops-dev-pipeline-workspace-123456789012-eu-west-1")["Contents"]]
    platform = platform_code_files()
    platform_prefix = f"{PLATFORM_PREFIX}/{platform.digest}/"
    project_code = sorted(k.rsplit("/", 1)[1] for k in keys
                          if not k.startswith(platform_prefix))
    assert project_code == ["evaluate.py", "preprocess.py"]
    # The platform's own step code (trigger, drift check) ships beside it, once per digest.
    assert {k for k in keys if k.startswith(platform_prefix)} == {
        platform_prefix + platform.relative(path) for path in platform.files}

    second = invoke("submit", "churn", "--stack", "dev")  # idempotent; follows the execution
    assert second.exit_code == 0, second.output
    assert "pipeline mlops-dev-churn: unchanged" in second.stdout
    assert "status Succeeded" in second.stdout

    sm = boto_client("sagemaker")
    described = sm.describe_pipeline(PipelineName="mlops-dev-churn")
    deployed = json.loads(described["PipelineDefinition"])
    # churn is monitored: the trigger step and the cool-down gate come first; the project's
    # own root step runs inside the gate, the steps after it wait for it at the top level.
    names = [step["Name"] for step in deployed["Steps"]]
    assert names[:2] == ["Trigger", "CoolDown"] and "Train" in names
    inner = deployed["Steps"][1]["Arguments"]["IfSteps"]
    assert [step["Name"] for step in inner] == ["Preprocess"]
    assert described["RoleArn"].endswith("role/mlops-dev-sagemaker-execution")
    # The environment key is deployed by its ARN (aliases are not accepted everywhere).
    train = next(step for step in deployed["Steps"] if step["Name"] == "Train")
    assert train["Arguments"]["ResourceConfig"]["VolumeKmsKeyId"] == key_arn
    assert ALIAS_ARN not in set(_values(deployed))

    same = invoke("diff", "churn", "--stack", "dev", "--exit-code")
    assert (same.exit_code, same.stdout) == (0, "")

    path = cli_root / "pipelines" / "churn" / "project.yaml"
    path.write_text(path.read_text().replace("NumRound: 100", "NumRound: 300"))
    changed = invoke("diff", "churn", "--stack", "dev")
    assert changed.exit_code == 0  # differences exit 1 only with --exit-code, as git diff
    assert invoke("diff", "churn", "--stack", "dev", "--exit-code").exit_code == 1
    assert "-      \"DefaultValue\": 100," in changed.stdout
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
        result = invoke("submit", "churn", "--stack", "dev")
        assert boto_client("sagemaker").list_pipelines()[
            "PipelineSummaries"] == []
    assert "VolumeKmsKeyId: not set" in str(result.exception)


@pytest.fixture
def moto_endpoint(monkeypatch):
    """A moto server on 127.0.0.1 (what `mlops sandbox` runs), reached only via --endpoint-url."""
    from moto.server import ThreadedMotoServer

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.mark.slow  # a real moto server
def test_every_command_works_against_an_endpoint_url(cli_root, moto_endpoint):
    import boto3

    ep = ("--stack", "dev", "--endpoint-url", moto_endpoint)
    dev_environment(moto_endpoint)
    for args in (("validate", "fraud", *ep), ("render", "fraud", *ep), ("diff", "fraud", *ep),
                 ("submit", "fraud", *ep), ("status", "fraud", *ep)):
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.output)
    sm = boto3.client("sagemaker", region_name="eu-west-1", endpoint_url=moto_endpoint)
    [summary] = sm.list_pipeline_executions(PipelineName="mlops-dev-fraud")[
        "PipelineExecutionSummaries"]
    assert summary["PipelineExecutionStatus"] == "Succeeded"
    assert invoke("diff", "fraud", *ep).stdout == ""  # deployed == rendered


class FakeSageMaker:
    """ListPipelineExecutionSteps is not in moto: a small fake of the two calls wait_for makes."""

    def __init__(self, states: list[tuple[str, list[str] | None]]) -> None:
        self.states, self.calls = states, 0

    def describe_pipeline_execution(self, PipelineExecutionArn: str) -> dict:  # noqa: N803
        self.calls += 1
        return {"PipelineExecutionStatus": self.states[min(self.calls, len(self.states)) - 1][0]}

    def list_pipeline_execution_steps(self, PipelineExecutionArn: str) -> dict:  # noqa: N803
        steps = self.states[min(self.calls, len(self.states)) - 1][1]
        if steps is None:
            raise NotImplementedError("list_pipeline_execution_steps")
        return {"PipelineExecutionSteps": [{"StepStatus": s} for s in steps]}


def test_wait_for_reports_step_progress():
    from mlops.ops.pipelines import wait_for

    sm = FakeSageMaker([("Executing", []), ("Executing", ["Succeeded", "Executing"]),
                        ("Executing", ["Succeeded", "Succeeded", "Executing"]),
                        ("Succeeded", ["Succeeded"] * 4)])
    shown: list[str] = []
    assert wait_for(sm, "arn", timeout=60, on_status=shown.append, poll=0) == "Succeeded"
    assert shown == ["Executing (no steps yet)", "Executing (1 executing, 1 succeeded)",
                     "Executing (1 executing, 2 succeeded)", "Succeeded"]


def test_wait_for_without_step_listing_shows_status_only():
    from mlops.ops.pipelines import wait_for

    sm = FakeSageMaker([("Executing", None), ("Executing", None), ("Failed", None)])
    shown: list[str] = []
    assert wait_for(sm, "arn", timeout=60, on_status=shown.append, poll=0) == "Failed"
    assert shown == ["Executing", "Executing", "Failed"]


def _edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


# (id, file under pipelines/churn, old text, new text, validate's exit code, message fragment)
MALFORMED = [
    ("yaml-syntax", "project.yaml", "owner: churn-team@example.com", "owner: [oops", 2,
     "pipelines/churn/project.yaml:4: invalid YAML"),
    ("unknown-key", "project.yaml", "  schedule:", "  shedule:", 2,
     "project.yaml:26: pipeline.shedule: unknown key"),
    ("bad-feature-type", "project.yaml", "{name: support_calls, type: Integral}",
     "{name: support_calls, type: Long}", 2, "features[5].type: must be one of"),
    ("duplicate-feature", "project.yaml", "{name: support_calls, type: Integral}",
     "{name: tenure_months, type: Integral}", 2, "duplicate feature 'tenure_months'"),
    ("retyped-feature", "project.yaml", "{name: churned, type: Integral}",
     "{name: churned, type: String}", 2, "create a new versioned group"),
    ("disallowed-instance", "project.yaml", "dev: ml.m5.large,", "dev: ml.p3.2xlarge,", 2,
     "project.yaml:32: pipeline.instanceType.dev: ml.p3.2xlarge is not allowed in stack dev"),
    ("missing-build", "pipeline.py", "def build(ctx: ProjectContext)", "def make(ctx: ProjectContext)",
     2, "pipelines/churn/pipeline.py: build: defines no function build(ctx)"),
    ("build-raises", "pipeline.py", "    fg = ctx.feature_groups[\"customers\"]",
     "    fg = ctx.feature_groups[\"clients\"]", 2, "build(): raised KeyError: 'clients'"),
    ("wrong-return", "pipeline.py", "    return Pipeline(", "    return dict(", 2,
     "build(): must return a sagemaker.mlops.workflow.Pipeline (got dict)"),
    ("missing-kms", "pipeline.py", "volume_kms_key=ctx.kms_key_arn, output_kms_key", "output_kms_key",
     1, "step Preprocess: ProcessingResources.ClusterConfig.VolumeKmsKeyId: not set"),
]


@pytest.mark.slow  # cold render
@pytest.mark.parametrize(("file", "old", "new", "code", "message"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
@mock_aws
def test_malformed_project_is_one_line_and_nothing_is_submitted(cli_root, capsys, monkeypatch,
                                                               file, old, new, code, message):

    dev_environment()
    bucket, s3 = WORKSPACE, boto_client("s3")
    _edit(cli_root / "pipelines" / "churn" / file, old, new)

    status, stdout, stderr = run_cli(monkeypatch, capsys, None,
                                     "pipelines", "validate", "churn", "--stack", "dev")
    assert status == code
    lines = (stderr if code == 2 else stdout).strip().splitlines()
    assert len(lines) == 1 and message in lines[0], (stdout, stderr)
    assert "Traceback" not in stderr + stdout

    status, _, stderr = run_cli(monkeypatch, capsys, None,
                                "pipelines", "submit", "churn", "--stack", "dev")
    assert status == 2 and "Traceback" not in stderr
    [line] = stderr.strip().splitlines()
    assert message.split(": ", 1)[-1] in line
    assert boto_client("sagemaker").list_pipelines()[
        "PipelineSummaries"] == []
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
