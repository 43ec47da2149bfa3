"""`mlops export terraform-plan`: Terraform plan JSON that Terraform-plan scanners can read."""

from __future__ import annotations

import json

import pytest

from common import tokens
from mlops.export.terraform import convert_object, snake, terraform_type, to_terraform_plan
from mlops.offline.plan import load_plan
from tests.conftest import ROOT, run_cli, save_plan

DATA = ROOT / "tests" / "policies" / "data"


@pytest.mark.parametrize(("token", "expected"), [
    (tokens.S3_BUCKET, "aws_s3_bucket"),
    (tokens.S3_BUCKET_PUBLIC_ACCESS_BLOCK, "aws_s3_bucket_public_access_block"),
    (tokens.S3_BUCKET_SSE,
     "aws_s3_bucket_server_side_encryption_configuration"),
    (tokens.S3_BUCKET_OBJECT, "aws_s3_object"),
    (tokens.KMS_KEY, "aws_kms_key"),
    (tokens.IAM_ROLE_POLICY, "aws_iam_role_policy"),
    (tokens.METRIC_ALARM, "aws_cloudwatch_metric_alarm"),
    (tokens.SAGEMAKER_FEATURE_GROUP, "aws_sagemaker_feature_group"),
    (tokens.SCHEDULE, "aws_scheduler_schedule"),
    (tokens.SECURE_BUCKET, None),
])
def test_terraform_types(token, expected):
    assert terraform_type(token) == expected


def test_attributes_are_snake_case_blocks_are_lists_maps_stay_maps():
    converted = convert_object({
        "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms",
                                                          "kmsMasterKeyId": "k"},
                   "bucketKeyEnabled": True}],
        "tags": {"mlops:project": "churn"},
        "deletionWindowInDays": 30.0,
    })
    assert converted == {
        "rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms",
                                                               "kms_master_key_id": "k"}],
                  "bucket_key_enabled": True}],
        "tags": {"mlops:project": "churn"},
        "deletion_window_in_days": 30,
    }
    assert snake("kmsMasterKeyId") == "kms_master_key_id"


def test_shipped_plan_exports_with_references(plans):
    doc = to_terraform_plan(plans["prod"], "eu-west-1", {"mlops:environment": "prod"})
    resources = {r["address"]: r for r in doc["planned_values"]["root_module"]["resources"]}
    cloud = [r for r in plans["prod"].custom_resources() if r.type.startswith("aws:")]
    assert len(resources) == len(cloud)
    bucket = resources["aws_s3_bucket.storage_raw_data"]
    assert bucket["values"]["bucket"].startswith("mlops-prod-raw-data-")
    assert bucket["values"]["tags_all"] == {"mlops:environment": "prod"}
    pab = "aws_s3_bucket_public_access_block.storage_raw_data_public_access_block"
    assert resources[pab]["values"]["block_public_acls"] is True
    assert "bucket" not in resources[pab]["values"]  # computed at apply time
    change = next(c for c in doc["resource_changes"] if c["address"] == pab)
    assert change["change"]["actions"] == ["create"]
    assert change["change"]["after_unknown"] == {"bucket": True}
    config = next(c for c in doc["configuration"]["root_module"]["resources"]
                  if c["address"] == pab)
    assert config["expressions"]["bucket"]["references"] == [
        "aws_s3_bucket.storage_raw_data.id", "aws_s3_bucket.storage_raw_data"]
    assert doc["configuration"]["provider_config"]["aws"]["expressions"]["region"] == {
        "constant_value": "eu-west-1"}
    # policies stay in values (scanners read them), with references to what they mention
    policy = resources["aws_s3_bucket_policy.storage_raw_data_policy"]["values"]["policy"]
    assert json.loads(policy)["Statement"][0]["Sid"] == "DenyInsecureTransport"


def test_export_cli_writes_file(plans, monkeypatch, capsys, tmp_path):
    out = tmp_path / "prod.tfplan.json"
    code, stdout, err = run_cli(monkeypatch, capsys, ROOT, "export", "terraform-plan", "--stack",
                                "prod", "--plan", str(save_plan(plans, "prod", tmp_path)),
                                "--output", str(out))
    assert code == 0 and stdout == "" and f"wrote {out}" in err
    doc = json.loads(out.read_text())
    assert doc["format_version"] and doc["planned_values"]["root_module"]["resources"]


def test_export_cli_stdout_and_bad_plan(monkeypatch, capsys, tmp_path):
    code, stdout, _ = run_cli(monkeypatch, capsys, ROOT, "export", "terraform-plan", "--stack",
                              "prod", "--plan", str(DATA / "insecure-plan.json"))
    assert code == 0
    types = {r["type"] for r in json.loads(stdout)["planned_values"]["root_module"]["resources"]}
    assert {"aws_s3_bucket", "aws_sns_topic", "aws_iam_role_policy",
            "aws_sagemaker_feature_group"} <= types
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run_cli(monkeypatch, capsys, ROOT, "export", "terraform-plan", "--stack",
                           "prod", "--plan", str(bad))
    assert code == 2 and err.startswith(f"error: {bad}:1:2: invalid JSON")


def test_insecure_plan_values_carry_the_problems():
    doc = to_terraform_plan(load_plan(DATA / "insecure-plan.json"), "eu-west-1")
    values = {r["address"]: r["values"] for r in doc["planned_values"]["root_module"]["resources"]}
    assert values["aws_sns_topic.alerts"].get("kms_master_key_id") is None
    assert values["aws_s3_bucket_public_access_block.public_data_pab"]["block_public_acls"] is False


def test_policy_documents_given_as_objects_are_exported_as_json_text():
    document = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*",
                                                       "Action": "s3:GetObject"}}
    converted = convert_object({"bucket": "b", "policy": document,
                                "inlinePolicies": [{"name": "x", "policy": document}]})
    assert json.loads(converted["policy"]) == document
    assert json.loads(converted["inline_policy"][0]["policy"]) == document
    assert convert_object({"policy": '{"Statement": []}'})["policy"] == '{"Statement": []}'


@pytest.mark.slow
def test_a_served_plan_exports_what_checkovs_sagemaker_checks_read(tmp_root):
    """CKV_AWS_98 (endpoint configuration KMS), CKV_AWS_370 (model network isolation) and
    CKV_AWS_369-style VPC checks read these attributes of a pinned prod stack."""
    from mlops.offline.runtime import build_plan
    from mlops.ops.pins import write_pin

    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-prod-churn/3"
    write_pin(tmp_root, "prod", "churn", 3, arn)
    plan = build_plan(tmp_root, "prod")
    doc = to_terraform_plan(plan, "eu-west-1", {})
    by_type: dict[str, list[dict]] = {}
    for resource in doc["planned_values"]["root_module"]["resources"]:
        by_type.setdefault(resource["type"], []).append(resource["values"])
    [change] = [c for c in doc["resource_changes"]
                if c["type"] == "aws_sagemaker_endpoint_configuration"]
    [configured] = [r for r in doc["configuration"]["root_module"]["resources"]
                    if r["type"] == "aws_sagemaker_endpoint_configuration"]
    [model] = by_type["aws_sagemaker_model"]
    assert model["enable_network_isolation"] is True
    assert model["primary_container"] == [{"model_package_name": arn}]
    [config] = by_type["aws_sagemaker_endpoint_configuration"]
    # The key is the stack's own: known at apply time, referenced as Terraform would plan it.
    assert change["change"]["after_unknown"]["kms_key_arn"] is True
    assert any(ref.startswith("aws_kms_key.") for ref in
               configured["expressions"]["kms_key_arn"]["references"])
    assert config["production_variants"][0]["instance_type"] == "ml.m5.xlarge"
    assert config["data_capture_config"][0]["kms_key_id"]
    [endpoint] = by_type["aws_sagemaker_endpoint"]
    assert endpoint["deployment_config"][0]["blue_green_update_policy"][0][
        "traffic_routing_configuration"][0]["type"] == "LINEAR"
    assert [t["max_capacity"] for t in by_type["aws_appautoscaling_target"]] == [8]
