"""The feature-group replacement guard against featuregroups.lock.json."""

from __future__ import annotations

import json

import pytest

from infra.projects.errors import ProjectError
from infra.projects.loader import LOCK_FILE, load_project, lock_payload


def edit(root, old: str, new: str) -> None:
    path = root / "pipelines" / "churn" / "project.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_examples_match_their_locks(root):
    for name in ("churn", "fraud"):
        project = load_project(root, name)
        locked = json.loads((project.path / LOCK_FILE).read_text())
        assert locked == lock_payload(project.manifest)


def test_adding_a_feature_is_accepted(tmp_root):
    edit(tmp_root, "      - {name: churned, type: Integral}",
         "      - {name: churned, type: Integral}\n      - {name: region, type: String}")
    project = load_project(tmp_root, "churn")
    assert "region" in [f.name for f in project.manifest.feature_groups[0].features]


def test_adding_a_feature_group_is_accepted(tmp_root):
    edit(tmp_root, "pipeline:\n", "  - name: invoices\n    recordIdentifier: id\n"
         "    eventTime: t\n    features:\n      - {name: id, type: String}\n"
         "      - {name: t, type: String}\n\npipeline:\n")
    assert len(load_project(tmp_root, "churn").manifest.feature_groups) == 2


@pytest.mark.parametrize(("old", "new", "key", "fragment"), [
    ("      - {name: support_calls, type: Integral}\n", "",
     "featureGroups[0].features", "removes feature 'support_calls'"),
    ("{name: support_calls, type: Integral}", "{name: support_calls, type: Fractional}",
     "featureGroups[0].features", "retypes feature 'support_calls' from Integral to Fractional"),
    ("recordIdentifier: customer_id", "recordIdentifier: contract_type",
     "featureGroups[0].recordIdentifier", "changed from 'customer_id'"),
    ("eventTime: event_time", "eventTime: total_charges",
     "featureGroups[0].eventTime", "changed from 'event_time'"),
    ("  - name: customers", "  - name: customers2",
     "featureGroups.customers", "removing a deployed feature group deletes it"),
])
def test_replacing_changes_are_refused(tmp_root, old, new, key, fragment):
    edit(tmp_root, old, new)
    with pytest.raises(ProjectError) as info:
        load_project(tmp_root, "churn")
    assert info.value.key == key
    assert fragment in str(info.value)
    assert "create a new versioned group" in str(info.value)


def test_lock_command_records_an_accepted_change(tmp_root, monkeypatch):
    from typer.testing import CliRunner

    import mlops.cli
    from mlops.commands.pipelines import app

    edit(tmp_root, "      - {name: churned, type: Integral}",
         "      - {name: churned, type: Integral}\n      - {name: region, type: String}")
    monkeypatch.setattr(mlops.cli, "ROOT", tmp_root)
    result = CliRunner().invoke(app, ["lock", "churn"])
    assert result.exit_code == 0, result.output
    locked = json.loads((tmp_root / "pipelines" / "churn" / LOCK_FILE).read_text())
    assert locked["customers"]["features"]["region"] == "String"


def test_broken_lock_file(tmp_root):
    (tmp_root / "pipelines" / "churn" / LOCK_FILE).write_text("{not json")
    with pytest.raises(ProjectError, match=r"featuregroups.lock.json:1: invalid JSON"):
        load_project(tmp_root, "churn")
