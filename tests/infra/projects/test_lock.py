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


def test_adding_a_feature_group_is_accepted(tmp_root):
    edit(tmp_root, "pipeline:\n", NEW_GROUP + "\npipeline:\n")
    assert len(load_project(tmp_root, "churn").manifest.feature_groups) == 2


def test_reordering_features_and_editing_descriptions_are_accepted(tmp_root):
    edit(tmp_root, "      - {name: tenure_months, type: Integral}\n", "")
    edit(tmp_root, "      - {name: churned, type: Integral}",
         "      - {name: churned, type: Integral}\n      - {name: tenure_months, type: Integral}")
    edit(tmp_root, "    description: Customer activity", "    description: Reworded, customer activity")
    assert load_project(tmp_root, "churn").manifest.feature_groups[0].features[-1].name == \
        "tenure_months"


NEW_GROUP = ("  - name: invoices\n    recordIdentifier: id\n    eventTime: t\n    features:\n"
             "      - {name: id, type: String}\n      - {name: t, type: String}\n")


# (old text, new text, key, text on the blamed line, problem fragment)
REPLACING = [
    ("      - {name: support_calls, type: Integral}\n", "",
     "featureGroups[0].features", "    features:", "removes feature 'support_calls'"),
    ("{name: support_calls, type: Integral}", "{name: support_calls, type: Fractional}",
     "featureGroups[0].features[5].type", "support_calls",
     "retypes feature 'support_calls' from Integral to Fractional"),
    ("      - {name: churned, type: Integral}",
     "      - {name: churned, type: Integral}\n      - {name: region, type: String}",
     "featureGroups[0].features[8].name", "region",
     "adds feature 'region': the provider can only add a feature by replacing the group"),
    ("recordIdentifier: customer_id", "recordIdentifier: contract_type",
     "featureGroups[0].recordIdentifier", "recordIdentifier", "changed from 'customer_id'"),
    ("eventTime: event_time", "eventTime: total_charges",
     "featureGroups[0].eventTime", "eventTime", "changed from 'event_time'"),
    ("    online: true\n    ttl: {value: 30, unit: Days}\n", "    online: false\n",
     "featureGroups[0].online", "online: false", "turns the online store off"),
]


@pytest.mark.parametrize(("old", "new", "key", "line_text", "fragment"), REPLACING,
                         ids=["remove", "retype", "add", "record-id", "event-time", "online"])
def test_replacing_changes_are_refused(tmp_root, old, new, key, line_text, fragment):
    edit(tmp_root, old, new)
    with pytest.raises(ProjectError) as info:
        load_project(tmp_root, "churn")
    assert info.value.key == key
    text = (tmp_root / "pipelines" / "churn" / "project.yaml").read_text().splitlines()
    assert line_text in text[info.value.line - 1]
    assert fragment in str(info.value)
    assert "create a new versioned group (e.g. customers-v2)" in str(info.value)
    assert "\n" not in str(info.value)


def test_removing_a_deployed_group_is_refused(tmp_root):
    edit(tmp_root, "  - name: customers", "  - name: customers2")
    with pytest.raises(ProjectError) as info:
        load_project(tmp_root, "churn")
    assert info.value.key == "featureGroups"
    assert "removes the deployed feature group 'customers', which deletes it" in str(info.value)


def test_lock_command_records_a_new_group(tmp_root, monkeypatch):
    from typer.testing import CliRunner

    from mlops.commands.pipelines import app

    edit(tmp_root, "pipeline:\n", NEW_GROUP + "\npipeline:\n")
    monkeypatch.setenv("MLOPS_ROOT", str(tmp_root))
    result = CliRunner().invoke(app, ["lock", "churn"])
    assert result.exit_code == 0, result.output
    locked = json.loads((tmp_root / "pipelines" / "churn" / LOCK_FILE).read_text())
    assert locked["invoices"] == {"recordIdentifier": "id", "eventTime": "t", "online": False,
                                  "features": {"id": "String", "t": "String"}}
    edit(tmp_root, "      - {name: t, type: String}\n",
         "      - {name: t, type: String}\n      - {name: amount, type: Fractional}\n")
    with pytest.raises(ProjectError, match="adds feature 'amount'"):
        load_project(tmp_root, "churn")  # now guarded like the others


def test_broken_lock_file(tmp_root):
    (tmp_root / "pipelines" / "churn" / LOCK_FILE).write_text("{not json")
    with pytest.raises(ProjectError, match=r"featuregroups.lock.json:1: invalid JSON"):
        load_project(tmp_root, "churn")
