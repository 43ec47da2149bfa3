"""The drift-check pipeline renders offline to the definition the platform deploys."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from typing import Any

import pytest

from infra.drift.pipeline import (
    CODE_FILES,
    STEP_NAME,
    DriftPipelineSpec,
    build_drift_pipeline,
    code_dir,
    offline_session,
)

ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/mlops-dev"
WORKSPACE = f"s3://mlops-dev-pipeline-workspace-{ACCOUNT}-eu-west-1"
SPEC = DriftPipelineSpec(
    pipeline_name="mlops-dev-churn-drift", project="churn", stack="dev", region="eu-west-1",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/mlops-dev-sagemaker-execution", kms_key_arn=KEY,
    instance_type="ml.m5.large", code_uri=f"{WORKSPACE}/_platform/code/0123abcd",
    capture_uri=f"s3://mlops-dev-raw-data-{ACCOUNT}-eu-west-1/datacapture/churn",
    baseline_uri=f"s3://mlops-dev-model-artifacts-{ACCOUNT}-eu-west-1/churn/v3/baseline.json",
    report_uri=f"{WORKSPACE}/churn/drift", endpoint_name="mlops-dev-churn", window_hours=24,
    min_records=200, thresholds={"psi": 0.25, "ks": 0.2, "unseen_share": 0.05, "score_psi": 0.1},
    ignore_features=("customer_segment", "region"), metrics_namespace="MLOps/dev/Drift",
    max_runtime_seconds=1800,
)


@pytest.fixture(scope="module")
def pipeline() -> Any:
    # offline_session refuses every request before it is sent: rendering needs no AWS access.
    with warnings.catch_warnings():  # the SDK's import-time and PipelineSession notices
        warnings.simplefilter("ignore")
        return build_drift_pipeline(SPEC, offline_session(SPEC))


@pytest.fixture(scope="module")
def definition(pipeline: Any) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return json.loads(pipeline.definition())


def step(definition: dict[str, Any]) -> dict[str, Any]:
    [only] = definition["Steps"]
    return only


def test_one_processing_step_runs_the_drift_check(definition: dict[str, Any]) -> None:
    drift = step(definition)
    assert (drift["Name"], drift["Type"]) == (STEP_NAME, "Processing")
    arguments = drift["Arguments"]
    app = arguments["AppSpecification"]
    assert app["ContainerEntrypoint"] == ["python3", "/opt/ml/processing/input/code/drift_check.py"]
    assert app["ImageUri"].endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    assert arguments["RoleArn"] == SPEC.role_arn
    assert arguments["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.large"
    assert arguments["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}


def test_volume_and_output_are_encrypted_with_the_key(definition: dict[str, Any]) -> None:
    arguments = step(definition)["Arguments"]
    assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY
    assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == KEY


def test_inputs_and_the_report_output(definition: dict[str, Any]) -> None:
    arguments = step(definition)["Arguments"]
    inputs = {i["InputName"]: i["S3Input"] for i in arguments["ProcessingInputs"]}
    assert {name: (i["S3Uri"], i["LocalPath"]) for name, i in inputs.items()} == {
        "code": (SPEC.code_uri, "/opt/ml/processing/input/code"),
        "capture": (SPEC.capture_uri, "/opt/ml/processing/input/capture"),
    }, "the baseline is the serving version's, resolved by the step at run time"
    [output] = arguments["ProcessingOutputConfig"]["Outputs"]
    assert output["OutputName"] == "report"
    assert output["S3Output"]["LocalPath"] == "/opt/ml/processing/output/report"
    assert output["S3Output"]["S3Uri"] == {"Std:Join": {"On": "/", "Values": [
        SPEC.report_uri, {"Get": "Execution.PipelineExecutionId"}]}}


def test_the_baseline_is_a_parameter(definition: dict[str, Any]) -> None:
    assert definition["Parameters"] == [
        {"Name": "BaselineUri", "Type": "String", "DefaultValue": SPEC.baseline_uri}]


def test_the_environment_configures_the_step(definition: dict[str, Any]) -> None:
    assert step(definition)["Arguments"]["Environment"] == {
        "STACK": "dev", "PROJECT": "churn", "ENDPOINT": "mlops-dev-churn", "WINDOW_HOURS": "24",
        "MIN_RECORDS": "200", "IGNORE_FEATURES": "customer_segment,region",
        "METRICS_NAMESPACE": "MLOps/dev/Drift", "PUBLISH_METRICS": "true",
        "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
        "PSI_THRESHOLD": "0.25", "KS_THRESHOLD": "0.2", "UNSEEN_THRESHOLD": "0.05",
        "SCORE_PSI_THRESHOLD": "0.1", "BASELINE_URI": {"Get": "Parameters.BaselineUri"},
    }


def test_unknown_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown drift thresholds \\['psl'\\]"):
        replace(SPEC, thresholds={"psl": 0.2}).environment()


def test_the_code_files_exist() -> None:
    assert CODE_FILES == ("baseline.py", "drift_math.py", "drift_check.py")
    assert all((code_dir() / name).is_file() for name in CODE_FILES)


def test_the_pipeline_is_named_by_the_spec(pipeline: Any, definition: dict[str, Any]) -> None:
    assert pipeline.name == "mlops-dev-churn-drift"
    assert definition["Version"] == "2020-12-01"
