"""The retraining wrap of monitored projects: TriggerSource/TriggerDetail, a first Trigger step
and the CoolDown condition holding the project's root steps (churn); fraud is not monitored."""

from __future__ import annotations

import json

import pytest

from infra.projects.errors import ProjectError
from infra.projects.rules import check_definition
from infra.projects.triggers import root_steps
from mlops.ops.pipelines import prepare
from tests.conftest import SHIPPED_STACKS

CHURN_REST = ["Train", "Evaluate", "CheckAuc"]


def steps(prepared) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {s["Name"]: s for s in json.loads(prepared.definition)["Steps"]}


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_churn_starts_with_the_trigger_and_the_cool_down(rendered, stack) -> None:
    churn = rendered[(stack, "churn")]
    data = json.loads(churn.definition)
    assert [s["Name"] for s in data["Steps"]] == ["Trigger", "CoolDown", *CHURN_REST]
    parameters = {p["Name"]: p for p in data["Parameters"]}
    assert parameters["TriggerSource"] == {"Name": "TriggerSource", "Type": "String",
                                           "DefaultValue": "manual"}
    assert parameters["TriggerDetail"] == {"Name": "TriggerDetail", "Type": "String",
                                           "DefaultValue": ""}
    by_name = steps(churn)
    trigger = by_name["Trigger"]
    assert trigger["Type"] == "Processing" and "DependsOn" not in trigger
    args = trigger["Arguments"]
    assert args["AppSpecification"]["ContainerEntrypoint"] == [
        "python3", "/opt/ml/processing/input/code/trigger.py"]
    assert "sagemaker-scikit-learn:1.2-1" in args["AppSpecification"]["ImageUri"]
    [code] = args["ProcessingInputs"]
    assert code["S3Input"]["S3Uri"] == churn.context.platform_code("trigger.py")
    env = args["Environment"]
    assert env["PIPELINE_NAME"] == {"Get": "Execution.PipelineName"}
    assert env["EXECUTION_ARN"] == {"Get": "Execution.PipelineExecutionArn"}
    assert env["TRIGGER_SOURCE"] == {"Get": "Parameters.TriggerSource"}
    assert env["TRIGGER_DETAIL"] == {"Get": "Parameters.TriggerDetail"}
    assert env["COOLDOWN_HOURS"] == "24"
    assert env["AUDIT_BUCKET"] == f"mlops-{stack}-model-artifacts-123456789012-eu-west-1"
    assert env["AUDIT_PREFIX"] == "audit/churn/triggers/"
    assert (env["PROJECT"], env["STACK"]) == ("churn", stack)
    key = churn.context.kms_key_arn
    assert env["KMS_KEY_ID"] == key
    assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
    assert args["ProcessingOutputConfig"]["KmsKeyId"] == key
    assert args["StoppingCondition"]["MaxRuntimeInSeconds"] == 600
    assert trigger["PropertyFiles"] == [{"FilePath": "trigger.json", "OutputName": "trigger",
                                         "PropertyFileName": "TriggerRecord"}]
    cooldown = by_name["CoolDown"]["Arguments"]
    assert cooldown["Conditions"] == [{
        "Type": "Equals", "RightValue": True,
        "LeftValue": {"Std:JsonGet": {"Path": "run", "PropertyFile": {
            "Get": "Steps.Trigger.PropertyFiles.TriggerRecord"}}}}]
    assert [s["Name"] for s in cooldown["IfSteps"]] == ["Preprocess"]
    assert cooldown["ElseSteps"] == []
    assert churn.findings == [] and check_definition(churn.definition, churn.context) == []


def test_the_project_steps_are_unchanged(rendered) -> None:
    churn = rendered[("dev", "churn")]
    wrapped = steps(churn)
    preprocess = wrapped["CoolDown"]["Arguments"]["IfSteps"][0]
    assert preprocess["Arguments"]["AppSpecification"]["ContainerEntrypoint"][-1].endswith(
        "/preprocess.py")
    assert preprocess["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}
    train = wrapped["Train"]
    assert "DependsOn" not in train  # it waits for Preprocess through its inputs
    channels = train["Arguments"]["InputDataConfig"]
    assert channels[0]["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}
    assert [s["Name"] for s in wrapped["CheckAuc"]["Arguments"]["IfSteps"]] == ["Register"]


def test_an_unmonitored_project_is_not_wrapped(rendered) -> None:
    for stack in SHIPPED_STACKS:
        data = json.loads(rendered[(stack, "fraud")].definition)
        assert data["Steps"][0]["Name"] == "Prepare"
        assert {"Trigger", "CoolDown"}.isdisjoint(s["Name"] for s in data["Steps"])
        assert {"TriggerSource", "TriggerDetail"}.isdisjoint(p["Name"] for p in data["Parameters"])


def test_root_steps_wait_for_nothing() -> None:
    definition = {"Steps": [
        {"Name": "A", "Arguments": {"X": {"Get": "Parameters.P"}}},
        {"Name": "B", "Arguments": {"X": {"Get": "Steps.A.Properties"}}},
        {"Name": "C", "DependsOn": ["A"], "Arguments": {}},
        {"Name": "D", "Arguments": {"Y": [{"Std:Join": {"Values": [{"Get": "Steps.B.X"}]}}]}},
        {"Name": "E", "Arguments": {}},
    ]}
    assert root_steps(definition) == ["A", "E"]


def _declare(tmp_root, text: str) -> None:
    path = tmp_root / "pipelines" / "churn" / "pipeline.py"
    path.write_text(path.read_text().replace(
        "        parameters=[train_ratio, max_depth, num_round, eta, threshold],",
        text))


@pytest.mark.slow  # a cold render
def test_a_project_declaring_a_trigger_parameter_is_an_error_naming_pipeline_py(tmp_root) -> None:
    _declare(tmp_root, "        parameters=[train_ratio, max_depth, num_round, eta, threshold,\n"
                       "                    ParameterString(name='TriggerSource')],")
    path = tmp_root / "pipelines" / "churn" / "pipeline.py"
    path.write_text(path.read_text().replace(
        "import ParameterFloat, ParameterInteger",
        "import ParameterFloat, ParameterInteger, ParameterString"))
    with pytest.raises(ProjectError) as info:
        prepare(tmp_root, "churn", "dev", use_cache=False)
    assert info.value.file == "pipelines/churn/pipeline.py"
    assert info.value.key == "parameter TriggerSource"
    assert "is the platform's" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.slow  # a cold render
def test_a_root_condition_step_is_an_error_naming_pipeline_py(tmp_root) -> None:
    path = tmp_root / "pipelines" / "churn" / "pipeline.py"
    path.write_text(path.read_text().replace(
        "        steps=[preprocess, train, evaluate, gate],",
        "        steps=[ConditionStep(name='Early', conditions=[ConditionGreaterThanOrEqualTo(\n"
        "            left=threshold, right=0.5)], if_steps=[preprocess]), train, evaluate, gate],"))
    with pytest.raises(ProjectError) as info:
        prepare(tmp_root, "churn", "dev", use_cache=False)
    assert info.value.file == "pipelines/churn/pipeline.py"
    assert info.value.key == "step Early"
    assert "does not nest conditions" in str(info.value)
