"""`make up` / `make destroy` wrap the real Pulumi CLI with the policy pack, and guard prod."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

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
