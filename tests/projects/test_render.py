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
from tests.conftest import ROOT, SHIPPED_STACKS
from tests.projects.conftest import EXAMPLES

CHURN_STEPS = [("Preprocess", "Processing"), ("Train", "Training"), ("Evaluate", "Processing"),
               ("CheckAuc", "Condition")]
FRAUD_STEPS = [("Prepare", "Processing"), ("Train", "Training"), ("CreateModel", "Model"),
               ("ScoreHoldout", "Transform"), ("QualityCheck", "Processing"),
               ("CheckQuality", "Condition")]


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
     "build()", None, "must return a sagemaker.mlops.workflow.Pipeline (got dict)"),
    ("unknown-feature-group", PIPELINE_HEAD + "def build(ctx):\n"
     "    return ctx.feature_groups['missing']\n", "build()", 3, "KeyError"),
    ("network-call", PIPELINE_HEAD + "from sagemaker.core.helper.session_helper import Session\n"
     "def build(ctx):\n    ctx.session.boto_session.client('sts').get_caller_identity()\n",
     "build()", 4, "tried to call AWS"),
]


@pytest.mark.parametrize(("source", "key", "line", "problem"), [b[1:] for b in BROKEN_MODULES],
                         ids=[b[0] for b in BROKEN_MODULES])
def test_broken_pipeline_module_gives_one_clear_line(tmp_root, shared_render_cache, source, key,
                                                     line, problem):
    cached = len(list(shared_render_cache.glob("*.json")))
    (tmp_root / "pipelines" / "fraud" / "pipeline.py").write_text(source)
    with pytest.raises(ProjectError) as info:
        prepare(tmp_root, "fraud", "dev", use_cache=False)
    message = str(info.value)
    assert "\n" not in message and problem in message
    assert info.value.file == "pipelines/fraud/pipeline.py"
    assert info.value.key == key
    assert info.value.line == line
    assert len(list(shared_render_cache.glob("*.json"))) == cached  # nothing cached on failure


@pytest.mark.parametrize("project", EXAMPLES)
def test_disallowed_instance_type_in_manifest(tmp_root, project):
    path = tmp_root / "pipelines" / project / "project.yaml"
    path.write_text(path.read_text().replace("prod: ml.m5.xlarge}", "prod: ml.p4d.24xlarge}"))
    with pytest.raises(ProjectError, match=r"pipeline.instanceType.prod: ml.p4d.24xlarge is not "
                                           r"allowed in stack prod"):
        prepare(tmp_root, project, "prod")


def test_runtime_above_stack_limit(tmp_root):
    path = tmp_root / "pipelines" / "churn" / "project.yaml"
    path.write_text(path.read_text().replace("prod: 7200}", "prod: 20000}"))
    with pytest.raises(ProjectError, match="maxRuntimeSeconds.prod: 20000 s exceeds the limit"):
        prepare(tmp_root, "churn", "prod")
