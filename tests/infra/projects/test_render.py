"""Rendering with the SageMaker SDK: both examples in every stack, cache, broken modules."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from infra.projects.errors import ProjectError
from infra.projects.loader import context_for, load_project
from infra.projects.render import CACHE_ENV, cache_key, render
from mlops.offline.runtime import load_settings
from mlops.ops.pipelines import naming_for, prepare
from tests.conftest import EXAMPLES, ROOT, SHIPPED_STACKS

# churn is monitored: the platform's Trigger and CoolDown come first (CoolDown holds Preprocess).
CHURN_STEPS = [("Trigger", "Processing"), ("CoolDown", "Condition"), ("Train", "Training"),
               ("Evaluate", "Processing"), ("CheckAuc", "Condition")]
FRAUD_STEPS = [("Prepare", "Processing"), ("Train", "Training"), ("CreateModel", "Model"),
               ("ScoreHoldout", "Transform"), ("QualityCheck", "QualityCheck"),
               ("Evaluate", "Processing"), ("CheckQuality", "Condition")]


def steps_of(definition: str) -> dict[str, dict]:
    out = {}
    for step in json.loads(definition)["Steps"]:
        out[step["Name"]] = step
        if step["Type"] == "Condition":
            for inner in step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"]:
                out[inner["Name"]] = inner
    return out


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_examples_render_with_the_sdk_in_every_stack(rendered, stack):
    churn, fraud = rendered[(stack, "churn")], rendered[(stack, "fraud")]
    assert [(s["Name"], s["Type"]) for s in json.loads(churn.definition)["Steps"]] == CHURN_STEPS
    assert [(s["Name"], s["Type"]) for s in json.loads(fraud.definition)["Steps"]] == FRAUD_STEPS
    for prepared in (churn, fraud):
        assert prepared.findings == []
        data = json.loads(prepared.definition)
        assert data["Version"] == "2020-12-01"
        steps = steps_of(prepared.definition)
        register = steps["Register"]
        assert register["Type"] == "RegisterModel"
        assert register["Arguments"]["ModelApprovalStatus"] == "PendingManualApproval"
        assert register["Arguments"]["ModelPackageGroupName"] == \
            f"mlops-{stack}-{prepared.project.name}"
        train = steps["Train"]["Arguments"]
        assert train["EnableNetworkIsolation"] is (stack == "prod")
        assert train["ResourceConfig"]["InstanceType"] == prepared.context.instance_type
        assert train["StoppingCondition"]["MaxRuntimeInSeconds"] == \
            prepared.context.max_runtime_seconds
        assert train["RoleArn"] == f"arn:aws:iam::123456789012:role/mlops-{stack}-sagemaker-execution"


def test_churn_gate_reads_the_evaluation_property_file(rendered):
    steps = steps_of(rendered[("prod", "churn")].definition)
    assert steps["Evaluate"]["PropertyFiles"] == [
        {"PropertyFileName": "Evaluation", "OutputName": "evaluation", "FilePath": "evaluation.json"}]
    condition = steps["CheckAuc"]["Arguments"]["Conditions"][0]
    assert condition["Type"] == "GreaterThanOrEqualTo"
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "metrics.auc.value"
    params = {p["Name"]: p for p in json.loads(rendered[("prod", "churn")].definition)["Parameters"]}
    assert params["ApprovalThreshold"]["DefaultValue"] == 0.8
    inputs = {i["InputName"]: i for i in steps["Preprocess"]["Arguments"]["ProcessingInputs"]}
    assert inputs["features"]["S3Input"]["S3Uri"] == \
        "s3://mlops-prod-feature-store-123456789012-eu-west-1/churn/customers"


def test_fraud_scores_the_holdout_checks_quality_and_registers_baselines(rendered):
    steps = steps_of(rendered[("prod", "fraud")].definition)
    assert steps["ScoreHoldout"]["Arguments"]["DataProcessing"] == {
        "InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}
    check = steps["QualityCheck"]
    assert (check["CheckType"], check["SkipCheck"], check["RegisterNewBaseline"]) == \
        ("MODEL_QUALITY", True, True)
    assert check["ModelPackageGroupName"] == "mlops-prod-fraud"
    env = check["Arguments"]["Environment"]
    assert (env["problem_type"], env["ground_truth_attribute"], env["probability_attribute"]) == \
        ("BinaryClassification", "_c0", "_c1")
    assert check["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] == \
        {"Get": "Steps.ScoreHoldout.TransformOutput.S3OutputPath"}
    register = steps["Register"]["Arguments"]
    assert register["DriftCheckBaselines"]["ModelQuality"]["Statistics"]["S3Uri"] == \
        {"Get": "Steps.QualityCheck.BaselineUsedForDriftCheckStatistics"}
    assert steps["CheckQuality"]["Arguments"]["Conditions"][0]["LeftValue"]["Std:JsonGet"][
        "Path"] == "metrics.pr_auc.value"


@pytest.mark.slow  # cold render
def test_rendering_is_deterministic_and_cached(tmp_root, monkeypatch):
    monkeypatch.delenv(CACHE_ENV)
    settings, _ = load_settings(tmp_root, "dev")
    project = load_project(tmp_root, "churn")
    ctx = context_for(project, settings, naming_for(settings, "dev"))
    first = render(project, ctx, tmp_root)
    cached = tmp_root / ".cache" / "renders" / f"{cache_key(project, ctx)}.json"
    assert cached.is_file()
    assert render(project, ctx, tmp_root) == first  # from the cache
    assert render(project, ctx, tmp_root, use_cache=False) == first
    # A change in the project folder (even in step code) is a new cache key.
    (tmp_root / "pipelines" / "churn" / "code" / "evaluate.py").write_text("# changed\n")
    changed = load_project(tmp_root, "churn")
    assert cache_key(changed, context_for(changed, settings, naming_for(settings, "dev"))) != \
        cache_key(project, ctx)


def test_warm_render_does_not_import_the_sdk(tmp_root):
    prepare(tmp_root, "fraud", "staging")  # warm (the session cache already is)
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from mlops.ops.pipelines import prepare
        prepare(Path({str(tmp_root)!r}), "fraud", "staging")
        assert not [m for m in sys.modules if m.startswith("sagemaker")], "SDK imported"
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, timeout=120)


@pytest.mark.slow  # cold render
def test_warm_preview_does_not_import_the_sdk(tmp_root):
    """`mlops preview` (the whole program under mocks) with a warm render cache."""
    for stack in SHIPPED_STACKS:
        for name in EXAMPLES:
            prepare(tmp_root, name, stack)  # warm (the session cache already is)
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from common import tokens
        from mlops.offline.runtime import build_plan
        plan = build_plan(Path({str(tmp_root)!r}), "prod")
        assert plan.of_type(tokens.SAGEMAKER_PIPELINE), "no pipelines"
        assert not [m for m in sys.modules if m.startswith("sagemaker")], "SDK imported"
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, timeout=120)


PIPELINE_HEAD = "from sagemaker.mlops.workflow import Pipeline\n"
BROKEN_MODULES = [
    ("syntax-error", "def build(ctx)\n    return None\n", None, 1, "syntax error"),
    ("import-error", "import sagemaker.does_not_exist\n", None, 1, "failed on import"),
    ("no-build", PIPELINE_HEAD + "def make(ctx):\n    return None\n", "build",
     None, "defines no function build(ctx)"),
    ("build-not-callable", PIPELINE_HEAD + "build = 3\n", "build", None, "defines no function"),
    ("build-raises", PIPELINE_HEAD + "def build(ctx):\n    x = 1\n    raise ValueError('nope')\n",
     "build()", 4, "raised ValueError: nope"),
    ("wrong-return-type", PIPELINE_HEAD + "def build(ctx):\n    return {'Steps': []}\n",
     "build()", 2, "must return a sagemaker.mlops.workflow.Pipeline (got dict)"),
    ("build-without-ctx", PIPELINE_HEAD + "def build():\n    return None\n", "build", 2,
     "must take exactly one argument: build(ctx)"),
    ("exit-on-import", "import sys\nsys.exit('bye')\n", None, 2,
     "failed on import: SystemExit: bye"),
    ("exit-in-build", PIPELINE_HEAD + "def build(ctx):\n    raise SystemExit(3)\n", "build()", 3,
     "raised SystemExit: 3"),
    ("unknown-feature-group", PIPELINE_HEAD + "def build(ctx):\n"
     "    return ctx.feature_groups['missing']\n", "build()", 3, "KeyError"),
    ("network-call", PIPELINE_HEAD + "from sagemaker.core.helper.session_helper import Session\n"
     "def build(ctx):\n    ctx.session.boto_session.client('sts').get_caller_identity()\n",
     "build()", 4, "tried to call AWS"),
]


@pytest.mark.parametrize(("source", "key", "line", "problem"), [b[1:] for b in BROKEN_MODULES],
                         ids=[b[0] for b in BROKEN_MODULES])
def test_broken_pipeline_module_gives_one_clear_line(tmp_root, render_cache, source, key,
                                                     line, problem):
    cached = len(list(render_cache.glob("*.json")))
    (tmp_root / "pipelines" / "fraud" / "pipeline.py").write_text(source)
    with pytest.raises(ProjectError) as info:
        prepare(tmp_root, "fraud", "dev", use_cache=False)
    message = str(info.value)
    assert "\n" not in message and problem in message
    assert info.value.file == "pipelines/fraud/pipeline.py"
    assert info.value.key == key
    assert info.value.line == line
    assert len(list(render_cache.glob("*.json"))) == cached  # nothing cached on failure


@pytest.mark.parametrize("project", EXAMPLES)
def test_disallowed_instance_type_in_manifest(tmp_root, project):
    path = tmp_root / "pipelines" / project / "project.yaml"
    path.write_text(path.read_text().replace("prod: ml.m5.xlarge}", "prod: ml.p4d.24xlarge}"))
    line = _line(path, "instanceType:")
    with pytest.raises(ProjectError, match=rf"project.yaml:{line}: pipeline.instanceType.prod: "
                                           r"ml.p4d.24xlarge is not allowed in stack prod"):
        prepare(tmp_root, project, "prod")


def test_runtime_above_stack_limit(tmp_root):
    path = tmp_root / "pipelines" / "churn" / "project.yaml"
    path.write_text(path.read_text().replace("prod: 7200}", "prod: 20000}"))
    line = _line(path, "maxRuntimeSeconds:")
    with pytest.raises(ProjectError, match=rf"project.yaml:{line}: pipeline.maxRuntimeSeconds.prod:"
                                           r" 20000 s exceeds the limit"):
        prepare(tmp_root, "churn", "prod")


def test_names_too_long_for_aws_are_refused_before_rendering(tmp_root):
    long_project, long_group = "customer-churn-prediction-v2", "customers-with-a-very-long-name"
    folder = tmp_root / "pipelines" / long_project
    (tmp_root / "pipelines" / "churn").rename(folder)
    (folder / "featuregroups.lock.json").unlink()
    path = folder / "project.yaml"
    path.write_text(path.read_text().replace("name: churn", f"name: {long_project}", 1)
                    .replace("  - name: customers", f"  - name: {long_group}"))
    with pytest.raises(ProjectError) as info:
        prepare(tmp_root, long_project, "staging")
    assert info.value.key == "featureGroups[0].name"
    assert info.value.line == _line(path, long_group)
    assert f"mlops-staging-{long_project}-{long_group} (74 characters; SageMaker allows 64)" in \
        str(info.value)


def _line(path, needle: str) -> int:
    return next(i for i, text in enumerate(path.read_text().splitlines(), 1) if needle in text)
