"""Every platform rule, shown passing on the examples and failing on a broken definition."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest

from infra.projects.rules import check_definition
from tests.conftest import SHIPPED_STACKS


def step(data: dict, name: str) -> dict:
    for s in data["Steps"]:
        if s["Name"] == name:
            return s["Arguments"]
        if s["Type"] == "Condition":
            for inner in s["Arguments"]["IfSteps"] + s["Arguments"]["ElseSteps"]:
                if inner["Name"] == name:
                    return inner["Arguments"]
    raise KeyError(name)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
@pytest.mark.parametrize("project", ["churn", "fraud"])
def test_examples_pass_every_rule(rendered, stack, project):
    prepared = rendered[(stack, project)]
    assert check_definition(prepared.definition, prepared.context) == []


def _set(path: str, value) -> Callable[[dict], None]:
    def mutate(args: dict) -> None:
        *parents, last = path.split(".")
        node = args
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
    return mutate


_DELETE = object()
OTHER_KEY = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"

# (id, project, stack, step, mutation, field named in the finding, message fragment)
BROKEN = [
    ("processing-volume-unencrypted", "churn", "dev", "Preprocess",
     _set("ProcessingResources.ClusterConfig.VolumeKmsKeyId", _DELETE),
     "ProcessingResources.ClusterConfig.VolumeKmsKeyId", "not set"),
    ("processing-output-other-key", "churn", "dev", "Preprocess",
     _set("ProcessingOutputConfig.KmsKeyId", OTHER_KEY),
     "ProcessingOutputConfig.KmsKeyId", "is not the environment key"),
    ("processing-output-foreign-bucket", "churn", "dev", "Evaluate",
     _set("ProcessingOutputConfig.Outputs.0.S3Output.S3Uri", "s3://someone-elses-bucket/x"),
     "ProcessingOutputConfig.Outputs[0].S3Output.S3Uri", "outside this environment's buckets"),
    ("processing-output-other-env", "churn", "staging", "Evaluate",
     _set("ProcessingOutputConfig.Outputs.0.S3Output.S3Uri",
          "s3://mlops-dev-pipeline-workspace-123456789012-eu-west-1/churn"),
     "ProcessingOutputConfig.Outputs[0].S3Output.S3Uri", "outside this environment's buckets"),
    ("processing-output-from-parameter", "churn", "dev", "Evaluate",
     _set("ProcessingOutputConfig.Outputs.0.S3Output.S3Uri", {"Get": "Parameters.Out"}),
     "ProcessingOutputConfig.Outputs[0].S3Output.S3Uri", "can point anywhere"),
    ("processing-foreign-role", "churn", "dev", "Preprocess",
     _set("RoleArn", "arn:aws:iam::123456789012:role/admin"), "RoleArn", "not the platform role"),
    ("processing-instance-type", "churn", "prod", "Preprocess",
     _set("ProcessingResources.ClusterConfig.InstanceType", "ml.p4d.24xlarge"),
     "ProcessingResources.ClusterConfig.InstanceType", "not allowed in stack prod"),
    ("processing-no-runtime", "fraud", "dev", "Prepare",
     _set("StoppingCondition", _DELETE), "StoppingCondition.MaxRuntimeInSeconds", "not set"),
    ("processing-runtime-over-limit", "fraud", "staging", "QualityCheck",
     _set("StoppingCondition.MaxRuntimeInSeconds", 86400),
     "StoppingCondition.MaxRuntimeInSeconds", "exceeds the limit of stack staging"),
    ("processing-secret-env", "churn", "dev", "Preprocess",
     _set("Environment.DB_PASSWORD", "hunter2"), "Environment.DB_PASSWORD", "looks like a secret"),
    ("processing-credential-value", "churn", "dev", "Preprocess",
     _set("Environment.LOOKUP", "AKIAABCDEFGHIJKLMNOP"), "Environment.LOOKUP", "credential"),
    ("training-volume-unencrypted", "churn", "prod", "Train",
     _set("ResourceConfig.VolumeKmsKeyId", _DELETE), "ResourceConfig.VolumeKmsKeyId", "not set"),
    ("training-output-unencrypted", "fraud", "dev", "Train",
     _set("OutputDataConfig.KmsKeyId", _DELETE), "OutputDataConfig.KmsKeyId", "not set"),
    ("training-output-foreign-bucket", "fraud", "dev", "Train",
     _set("OutputDataConfig.S3OutputPath", "s3://public-bucket/models"),
     "OutputDataConfig.S3OutputPath", "outside"),
    ("training-parameter-instance", "fraud", "dev", "Train",
     _set("ResourceConfig.InstanceType", {"Get": "Parameters.InstanceType"}),
     "ResourceConfig.InstanceType", "must be a literal instance type"),
    ("training-foreign-role", "fraud", "staging", "Train",
     _set("RoleArn", "arn:aws:iam::123456789012:role/mlops-prod-sagemaker-execution"), "RoleArn",
     "not the platform role"),
    ("training-checkpoint-foreign-bucket", "churn", "dev", "Train",
     _set("CheckpointConfig", {"S3Uri": "s3://elsewhere/checkpoints"}), "CheckpointConfig.S3Uri",
     "outside this environment's buckets"),
    ("training-secret-env", "churn", "dev", "Train",
     _set("Environment", {"GITHUB_TOKEN": "x"}), "Environment.GITHUB_TOKEN", "looks like a secret"),
    ("training-no-isolation-in-prod", "churn", "prod", "Train",
     _set("EnableNetworkIsolation", False), "EnableNetworkIsolation", "must be true in prod"),
    ("training-runtime-over-limit", "churn", "dev", "Train",
     _set("StoppingCondition.MaxRuntimeInSeconds", 7200),
     "StoppingCondition.MaxRuntimeInSeconds", "exceeds the limit of stack dev (3600 s)"),
    ("quality-check-output-other-key", "fraud", "prod", "QualityCheck",
     _set("ProcessingOutputConfig.KmsKeyId", OTHER_KEY), "ProcessingOutputConfig.KmsKeyId",
     "not the environment key"),
    ("quality-check-instance-type", "fraud", "dev", "QualityCheck",
     _set("ProcessingResources.ClusterConfig.InstanceType", "ml.p3.2xlarge"),
     "ProcessingResources.ClusterConfig.InstanceType", "not allowed in stack dev"),
    ("transform-output-unencrypted", "fraud", "prod", "ScoreHoldout",
     _set("TransformOutput.KmsKeyId", _DELETE), "TransformOutput.KmsKeyId", "not set"),
    ("transform-volume-other-key", "fraud", "prod", "ScoreHoldout",
     _set("TransformResources.VolumeKmsKeyId", OTHER_KEY), "TransformResources.VolumeKmsKeyId",
     "not the environment key"),
    ("transform-foreign-output", "fraud", "dev", "ScoreHoldout",
     _set("TransformOutput.S3OutputPath", "s3://elsewhere/scores"), "TransformOutput.S3OutputPath",
     "outside"),
    ("transform-secret-env", "fraud", "dev", "ScoreHoldout",
     _set("Environment", {"DB_PASSWD": "x"}), "Environment.DB_PASSWD", "looks like a secret"),
    ("transform-instance-type", "fraud", "staging", "ScoreHoldout",
     _set("TransformResources.InstanceType", "ml.m5.4xlarge"), "TransformResources.InstanceType",
     "not allowed in stack staging"),
    ("model-foreign-role", "fraud", "dev", "CreateModel",
     _set("ExecutionRoleArn", "arn:aws:iam::123456789012:role/other"), "ExecutionRoleArn",
     "not the platform role"),
    ("register-other-group", "churn", "prod", "Register",
     _set("ModelPackageGroupName", "mlops-prod-fraud"), "ModelPackageGroupName",
     "not the project's package group (mlops-prod-churn)"),
    ("register-auto-approved", "fraud", "prod", "Register",
     _set("ModelApprovalStatus", "Approved"), "ModelApprovalStatus", "must be PendingManualApproval"),
    ("register-secret-env", "fraud", "dev", "Register",
     _set("InferenceSpecification.Containers.0.Environment.API_TOKEN", "x"),
     "InferenceSpecification.Containers[0].Environment.API_TOKEN", "looks like a secret"),
]


@pytest.mark.parametrize(("project", "stack", "step_name", "mutate", "field", "message"),
                         [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_each_rule_fails_when_broken(rendered, project, stack, step_name, mutate, field, message):
    prepared = rendered[(stack, project)]
    data = copy.deepcopy(json.loads(prepared.definition))
    mutate(step(data, step_name))
    findings = check_definition(data, prepared.context)
    assert len(findings) == 1, findings
    finding = findings[0]
    assert (finding.project, finding.step, finding.field) == (project, step_name, field)
    assert message in finding.message
    assert str(finding).startswith(f"{project}: step {step_name}: {field}: ")


def test_quality_check_reads_baselines_of_the_projects_group_only(rendered):
    prepared = rendered[("staging", "fraud")]
    data = json.loads(prepared.definition)
    [check] = [s for s in data["Steps"] if s["Type"] == "QualityCheck"]
    check["ModelPackageGroupName"] = "mlops-staging-churn"
    [finding] = check_definition(data, prepared.context)
    assert (finding.step, finding.field) == ("QualityCheck", "ModelPackageGroupName")
    assert "not the project's package group (mlops-staging-fraud)" in finding.message


def test_unsupported_step_type_is_refused(rendered):
    prepared = rendered[("dev", "churn")]
    data = json.loads(prepared.definition)
    data["Steps"].append({"Name": "Hook", "Type": "Lambda", "Arguments": {}})
    [finding] = check_definition(data, prepared.context)
    assert (finding.step, finding.field) == ("Hook", "Type")
    assert "Lambda is not supported" in finding.message
