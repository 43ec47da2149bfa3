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
