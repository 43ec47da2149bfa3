"""The platform's shared step code: which files, the prefix the context names, its uploads, and
the churn pipeline that mounts it to register a drift baseline."""

from __future__ import annotations

import json
import shutil

import pytest

from common import tokens
from infra.projects import platform_code
from infra.projects.loader import context_for, load_project
from infra.projects.platform_code import platform_code_files
from infra.projects.render import cache_key
from mlops.offline.runtime import load_settings
from mlops.ops.pipelines import naming_for
from tests.conftest import SHIPPED_STACKS

WORKSPACE = "s3://mlops-dev-pipeline-workspace-123456789012-eu-west-1"


def _steps(definition: str) -> dict[str, dict]:
    out = {}
    for step in json.loads(definition)["Steps"]:
        out[step["Name"]] = step
        if step["Type"] == "Condition":
            for inner in step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"]:
                out[inner["Name"]] = inner
    return out


def test_the_files_are_drift_code_without_package_markers_or_caches(tmp_path):
    shared = platform_code_files()
    names = {shared.relative(p) for p in shared.files}
    assert "baseline.py" in names
    assert not {n for n in names if n.endswith("__init__.py") or "__pycache__" in n
                or n.endswith(".pyc")}
    assert shared.folder == platform_code.CODE_DIR
    folder = tmp_path / "code"
    (folder / "__pycache__").mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "__pycache__" / "baseline.cpython-311.pyc").write_bytes(b"\0")
    (folder / "baseline.py").write_text("x = 1\n")
    local = platform_code_files(folder)
    assert [local.relative(p) for p in local.files] == ["baseline.py"]
    assert local.prefix("s3://ws") == f"s3://ws/_platform/code/{local.hash[:12]}"
    assert local.prefix("ws") == local.prefix("s3://ws")


def test_a_changed_platform_file_is_a_new_prefix_and_a_new_render(tmp_root, tmp_path,
                                                                     monkeypatch):
    settings, _ = load_settings(tmp_root, "dev")
    project = load_project(tmp_root, "churn")
    ctx = context_for(project, settings, naming_for(settings, "dev"))
    assert ctx.platform_code_uri == f"{WORKSPACE}/_platform/code/{platform_code_files().hash[:12]}"
    assert ctx.platform_code("baseline.py") == f"{ctx.platform_code_uri}/baseline.py"
    assert ctx.platform_code() == ctx.platform_code_uri

    copy = tmp_path / "drift-code"
    shutil.copytree(platform_code.CODE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(platform_code, "CODE_DIR", copy)
    same = context_for(project, settings, naming_for(settings, "dev"))
    assert same.platform_code_uri == ctx.platform_code_uri  # same content, same prefix
    (copy / "baseline.py").write_text((copy / "baseline.py").read_text() + "# changed\n")
    changed = context_for(project, settings, naming_for(settings, "dev"))
    assert changed.platform_code_uri != ctx.platform_code_uri
    assert changed.platform_code_uri.startswith(f"{WORKSPACE}/_platform/code/")
    assert cache_key(project, changed) != cache_key(project, ctx)  # re-rendered


def test_a_context_without_the_prefix_refuses_to_name_platform_files(rendered):
    from dataclasses import replace

    ctx = replace(rendered[("dev", "churn")].context, platform_code_uri="")
    with pytest.raises(ValueError, match="platform_code_uri"):
        ctx.platform_code("baseline.py")


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_churn_registers_its_baseline_as_drift_check_baselines(rendered, stack):
    prepared = rendered[(stack, "churn")]
    steps = _steps(prepared.definition)
    evaluate = steps["Evaluate"]["Arguments"]
    inputs = {i["InputName"]: i["S3Input"] for i in evaluate["ProcessingInputs"]}
    assert inputs["platform"]["S3Uri"] == prepared.context.platform_code_uri
    assert inputs["platform"]["LocalPath"] == "/opt/ml/processing/input/platform"
    assert inputs["train"]["S3Uri"] == {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}
    outputs = {o["OutputName"]: o["S3Output"] for o in evaluate["ProcessingOutputConfig"]["Outputs"]}
    assert outputs["baseline"]["LocalPath"] == "/opt/ml/processing/baseline"
    register = steps["Register"]["Arguments"]
    assert register["DriftCheckBaselines"] == {"ModelDataQuality": {"Statistics": {
        "ContentType": "application/json",
        "S3Uri": {"Std:Join": {"On": "/", "Values": [
            {"Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"},
            "baseline.json"]}}}}}
    # Training reads only the label-first CSVs: columns.json goes to the test output only.
    preprocess = {o["OutputName"] for o in
                  steps["Preprocess"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]}
    assert preprocess == {"train", "validation", "test"}


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_each_stack_uploads_the_platform_code_once_encrypted(plans, stack):
    plan = plans[stack]
    shared = platform_code_files()
    objects = [r for r in plan.of_type(tokens.S3_BUCKET_OBJECT)
               if r.inputs["key"].startswith("_platform/code/")]
    prefix = f"_platform/code/{shared.hash[:12]}"
    assert sorted(o.inputs["key"] for o in objects) == sorted(
        f"{prefix}/{shared.relative(p)}" for p in shared.files)  # once, not per project
    (key,) = plan.of_type(tokens.KMS_KEY)
    for obj in objects:
        assert obj.inputs["serverSideEncryption"] == "aws:kms"
        assert key.urn in obj.property_dependencies["kmsKeyId"]
        assert obj.inputs["bucket"].startswith(f"mlops-{stack}-pipeline-workspace-")
    for pipeline in plan.of_type(tokens.SAGEMAKER_PIPELINE):
        assert {o.urn for o in objects} <= set(pipeline.dependencies)


def test_it_unpacks_as_files_and_the_prefix_digest():
    shared = platform_code_files()
    files, digest = shared
    assert files == shared.files and digest == shared.hash[:12] == shared.digest
    assert shared.prefix("ws").endswith(f"/_platform/code/{digest}")
