"""Pins in stack files: round trip keeps comments, order and every other setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import SettingsError
from mlops.offline.runtime import load_settings
from mlops.ops.pins import read_pins, write_pin
from tests.mlops.ops.world import promotion_root

ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-prod-churn/{}"


def test_pin_round_trip_keeps_comments_and_order(tmp_path: Path) -> None:
    root = promotion_root(tmp_path)
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
    root = promotion_root(tmp_path)
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


def test_pin_with_its_artifact_replaces_a_pin_without_one(tmp_path: Path) -> None:
    root = promotion_root(tmp_path)
    sha = "ab" * 32
    uri = f"s3://mlops-prod-model-artifacts-123456789012-eu-west-1/models/churn/{sha}/model.tar.gz"
    write_pin(root, "prod", "churn", 3, ARN.format(3))
    assert write_pin(root, "prod", "churn", 3, ARN.format(3), uri, sha) is True
    text = (root / "stacks" / "Pulumi.prod.yaml").read_text()
    assert text.endswith(f"      version: 3\n      packageArn: {ARN.format(3)}\n"
                         f"      artifactUri: {uri}\n      artifactSha256: {sha}\n")
    assert write_pin(root, "prod", "churn", 3, ARN.format(3), uri, sha) is False
    pinned = load_settings(root, "prod")[0].models["churn"]
    assert (pinned.artifact_uri, pinned.artifact_sha256) == (uri, sha)


def test_pin_on_missing_stack_file_names_it(tmp_path: Path) -> None:
    root = promotion_root(tmp_path)
    with pytest.raises(SettingsError, match=r"stacks/Pulumi.qa.yaml: no such stack file"):
        write_pin(root, "qa", "churn", 1, ARN.format(1))


LAYOUTS = {
    "four-space indent, sequences at offset 0, trailing comment": (
        "# prod\nconfig:\n    aws:region: eu-west-1   # where\n    mlops:types:\n    - a\n"
        "    - \"b\"\n    mlops:dashboard: true\n# the end\n"),
    "comment closing the config block": (
        "config:\n  aws:region: eu-west-1\n  mlops:x: 1\n  # end of config\n"),
    "no newline at the end": "config:\n  aws:region: eu-west-1\n  mlops:x: 1",
    "a top-level key after config": (
        "config:\n  aws:region: eu-west-1\n  mlops:x: |\n    multi\n    line\n\n"
        "# salt\nencryptionsalt: abc\n"),
    "other pins, three-space indent": (
        "config:\n   aws:region: eu-west-1\n   mlops:models:\n      fraud:  # CAB-1\n"
        "         version: 1\n         packageArn: x\n   mlops:x: 1\n"),
    "this project pinned before": (
        "config:\n  aws:region: eu-west-1\n  mlops:models:\n    churn:  # first pin\n"
        "      version: 1  # old\n      packageArn: y\n    fraud:\n      version: 2\n"
        "      packageArn: x\n  mlops:x: 1\n"),
    "flow style (round trip)": (
        "config:\n  aws:region: eu-west-1\n  mlops:models: {fraud: {version: 1, packageArn: x}}\n"
        "  mlops:x: 1\n"),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_pin_changes_only_the_pin_whatever_the_layout(tmp_path: Path, layout: str) -> None:
    import difflib

    from ruamel.yaml import YAML

    text = LAYOUTS[layout]
    (tmp_path / "stacks").mkdir()
    path = tmp_path / "stacks" / "Pulumi.prod.yaml"
    path.write_text(text)
    before = YAML(typ="safe").load(text)
    assert write_pin(tmp_path, "prod", "churn", 3, ARN.format(3)) is True
    after = path.read_text()
    expected = before["config"].get("mlops:models") or {}
    expected = {**expected, "churn": {"version": 3, "packageArn": ARN.format(3)}}
    assert YAML(typ="safe").load(after) == {**before, "config": {**before["config"],
                                                                  "mlops:models": expected}}
    diff = list(difflib.ndiff(text.splitlines(), after.splitlines()))
    removed = [line[2:] for line in diff if line.startswith("- ")]
    added = [line[2:] for line in diff if line.startswith("+ ")]
    # Every comment survives; only the old pin's values (or the one flow line) are replaced.
    assert all("#" not in line or "# old" in line for line in removed), removed
    for line in text.splitlines():
        if "#" in line and "# old" not in line:
            assert line in after.splitlines()
    assert any(ARN.format(3) in line for line in added)
    if "round trip" not in layout:  # a text edit: nothing but the old pin's values goes
        assert set(removed) <= {"      version: 1  # old", "      packageArn: y"}, removed
