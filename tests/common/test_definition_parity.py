"""The platform rules and the policy pack judge the same definitions the same way.

Both checks read definitions through ``common.pipeline_definition``. Fed the same definition
with equivalent settings (the policy's buckets, allowed instance types and max runtime taken from
the project context), they report the same (step, field) violations for the checks both make:
instance type allowed, volume key set, output key set where SageMaker uses one, max runtime set
and within the limit, every output location inside the platform's buckets. The platform makes
more checks (role, which key, literal values, secrets, isolation, registration); those are shown
separately, as are the two places where the checks differ on purpose.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from common import tokens
from common.pipeline_definition import read_definition, s3_bucket
from infra.projects.context import ProjectContext
from infra.projects.rules import check_definition
from policies.rules.sagemaker import definition_violations
from tests.conftest import EXAMPLES, SHIPPED_STACKS
from tests.policies.helpers import res, unknowns, violations

ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/mlops-dev"
OTHER_KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlops-dev-sagemaker-execution"
WORKSPACE = f"s3://mlops-dev-pipeline-workspace-{ACCOUNT}-eu-west-1"
ARTIFACTS = f"s3://mlops-dev-model-artifacts-{ACCOUNT}-eu-west-1"
IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
GROUP = "mlops-dev-churn"

CTX = ProjectContext(
    project="churn", stack="dev", environment="dev", region="eu-west-1", account_id=ACCOUNT,
    pipeline_name="mlops-dev-churn", role_arn=ROLE, kms_key_arn=KEY,
    buckets={"pipeline-workspace": WORKSPACE, "model-artifacts": ARTIFACTS}, feature_groups={},
    feature_store_database="sagemaker_featurestore", model_package_group=GROUP,
    allowed_instance_types=("ml.m5.large", "ml.m5.xlarge"), instance_type="ml.m5.large",
    max_runtime_seconds=1800, runtime_limit_seconds=3600, network_isolation=True,
    approval_metric="auc", approval_threshold=0.7, parameters={}, code_uri=f"{ARTIFACTS}/code",
)


# --- the two checks, with equivalent settings ----------------------------------------------

def policy_config(ctx: ProjectContext) -> dict[str, Any]:
    return {"allowedInstanceTypes": list(ctx.allowed_instance_types),
            "maxRuntimeSeconds": ctx.runtime_limit_seconds, "extraOutputBuckets": []}


def stack_resources(ctx: ProjectContext, definition: dict) -> list:
    """What the policy sees: the stack's buckets and the pipeline carrying the definition."""
    buckets = sorted(str(s3_bucket(uri)) for uri in ctx.buckets.values())
    return [*(res(tokens.S3_BUCKET, name, {"bucket": name}) for name in buckets),
            res(tokens.SAGEMAKER_PIPELINE, "pipeline",
                {"pipelineDefinition": json.dumps(definition)})]


def policy_verdicts(definition: dict, ctx: ProjectContext) -> set[tuple[str, str]]:
    """(step, field) of every policy violation; the registered rule reports the same ones."""
    found = list(definition_violations(
        definition, buckets={str(s3_bucket(uri)) for uri in ctx.buckets.values()},
        instance_types=ctx.allowed_instance_types, max_runtime=ctx.runtime_limit_seconds))
    resources = stack_resources(ctx, definition)
    assert violations("pipeline-definition-rules", resources, policy_config(ctx)) == [
        f"pipeline: {v}" for v in found]
    return {(v.step, v.field) for v in found}


def platform_verdicts(definition: dict, ctx: ProjectContext) -> set[tuple[str, str]]:
    """(step, field) of the platform findings in the checks the policy makes too: the job
    settings both read, minus "which key" (the policy only knows whether a key is set)."""
    shared, keys = set(), {}
    for step in read_definition(definition).steps:
        fields = step.fields
        if fields is None or not fields.runs_job:
            continue
        for path in filter(None, (fields.instance_type, fields.max_runtime)):
            shared.add((step.name, step.path(path)))
        for path in filter(None, (fields.volume_kms_key, fields.output_kms_key)):
            shared.add((step.name, step.path(path)))
            keys[(step.name, step.path(path))] = step.get(path)
        shared |= {(step.name, field) for field, _ in step.values(fields.outputs)}
    return {(f.step, f.field) for f in check_definition(definition, ctx)
            if (f.step, f.field) in shared and keys.get((f.step, f.field)) is None}


def assert_same_verdicts(definition: dict, ctx: ProjectContext, expected: set) -> None:
    assert platform_verdicts(definition, ctx) == expected
    assert policy_verdicts(definition, ctx) == expected


# --- a hand-made definition with every step type the platform supports ----------------------

def join(*values: Any, on: str = "/") -> dict:
    return {"Std:Join": {"On": on, "Values": list(values)}}


def run_uri(*parts: str) -> dict:
    return join(join(f"{WORKSPACE}/churn", "runs", {"Get": "Execution.PipelineExecutionId"}),
                *parts)


def processing(name: str, *outputs: str, kind: str = "Processing", **extra: Any) -> dict:
    args: dict[str, Any] = {
        "AppSpecification": {"ImageUri": IMAGE, "ContainerEntrypoint": ["python3", "run.py"]},
        "ProcessingResources": {"ClusterConfig": {
            "InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30,
            "VolumeKmsKeyId": KEY}},
        "RoleArn": ROLE,
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
    }
    if outputs:
        args["ProcessingOutputConfig"] = {"KmsKeyId": KEY, "Outputs": [
            {"OutputName": o, "S3Output": {"S3Uri": run_uri(o), "S3UploadMode": "EndOfJob",
                                           "LocalPath": f"/opt/ml/processing/output/{o}"}}
            for o in outputs]}
    return {"Name": name, "Type": kind, "Arguments": args, **extra}


def training_request() -> dict:
    return {
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": join(f"{ARTIFACTS}/churn", "training"),
                             "KmsKeyId": KEY},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                           "VolumeSizeInGB": 30, "VolumeKmsKeyId": KEY},
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
        "EnableNetworkIsolation": True,
        "CheckpointConfig": {"S3Uri": f"{WORKSPACE}/churn/checkpoints"},
    }


def tuning(name: str) -> dict:
    return {"Name": name, "Type": "Tuning", "Arguments": {
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {"IntegerParameterRanges": [
                {"Name": "max_depth", "MinValue": "3", "MaxValue": "8"}]}},
        "TrainingJobDefinition": {**training_request(),
                                  "StaticHyperParameters": {"objective": "binary:logistic"}},
    }}


def definition() -> dict:
    """Prep -> Train -> Tune -> CreateModel -> Score -> QualityCheck -> Gate (Inner (Register,
    else Report: a processing job without outputs), else Stop)."""
    model_data = {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    holdout = {"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['holdout'].S3Output.S3Uri"}
    register = {"Name": "Register", "Type": "RegisterModel", "Arguments": {
        "ModelPackageGroupName": GROUP, "ModelApprovalStatus": "PendingManualApproval",
        "InferenceSpecification": {"Containers": [{"Image": IMAGE, "ModelDataUrl": model_data}],
                                   "SupportedContentTypes": ["text/csv"],
                                   "SupportedResponseMIMETypes": ["text/csv"]}}}
    gate = {"Type": "GreaterThanOrEqualTo", "LeftValue": 0.8, "RightValue": 0.7}
    return {"Version": "2020-12-01", "Parameters": [
        {"Name": "InstanceType", "Type": "String", "DefaultValue": "ml.m5.large"},
        {"Name": "Suffix", "Type": "String", "DefaultValue": "-elsewhere/x"}],
        "Steps": [
            processing("Prep", "train", "holdout"),
            {"Name": "Train", "Type": "Training", "Arguments": training_request()},
            tuning("Tune"),
            {"Name": "CreateModel", "Type": "Model", "Arguments": {
                "ExecutionRoleArn": ROLE,
                "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": model_data}}},
            {"Name": "Score", "Type": "Transform", "Arguments": {
                "ModelName": {"Get": "Steps.CreateModel.ModelName"},
                "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                   "S3Uri": holdout}}},
                "TransformOutput": {"S3OutputPath": run_uri("scores"), "KmsKeyId": KEY},
                "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                       "VolumeKmsKeyId": KEY}}},
            processing("QualityCheck", "quality", kind="QualityCheck", CheckType="MODEL_QUALITY",
                       ModelPackageGroupName=GROUP),
            {"Name": "Gate", "Type": "Condition", "Arguments": {
                "Conditions": [gate],
                "IfSteps": [{"Name": "Inner", "Type": "Condition", "Arguments": {
                    "Conditions": [gate], "IfSteps": [register],
                    "ElseSteps": [processing("Report")]}}],
                "ElseSteps": [{"Name": "Stop", "Type": "Fail",
                               "Arguments": {"ErrorMessage": "below the threshold"}}]}},
        ]}


def arguments(data: dict, name: str) -> dict:
    """The Arguments of the step called ``name``, searched through condition branches."""
    def find(steps: list) -> dict | None:
        for s in steps:
            if s["Name"] == name:
                return s["Arguments"]
            if s["Type"] == "Condition":
                found = find(s["Arguments"]["IfSteps"] + s["Arguments"]["ElseSteps"])
                if found is not None:
                    return found
        return None

    found = find(data["Steps"])
    assert found is not None, name
    return found


DELETE = object()


def change(name: str, path: str, value: Any) -> Callable[[dict], None]:
    """Set (or with DELETE remove) a dotted path in one step's Arguments; digits index lists."""
    def mutate(data: dict) -> None:
        *parents, last = path.split(".")
        node: Any = arguments(data, name)
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return mutate


def test_the_hand_made_definition_is_made_of_real_api_requests():
    import botocore.session
    from botocore.validate import ParamValidator

    from tests.infra.projects.shapes import _Checker, shape_problems

    data = definition()
    tune = data["Steps"].pop(2)  # shape_problems knows no Tuning: check its request here
    assert shape_problems(data) == []
    shape = botocore.session.get_session().get_service_model("sagemaker") \
        .operation_model("CreateHyperParameterTuningJob").input_shape
    checker = _Checker({p["Name"]: p["Type"] for p in data["Parameters"]})
    request = {**checker.substitute(tune["Arguments"], shape, "Tune"),
               "HyperParameterTuningJobName": "tune"}
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    assert checker.problems == []


def test_both_checks_pass_the_hand_made_definition():
    assert check_definition(definition(), CTX) == []
    assert policy_verdicts(definition(), CTX) == set()
    assert unknowns("pipeline-definition-rules", stack_resources(CTX, definition()),
                    policy_config(CTX)) == []


ELSEWHERE = "s3://someone-elses-bucket/x"
TUNE = "TrainingJobDefinition."

# (id, mutation, the (step, field) violations both checks report)
CASES = [
    # (a) Tuning: read as its training job definition (the platform used to refuse the type).
    ("tuning-instance-type", change("Tune", TUNE + "ResourceConfig.InstanceType", "ml.p4d.24xlarge"),
     {("Tune", TUNE + "ResourceConfig.InstanceType")}),
    ("tuning-volume-unencrypted", change("Tune", TUNE + "ResourceConfig.VolumeKmsKeyId", DELETE),
     {("Tune", TUNE + "ResourceConfig.VolumeKmsKeyId")}),
    ("tuning-output-unencrypted", change("Tune", TUNE + "OutputDataConfig.KmsKeyId", DELETE),
     {("Tune", TUNE + "OutputDataConfig.KmsKeyId")}),
    ("tuning-runtime-over-limit", change("Tune", TUNE + "StoppingCondition.MaxRuntimeInSeconds",
                                         7200),
     {("Tune", TUNE + "StoppingCondition.MaxRuntimeInSeconds")}),
    ("tuning-output-outside", change("Tune", TUNE + "OutputDataConfig.S3OutputPath", ELSEWHERE),
     {("Tune", TUNE + "OutputDataConfig.S3OutputPath")}),
    ("tuning-checkpoint-outside", change("Tune", TUNE + "CheckpointConfig.S3Uri", ELSEWHERE),
     {("Tune", TUNE + "CheckpointConfig.S3Uri")}),
    # (b) Processing output key: needed only when the job has outputs.
    ("processing-without-outputs", change("Prep", "ProcessingOutputConfig", DELETE), set()),
    ("processing-empty-outputs", change("Prep", "ProcessingOutputConfig",
                                        {"Outputs": []}), set()),
    ("processing-outputs-without-key", change("Prep", "ProcessingOutputConfig.KmsKeyId", DELETE),
     {("Prep", "ProcessingOutputConfig.KmsKeyId")}),
    # Training checkpoints are outputs too (the policy used to skip them).
    ("training-checkpoint-outside", change("Train", "CheckpointConfig.S3Uri", ELSEWHERE),
     {("Train", "CheckpointConfig.S3Uri")}),
    # Instance types outside the stack's list, on every job step type.
    ("processing-instance-type", change("Prep", "ProcessingResources.ClusterConfig.InstanceType",
                                        "ml.p3.2xlarge"),
     {("Prep", "ProcessingResources.ClusterConfig.InstanceType")}),
    ("training-instance-type", change("Train", "ResourceConfig.InstanceType", "ml.m5.4xlarge"),
     {("Train", "ResourceConfig.InstanceType")}),
    ("transform-instance-type", change("Score", "TransformResources.InstanceType", "ml.c5.xlarge"),
     {("Score", "TransformResources.InstanceType")}),
    ("quality-check-instance-type", change("QualityCheck",
                                           "ProcessingResources.ClusterConfig.InstanceType",
                                           "ml.g5.xlarge"),
     {("QualityCheck", "ProcessingResources.ClusterConfig.InstanceType")}),
    ("nested-else-instance-type", change("Report", "ProcessingResources.ClusterConfig.InstanceType",
                                         "ml.p4d.24xlarge"),
     {("Report", "ProcessingResources.ClusterConfig.InstanceType")}),
    # Keys not set.
    ("processing-volume-unencrypted", change("Prep", "ProcessingResources.ClusterConfig."
                                                     "VolumeKmsKeyId", DELETE),
     {("Prep", "ProcessingResources.ClusterConfig.VolumeKmsKeyId")}),
    ("training-output-unencrypted", change("Train", "OutputDataConfig.KmsKeyId", DELETE),
     {("Train", "OutputDataConfig.KmsKeyId")}),
    ("transform-output-unencrypted", change("Score", "TransformOutput.KmsKeyId", DELETE),
     {("Score", "TransformOutput.KmsKeyId")}),
    ("transform-volume-unencrypted", change("Score", "TransformResources.VolumeKmsKeyId", DELETE),
     {("Score", "TransformResources.VolumeKmsKeyId")}),
    # Output locations outside this environment's buckets.
    ("processing-output-outside", change("Prep", "ProcessingOutputConfig.Outputs.1.S3Output.S3Uri",
                                         ELSEWHERE),
     {("Prep", "ProcessingOutputConfig.Outputs[1].S3Output.S3Uri")}),
    ("processing-output-join-outside", change(
        "Prep", "ProcessingOutputConfig.Outputs.0.S3Output.S3Uri",
        join("s3://someone-elses-bucket", "runs", {"Get": "Execution.PipelineExecutionId"})),
     {("Prep", "ProcessingOutputConfig.Outputs[0].S3Output.S3Uri")}),
    ("bucket-name-continued-by-a-parameter", change(
        "Prep", "ProcessingOutputConfig.Outputs.0.S3Output.S3Uri",
        join(WORKSPACE, {"Get": "Parameters.Suffix"}, on="")),
     {("Prep", "ProcessingOutputConfig.Outputs[0].S3Output.S3Uri")}),
    ("training-output-outside", change("Train", "OutputDataConfig.S3OutputPath",
                                       join("s3://public-bucket", "models")),
     {("Train", "OutputDataConfig.S3OutputPath")}),
    ("training-output-missing", change("Train", "OutputDataConfig.S3OutputPath", DELETE),
     {("Train", "OutputDataConfig.S3OutputPath")}),
    ("training-tensorboard-outside", change("Train", "TensorBoardOutputConfig",
                                            {"S3OutputPath": ELSEWHERE}),
     {("Train", "TensorBoardOutputConfig.S3OutputPath")}),
    ("training-debug-rule-outside", change("Train", "DebugRuleConfigurations", [
        {"RuleConfigurationName": "loss", "RuleEvaluatorImage": IMAGE},
        {"RuleConfigurationName": "io", "RuleEvaluatorImage": IMAGE, "S3OutputPath": ELSEWHERE}]),
     {("Train", "DebugRuleConfigurations[1].S3OutputPath")}),
    ("transform-output-outside", change("Score", "TransformOutput.S3OutputPath", ELSEWHERE),
     {("Score", "TransformOutput.S3OutputPath")}),
    ("transform-capture-outside", change("Score", "DataCaptureConfig",
                                         {"DestinationS3Uri": ELSEWHERE}),
     {("Score", "DataCaptureConfig.DestinationS3Uri")}),
    ("quality-check-output-outside", change("QualityCheck",
                                            "ProcessingOutputConfig.Outputs.0.S3Output.S3Uri",
                                            "s3://mlops-staging-pipeline-workspace/churn"),
     {("QualityCheck", "ProcessingOutputConfig.Outputs[0].S3Output.S3Uri")}),
    # Max runtime missing or above the stack's limit.
    ("processing-runtime-over-limit", change("Prep", "StoppingCondition.MaxRuntimeInSeconds", 3601),
     {("Prep", "StoppingCondition.MaxRuntimeInSeconds")}),
    ("training-runtime-over-limit", change("Train", "StoppingCondition.MaxRuntimeInSeconds", 86400),
     {("Train", "StoppingCondition.MaxRuntimeInSeconds")}),
    ("training-no-runtime", change("Train", "StoppingCondition", DELETE),
     {("Train", "StoppingCondition.MaxRuntimeInSeconds")}),
    ("nested-else-runtime-over-limit", change("Report", "StoppingCondition.MaxRuntimeInSeconds",
                                              7200),
     {("Report", "StoppingCondition.MaxRuntimeInSeconds")}),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_both_checks_report_the_same_violations(mutate, expected):
    data = definition()
    mutate(data)
    assert_same_verdicts(data, CTX, expected)


def test_several_training_job_definitions_are_each_checked():
    data = definition()
    args = arguments(data, "Tune")
    good = args.pop("TrainingJobDefinition")
    bad = copy.deepcopy(good)
    bad["ResourceConfig"]["InstanceType"] = "ml.p4d.24xlarge"
    bad["StoppingCondition"]["MaxRuntimeInSeconds"] = 7200
    args["TrainingJobDefinitions"] = [good, bad]
    assert_same_verdicts(data, CTX, {
        ("Tune", "TrainingJobDefinitions[1].ResourceConfig.InstanceType"),
        ("Tune", "TrainingJobDefinitions[1].StoppingCondition.MaxRuntimeInSeconds")})


# --- checks only the platform makes --------------------------------------------------------

def test_a_wrong_key_is_judged_by_the_platform_only():
    """The policy has no key setting: it checks that a key is set; the platform, which one."""
    data = definition()
    change("Prep", "ProcessingResources.ClusterConfig.VolumeKmsKeyId", OTHER_KEY)(data)
    change("Tune", TUNE + "OutputDataConfig.KmsKeyId", OTHER_KEY)(data)
    assert [(f.step, f.field) for f in check_definition(data, CTX)] == [
        ("Prep", "ProcessingResources.ClusterConfig.VolumeKmsKeyId"),
        ("Tune", TUNE + "OutputDataConfig.KmsKeyId")]
    assert all("is not the environment key" in f.message for f in check_definition(data, CTX))
    assert_same_verdicts(data, CTX, set())


def test_the_platform_checks_a_tuning_step_like_a_training_step():
    data = definition()
    request = arguments(data, "Tune")["TrainingJobDefinition"]
    request["RoleArn"] = "arn:aws:iam::123456789012:role/admin"
    request["EnableNetworkIsolation"] = False
    request["Environment"] = {"DB_PASSWORD": "x"}
    findings = check_definition(data, CTX)
    assert [(f.project, f.step, f.field) for f in findings] == [
        ("churn", "Tune", TUNE + "RoleArn"),
        ("churn", "Tune", TUNE + "EnableNetworkIsolation"),
        ("churn", "Tune", TUNE + "Environment.DB_PASSWORD")]
    assert str(findings[1]) == ("churn: step Tune: TrainingJobDefinition.EnableNetworkIsolation: "
                                "must be true in dev (training runs network-isolated)")
    assert policy_verdicts(data, CTX) == set()


def test_the_platform_reads_the_environment_of_every_model_container():
    data = definition()
    model = arguments(data, "CreateModel")
    model["Containers"] = [model.pop("PrimaryContainer"),
                           {"Image": IMAGE, "Environment": {"API_TOKEN": "x"}}]
    [finding] = check_definition(data, CTX)
    assert (finding.step, finding.field) == ("CreateModel", "Containers[1].Environment.API_TOKEN")
    assert "looks like a secret" in finding.message


def test_step_types_the_platform_cannot_vouch_for_are_refused_by_it_and_skipped_by_the_policy():
    data = definition()
    data["Steps"].append({"Name": "Hook", "Type": "Lambda", "Arguments": {}})
    [finding] = check_definition(data, CTX)
    assert (finding.step, finding.field) == ("Hook", "Type")
    assert "(supported: ClarifyCheck, Condition, Fail, Model, Processing, QualityCheck, " \
           "RegisterModel, Training, Transform, Tuning)" in finding.message
    assert policy_verdicts(data, CTX) == set()


# --- where the checks differ on purpose ---------------------------------------------------

def test_parameters_are_refused_by_the_platform_and_read_at_their_default_by_the_policy():
    """A parameter can be overridden when an execution starts: the platform wants literals; the
    policy judges the deployed default."""
    data = definition()
    change("Train", "ResourceConfig.InstanceType", {"Get": "Parameters.InstanceType"})(data)
    [finding] = check_definition(data, CTX)
    assert (finding.field, "must be a literal instance type" in finding.message) == (
        "ResourceConfig.InstanceType", True)
    assert policy_verdicts(data, CTX) == set()
    data["Parameters"][0]["DefaultValue"] = "ml.p4d.24xlarge"
    assert policy_verdicts(data, CTX) == {("Train", "ResourceConfig.InstanceType")}


def test_a_step_property_as_output_is_the_platforms_pass_and_the_policys_cannot_evaluate():
    """The platform checks the other step's output where it is written; the policy, which
    judges values, cannot evaluate one known only at run time."""
    data = definition()
    model_data = {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    change("Prep", "ProcessingOutputConfig.Outputs.0.S3Output.S3Uri", model_data)(data)
    assert check_definition(data, CTX) == []
    assert unknowns("pipeline-definition-rules", stack_resources(CTX, data), policy_config(CTX)) \
        == ["value at step Prep: ProcessingOutputConfig.Outputs[0].S3Output.S3Uri "
            "(Steps.Train.ModelArtifacts.S3ModelArtifacts) is not known until deploy"]
    # A known bucket before the run-time part is judged by both.
    change("Prep", "ProcessingOutputConfig.Outputs.0.S3Output.S3Uri",
           join("s3://someone-elses-bucket/x", model_data))(data)
    assert_same_verdicts(data, CTX, {("Prep", "ProcessingOutputConfig.Outputs[0].S3Output.S3Uri")})


# --- the shipped examples, rendered for every stack ------------------------------------------

INSTANCE_TYPE = {"Processing": "ProcessingResources.ClusterConfig.InstanceType",
                 "QualityCheck": "ProcessingResources.ClusterConfig.InstanceType",
                 "Training": "ResourceConfig.InstanceType",
                 "Transform": "TransformResources.InstanceType"}
# Top-level job steps: churn is monitored, so its Preprocess sits inside the CoolDown condition.
JOB_STEPS = {"churn": ["Trigger", "Train", "Evaluate"],
             "fraud": ["Prepare", "Train", "ScoreHoldout", "QualityCheck", "Evaluate"]}


def _job_steps(data: dict) -> list[dict]:
    return [s for s in data["Steps"] if s["Type"] in INSTANCE_TYPE]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
@pytest.mark.parametrize("project", EXAMPLES)
def test_examples_pass_both_checks(rendered, stack, project):
    prepared = rendered[(stack, project)]
    data = json.loads(prepared.definition)
    assert check_definition(data, prepared.context) == []
    assert policy_verdicts(data, prepared.context) == set()
    assert unknowns("pipeline-definition-rules", stack_resources(prepared.context, data),
                    policy_config(prepared.context)) == []
    assert [s["Name"] for s in _job_steps(data)] == JOB_STEPS[project]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
@pytest.mark.parametrize("project", EXAMPLES)
def test_examples_broken_everywhere_fail_both_checks_alike(rendered, stack, project):
    """Every job step of the example gets a foreign instance type, a runtime over the stack's
    limit and unencrypted volumes: both checks name the same steps and fields."""
    prepared = rendered[(stack, project)]
    data = json.loads(prepared.definition)
    expected = set()
    for job in _job_steps(data):
        args, kind = job["Arguments"], job["Type"]
        *parents, last = INSTANCE_TYPE[kind].split(".")
        resources = args
        for part in parents:
            resources = resources[part]
        resources[last] = "ml.p4d.24xlarge"
        del resources["VolumeKmsKeyId"]
        expected |= {(job["Name"], INSTANCE_TYPE[kind]),
                     (job["Name"], INSTANCE_TYPE[kind].replace("InstanceType", "VolumeKmsKeyId"))}
        if "StoppingCondition" in args:
            args["StoppingCondition"]["MaxRuntimeInSeconds"] = prepared.context.runtime_limit_seconds + 1
            expected.add((job["Name"], "StoppingCondition.MaxRuntimeInSeconds"))
    assert_same_verdicts(data, prepared.context, expected)
