"""Pins in stack files: round trip keeps comments, order and every other setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import SettingsError
from mlops.offline.runtime import load_settings
from mlops.ops.pins import read_pins, write_pin

from .conftest import make_root

ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-prod-churn/{}"


def test_pin_round_trip_keeps_comments_and_order(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    path = root / "stacks" / "Pulumi.prod.yaml"
    path.write_text(path.read_text().replace(
        "  mlops:promotion:\n", "  # promotion into prod: staging only\n  mlops:promotion:\n"))
    before = path.read_text()

    assert write_pin(root, "prod", "churn", 3, ARN.format(3)) is True
    after = path.read_text()
    assert after.startswith(before)  # everything before is byte-identical, the pin is appended
    assert "# prod: serves customers." in after
    assert "  # promotion into prod: staging only\n" in after
    assert "allowFrom: [staging]" in after  # flow style kept
    assert after[len(before):] == (
        "  mlops:models:\n    churn:\n      version: 3\n"
        f"      packageArn: {ARN.format(3)}\n")

    settings, _ = load_settings(root, "prod")  # the pin is a valid setting
    assert settings.models["churn"].version == 3
    assert settings.models["churn"].package_arn == ARN.format(3)


def test_pin_is_idempotent_and_replaces_only_its_project(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    write_pin(root, "prod", "churn", 1, ARN.format(1))
    write_pin(root, "prod", "fraud", 2, ARN.format(2))
    path = root / "stacks" / "Pulumi.prod.yaml"
    snapshot = path.read_text()
    assert write_pin(root, "prod", "churn", 1, ARN.format(1)) is False
    assert path.read_text() == snapshot
    assert write_pin(root, "prod", "churn", 4, ARN.format(4)) is True
    assert read_pins(root, "prod") == {
        "churn": {"version": 4, "packageArn": ARN.format(4)},
        "fraud": {"version": 2, "packageArn": ARN.format(2)},
    }
    assert path.read_text().index("churn:") < path.read_text().index("fraud:")


def test_pin_on_missing_stack_file_names_it(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    with pytest.raises(SettingsError, match=r"stacks/Pulumi.qa.yaml: no such stack file"):
        write_pin(root, "qa", "churn", 1, ARN.format(1))
