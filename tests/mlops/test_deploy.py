"""`make up` / `make destroy` wrap the real Pulumi CLI with the policy pack, and guard prod."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest

from common import tokens
from mlops.deploy import INSTALL_HINT, pulumi_command, run_pulumi
from mlops.errors import UsageError


@pytest.fixture()
def fake_pulumi(tmp_path: Path, monkeypatch) -> Path:
    """A `pulumi` on PATH that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "pulumi.args"
    script = bin_dir / "pulumi"
    script.write_text(f'#!/bin/sh\necho "$@" > {log}\nexit 0\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_up_runs_pulumi_with_the_policy_pack(root, fake_pulumi):
    assert run_pulumi(root, "up", "staging") == 0
    args = fake_pulumi.read_text().split()
    assert args[:3] == ["up", "--stack", "staging"]
    assert args[args.index("--policy-pack") + 1] == str(root / "policies")


def test_destroy_dev_is_allowed(root, fake_pulumi):
    assert pulumi_command(root, "destroy", "dev")[:3] == ["pulumi", "destroy", "--stack"]


def test_destroy_prod_is_refused_even_with_the_cli(root, fake_pulumi):
    with pytest.raises(UsageError, match="refusing to destroy a prod stack"):
        pulumi_command(root, "destroy", "prod")
    assert not fake_pulumi.exists()


def test_missing_cli_is_one_line_with_install_hint(root, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UsageError) as info:
        pulumi_command(root, "up", "dev")
    assert str(info.value) == INSTALL_HINT
    assert "\n" not in INSTALL_HINT and "get.pulumi.com" in INSTALL_HINT


def test_up_yes_passes_yes_after_the_policy_pack(root, fake_pulumi):
    assert run_pulumi(root, "up", "prod", yes=True) == 0
    args = fake_pulumi.read_text().split()
    assert args[-1] == "--yes" and "--policy-pack" in args
    assert "--yes" not in pulumi_command(root, "up", "prod")


def test_mlops_up_yes_reaches_pulumi(root, fake_pulumi, monkeypatch, capsys):
    from tests.conftest import run_cli

    code, _, _ = run_cli(monkeypatch, capsys, root, "up", "--stack", "dev", "--yes")
    assert code == 0
    assert fake_pulumi.read_text().split()[-1] == "--yes"


# --- mlops stacks drift -------------------------------------------------------------------------

def scripted_pulumi(tmp_path: Path, monkeypatch, output: str, code: int) -> Path:
    """A `pulumi` that records its arguments, prints ``output`` and exits ``code``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "pulumi.args"
    script = bin_dir / "pulumi"
    script.write_text(f'#!/bin/sh\necho "$@" > {log}\ncat <<"OUT"\n{output}\nOUT\nexit {code}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


DRIFT_OUTPUT = f"""Previewing update (prod):
    ~ {tokens.S3_BUCKET_VERSIONING} storage-raw-data-versioning update [diff: ~status]
error: no changes were expected but changes were proposed"""
NEWER_DRIFT_OUTPUT = "error: no changes were expected for preview but changes were proposed"


def test_drift_previews_with_refresh_and_writes_nothing(root, tmp_path, monkeypatch):
    from mlops.deploy import check_drift

    log = scripted_pulumi(tmp_path, monkeypatch, "Resources:\n    89 unchanged", 0)
    result = check_drift(root, "prod", echo=io.StringIO())
    args = log.read_text().split()
    assert args[:4] == ["preview", "--refresh", "--expect-no-changes", "--diff"]
    assert args[args.index("--stack") + 1] == "prod"
    assert not {"up", "--yes", "refresh", "--policy-pack"} & set(args)
    assert (result.drifted, result.failed, result.exit_code) == (False, False, 0)


@pytest.mark.parametrize("output", [DRIFT_OUTPUT, NEWER_DRIFT_OUTPUT])
def test_proposed_changes_are_drift(root, tmp_path, monkeypatch, output):
    from mlops.deploy import check_drift

    scripted_pulumi(tmp_path, monkeypatch, output, 255)
    echo = io.StringIO()
    result = check_drift(root, "prod", echo=echo)
    assert (result.drifted, result.failed, result.exit_code) == (True, False, 255)
    assert output.splitlines()[-1] in echo.getvalue()  # pulumi's output is passed through


def test_a_preview_that_cannot_run_is_a_failure_not_drift(root, tmp_path, monkeypatch):
    from mlops.deploy import check_drift

    scripted_pulumi(tmp_path, monkeypatch, "error: failed to load checkpoint: AccessDenied", 255)
    result = check_drift(root, "dev", echo=io.StringIO())
    assert (result.drifted, result.failed) == (False, True)


@pytest.mark.parametrize(("output", "code", "drifted", "failed", "exit_code"), [
    ("Resources:\n    89 unchanged", 0, False, False, 0),
    (DRIFT_OUTPUT, 255, True, False, 1),
    ("error: no stack named 'prod' found", 255, False, True, 1),
])
def test_mlops_stacks_drift_json_and_exit_codes(root, tmp_path, monkeypatch, capsys, output,
                                                code, drifted, failed, exit_code):
    from tests.conftest import run_cli

    scripted_pulumi(tmp_path, monkeypatch, output, code)
    status, out, err = run_cli(monkeypatch, capsys, root, "stacks", "drift", "--stack", "prod",
                               "--json")
    assert status == exit_code
    report = json.loads(out)
    assert (report["stack"], report["drifted"], report["failed"]) == ("prod", drifted, failed)
    assert report["exitCode"] == code
    assert output.splitlines()[-1] in err


def test_drift_of_a_missing_stack_file_is_a_usage_error(root, tmp_path, monkeypatch, capsys):
    from tests.conftest import run_cli

    log = scripted_pulumi(tmp_path, monkeypatch, "", 0)
    status, _, err = run_cli(monkeypatch, capsys, root, "stacks", "drift", "--stack", "nope")
    assert status == 2 and "stacks/Pulumi.nope.yaml" in err
    assert not log.exists()
