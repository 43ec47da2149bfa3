"""The `mlops` entry point: argument errors are one line and exit 2, never a usage box."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize(("args", "expected"), [
    (["models", "promote", "churn", "--version", "x", "--from", "dev", "--to", "staging"],
     "error: mlops models promote: Invalid value for '--version'"),
    (["models", "promote", "churn", "--from", "dev", "--to", "staging"],
     "error: mlops models promote: Missing option '--version'"),
    (["preview", "--stack"], "error: mlops: Option '--stack' requires an argument"),
    (["preview", "--stack", "dev", "--bogus"], "error: mlops preview: No such option: --bogus"),
    (["no-such-command"], "error: mlops: No such command 'no-such-command'"),
])
def test_argument_errors_are_one_line(monkeypatch, capsys, args, expected) -> None:
    code, out, err = run_cli(monkeypatch, capsys, None, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(expected), lines[0]
    assert lines[0].endswith("--help)")  # says where to look
    assert out == "" and "Traceback" not in err


def test_a_group_without_a_command_shows_its_help(monkeypatch, capsys) -> None:
    code, out, err = run_cli(monkeypatch, capsys, None, "models")
    assert code == 2
    assert "promote" in out and "register" in out
    assert err == ""


def test_help_and_success_exit_zero(monkeypatch, capsys) -> None:
    assert run_cli(monkeypatch, capsys, None, "--help")[0] == 0
    assert run_cli(monkeypatch, capsys, None, "policy", "docs", "--help")[0] == 0


GROUPS = ("pipelines", "policy", "export", "sandbox", "models", "stacks", "endpoints", "drift")


@pytest.mark.parametrize("args", [["--help"], *[[g, "--help"] for g in GROUPS],
                                  ["preview", "--help"], ["pipelines", "diff", "--help"]])
def test_help_reads_cleanly(monkeypatch, capsys, args) -> None:
    code, out, err = run_cli(monkeypatch, capsys, None, *args)
    assert code == 0 and err == ""
    assert "Usage: mlops" in out and "--help  " in out
    assert "<bool>" not in out and "╭" not in out  # no type after flags, no boxes
    described = [line for line in out.splitlines() if not line.startswith("Usage:")]
    assert not [line for line in described if line.rstrip().endswith("...")]  # nothing cut


def test_root_help_lists_every_group_and_the_exit_codes(monkeypatch, capsys) -> None:
    _, out, _ = run_cli(monkeypatch, capsys, None, "--help")
    assert all(f"  {g} " in out for g in GROUPS)
    assert "Exit codes: 0 done; 1 a check failed" in " ".join(out.split())


def test_the_preview_tree_is_not_cut_when_output_is_not_a_terminal(monkeypatch, capsys,
                                                                    plans) -> None:
    import mlops.commands.common as common

    monkeypatch.setattr(common, "plan_for", lambda stack, plan_file=None: plans[stack])
    code, out, _ = run_cli(monkeypatch, capsys, None, "preview", "--stack", "prod")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) > 80
    for resource in plans["prod"].resources:
        assert f"{resource.name} {resource.type}" in out  # every type name whole


def test_exit_code_table() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    from infra.config import SettingsError
    from mlops.errors import EXIT_CHECK_FAILED, EXIT_USAGE, UsageError, classify
    from mlops.offline.plan import PlanFileError
    from mlops.ops.aws import OpsError
    from mlops.specs import IncompleteSpec

    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListModelPackages")
    assert classify(UsageError("--x: bad")) == (EXIT_USAGE, "--x: bad")
    assert classify(SettingsError("stacks/Pulumi.dev.yaml", "aws:region", "missing"))[0] == 2
    assert classify(PlanFileError("p.json: no such file")) == (EXIT_USAGE, "p.json: no such file")
    assert classify(IncompleteSpec("x"))[0] == EXIT_USAGE
    assert classify(OpsError("gate")) == (EXIT_CHECK_FAILED, "gate")
    assert classify(denied) == (EXIT_CHECK_FAILED, "AWS: ListModelPackages: AccessDenied: no")
    assert classify(EndpointConnectionError(endpoint_url="http://x"))[0] == EXIT_CHECK_FAILED
    assert classify(NoCredentialsError())[0] == EXIT_USAGE
    assert classify(RuntimeError("bug")) is None


@pytest.mark.parametrize("args", [
    ["models", "list", "churn", "--stack", "dev"],
    ["pipelines", "status", "churn", "--stack", "dev"],
])
def test_aws_errors_exit_1_in_every_group(monkeypatch, capsys, args) -> None:
    from botocore.exceptions import ClientError

    def refuse(self, operation, params):  # every AWS call is refused, as AWS would
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}},
                          operation)

    monkeypatch.setattr("botocore.client.BaseClient._make_api_call", refuse)
    code, out, err = run_cli(monkeypatch, capsys, None, *args)
    assert code == 1, err
    assert err.startswith("error: AWS: ") and "AccessDenied: not allowed" in err
    assert len(err.strip().splitlines()) == 1


def test_a_bug_is_one_line_not_a_traceback(monkeypatch, capsys) -> None:
    import mlops.commands.common as common

    def broken(stack, plan_file=None):
        raise RuntimeError("something internal")

    monkeypatch.setattr(common, "plan_for", broken)
    code, out, err = run_cli(monkeypatch, capsys, None, "preview", "--stack", "dev")
    assert code == 1 and "Traceback" not in err
    assert err.strip() == ("error: internal error: RuntimeError: something internal (a bug: "
                           "MLOPS_DEBUG=1 shows the traceback)")
