"""Checkov as CI runs it: one pinned release, every file hash-checked, each skip documented."""

from __future__ import annotations

import re

import yaml

from tests.conftest import ROOT

CI = ROOT / "ci"


def requirements(text: str) -> dict[str, list[str]]:
    """name==version -> its hashes, from a pip requirements file with --hash lines."""
    entries: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        pinned = re.match(r"^([A-Za-z0-9._-]+==[^\s\\]+)", line)
        if pinned:
            current = pinned.group(1).lower()
            entries[current] = []
        elif current and "--hash=sha256:" in line:
            entries[current].append(line.split("--hash=sha256:")[1].split()[0])
    return entries


def test_the_lock_pins_checkov_of_the_input_with_hashes_for_everything() -> None:
    wanted = re.search(r"^checkov==([\d.]+)$", (CI / "checkov.in").read_text(), re.MULTILINE)
    assert wanted
    locked = requirements((CI / "checkov.lock").read_text())
    assert f"checkov=={wanted.group(1)}" in locked
    assert len(locked) > 50  # the whole dependency closure, not checkov alone
    for name, hashes in locked.items():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name


def test_make_checkov_installs_with_require_hashes_into_its_own_venv() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --require-hashes -r ci/checkov.lock" in makefile
    assert "CHECKOV_VENV  := .cache/checkov-venv" in makefile
    recipe = makefile.split("\ncheckov:", 1)[1].split("\n\n", 1)[0]
    assert "mlops export terraform-plan --stack $(STACK)" in recipe
    assert "--config-file ci/checkov.yaml" in recipe


def test_every_skip_is_a_documented_decision() -> None:
    config = yaml.safe_load((CI / "checkov.yaml").read_text())
    assert config["framework"] == ["terraform_plan"]
    assert config["skip-download"] is True
    security = (ROOT / "docs" / "security.md").read_text()
    assert config["skip-check"]
    for check in config["skip-check"]:
        assert re.search(rf"\| {check} .*\*\*Justified\*\*", security), check
    assert "soft-fail" not in config and "soft-fail-on" not in config  # failures fail the job
