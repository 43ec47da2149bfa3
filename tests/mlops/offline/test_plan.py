"""Saved plans for `--plan`: the Plan of mlops preview, pulumi's own JSON, hand-written ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common import tokens
from mlops.offline.plan import PlanFileError, load_plan

BUCKET = tokens.S3_BUCKET


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    return path


def test_the_plan_of_mlops_preview_round_trips(plans, tmp_path):
    path = tmp_path / "prod.json"
    path.write_text(plans["prod"].to_json())
    loaded = load_plan(path, "prod")
    assert loaded.to_dict() == plans["prod"].to_dict()


def test_hand_written_resources_get_urn_name_and_stack(tmp_path):
    path = write(tmp_path, {"resources": [
        {"type": BUCKET, "name": "data", "inputs": {"bucket": "d"}},
        {"type": BUCKET, "urn": f"urn:pulumi:x::p::{tokens.S3_BUCKET}::logs", "props": {}},
    ]})
    plan = load_plan(path, "prod")
    assert plan.stack == "prod" and plan.project == "mlops-platform"
    assert [(r.name, r.urn, r.inputs) for r in plan.resources] == [
        ("data", f"urn:pulumi:prod::mlops-platform::{tokens.S3_BUCKET}::data", {"bucket": "d"}),
        ("logs", f"urn:pulumi:x::p::{tokens.S3_BUCKET}::logs", {}),
    ]
    bare = write(tmp_path, [{"type": BUCKET, "name": "b"}])
    assert [r.name for r in load_plan(bare, "dev").resources] == ["b"]


def test_pulumi_preview_json_steps(tmp_path):
    urn = f"urn:pulumi:prod::mlops-platform::{tokens.S3_BUCKET}::data"
    path = write(tmp_path, {"steps": [
        {"op": "create", "urn": urn, "newState": {
            "urn": urn, "type": BUCKET, "custom": True, "inputs": {"bucket": "d"},
            "propertyDependencies": {"bucket": []}, "protect": True}},
        {"op": "delete", "urn": f"urn:pulumi:prod::p::{tokens.S3_BUCKET}::gone",
         "oldState": {}},
    ]})
    [resource] = load_plan(path, "prod").resources
    assert (resource.name, resource.protect, resource.inputs) == ("data", True, {"bucket": "d"})


def test_pulumi_stack_export(tmp_path):
    stack_urn = f"urn:pulumi:prod::p::{tokens.STACK}::p-prod"
    path = write(tmp_path, {"version": 3, "deployment": {"resources": [
        {"urn": stack_urn, "type": tokens.STACK, "custom": False},
        {"urn": f"urn:pulumi:prod::p::{tokens.SNS_TOPIC}::alerts", "type": tokens.SNS_TOPIC,
         "custom": True, "inputs": {"name": "alerts"}, "parent": stack_urn},
    ]}})
    plan = load_plan(path, "prod")
    assert [r.name for r in plan.custom_resources()] == ["alerts"]


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "invalid JSON"),
    ('{"resources": "nope"}', "resources: missing"),
    ('"just a string"', "expected a JSON object with 'resources'"),
    ('{"resources": [42]}', "resources[0]: expected an object"),
    ('{"resources": [{"name": "x"}]}', "resources[0].type: missing"),
    (json.dumps({"resources": [{"type": tokens.SNS_TOPIC}]}), "resources[0].name: missing"),
    (json.dumps({"resources": [{"type": tokens.SNS_TOPIC, "name": "t", "inputs": [1]}]}),
     "resources[0].inputs: Input should be a valid dictionary"),
])
def test_bad_plans_are_one_line_naming_the_key(tmp_path, content, message):
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(PlanFileError) as info:
        load_plan(path, "prod")
    text = str(info.value)
    assert text.startswith(f"{path}") and message in text and "\n" not in text


def test_missing_and_directory_plans(tmp_path):
    with pytest.raises(PlanFileError, match="no such file"):
        load_plan(tmp_path / "absent.json", "prod")
    with pytest.raises(PlanFileError, match="is a directory"):
        load_plan(tmp_path, "prod")
