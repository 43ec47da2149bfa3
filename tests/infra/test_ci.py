"""The CI identity program's settings: every mistake is one line naming the file and the key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from infra.ci import ci_args, program_file
from infra.config import SettingsError
from tests.conftest import ROOT

ACCOUNT = "123456789012"
SOURCE = program_file("ci")
GOOD = {"aws:region": "eu-west-1", "mlops-ci:repository": "acme/mlops-platform"}


def args(config: dict[str, Any], root: Path = ROOT, account: str = ACCOUNT):  # type: ignore[no-untyped-def]
    return ci_args({**GOOD, **config}, root, SOURCE, account)


def test_the_shipped_stacks_become_three_targets() -> None:
    built = args({})
    assert [t.stack for t in built.targets] == ["dev", "staging", "prod"]
    by_stack = {t.stack: t for t in built.targets}
    assert [n.stack for n in by_stack["prod"].promote_from] == ["staging"]
    assert [n.stack for n in by_stack["staging"].promote_from] == ["dev"]
    assert by_stack["dev"].promote_from == ()
    assert by_stack["prod"].environment_tag == "prod" and by_stack["prod"].retains_stateful
    assert built.naming.stem == "mlops-ci" and built.default_branch == "main"
    assert built.create_provider


@pytest.mark.parametrize(("config", "key", "problem"), [
    ({"mlops-ci:repository": None}, "mlops-ci:repository", "required"),
    ({"mlops-ci:repository": "acme"}, "mlops-ci:repository", "owner/name"),
    ({"mlops-ci:repository": "acme/*"}, "mlops-ci:repository", "owner/name"),
    ({"aws:region": "europe"}, "aws:region", "required"),
    ({"mlops-ci:stack": "[]"}, "mlops-ci:stack", "unknown setting"),
    ({"mlops-ci:stacks": "[]"}, "mlops-ci:stacks", "non-empty list"),
    ({"mlops-ci:stacks": '["dev", "ci"]'}, "mlops-ci:stacks", "cannot be named 'ci'"),
    ({"mlops-ci:environments": '{"qa": "qa"}'}, "mlops-ci:environments.qa",
     "not one of mlops-ci:stacks"),
    ({"mlops-ci:environments": '{"prod": "prod*"}'}, "mlops-ci:environments.prod",
     "not a GitHub environment name"),
    ({"mlops-ci:createOidcProvider": "maybe"}, "mlops-ci:createOidcProvider", "true or false"),
    ({"mlops-ci:defaultBranch": "main branch"}, "mlops-ci:defaultBranch", "not a branch"),
    ({"mlops-ci:namePrefix": "MLOps"}, "mlops-ci:namePrefix", "lower-case"),
    ({"mlops-ci:namePrefix": "platform-team01", "aws:region": "ap-southeast-2"},
     "mlops-ci:namePrefix", "bucket names of 64 characters"),
])
def test_bad_settings_name_the_key(config: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(SettingsError) as info:
        args(config)
    assert (info.value.source, info.value.key) == (SOURCE, key)
    assert problem in info.value.problem
    assert "\n" not in str(info.value)


def test_a_missing_stack_file_is_named() -> None:
    with pytest.raises(SettingsError, match=r"stacks/Pulumi\.qa\.yaml: no such stack file"):
        args({"mlops-ci:stacks": '["qa"]'})


def copy_root(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    return tmp_path


def test_stacks_whose_names_overlap_are_refused(tmp_path: Path) -> None:
    root = copy_root(tmp_path)
    shutil.copy(root / "stacks/Pulumi.dev.yaml", root / "stacks/Pulumi.dev-2.yaml")
    with pytest.raises(SettingsError, match=r"mlops-dev-2-\*\) fall under those of stack dev"):
        args({"mlops-ci:stacks": json.dumps(["dev", "dev-2"])}, root)


def test_a_stack_without_its_environment_tag_is_refused(tmp_path: Path) -> None:
    root = copy_root(tmp_path)
    path = root / "stacks/Pulumi.staging.yaml"
    path.write_text(path.read_text().replace("      mlops:environment: staging\n", ""))
    with pytest.raises(SettingsError) as info:
        args({}, root)
    assert (info.value.source, info.value.key) == ("stacks/Pulumi.staging.yaml",
                                                    "aws:defaultTags.tags")


def test_a_stack_of_another_account_is_refused(tmp_path: Path) -> None:
    root = copy_root(tmp_path)
    path = root / "stacks/Pulumi.prod.yaml"
    path.write_text(path.read_text().replace("  mlops:accountMode: single\n",
                                             "  mlops:accountMode: single\n"
                                             "  mlops:accountId: '210987654321'\n"))
    with pytest.raises(SettingsError, match="stack prod is in account 210987654321"):
        args({}, root)
    assert [t.stack for t in args({"mlops-ci:stacks": '["prod"]'}, root,
                                  account="210987654321").targets] == ["prod"]


def test_a_bad_platform_stack_file_is_reported_as_the_platform_reports_it(tmp_path: Path) -> None:
    root = copy_root(tmp_path)
    path = root / "stacks/Pulumi.dev.yaml"
    path.write_text(path.read_text().replace("mlops:retentionDays: 30", "mlops:retentionDays: -1"))
    with pytest.raises(SettingsError) as info:
        args({}, root)
    assert (info.value.source, info.value.key) == ("stacks/Pulumi.dev.yaml", "mlops:retentionDays")
