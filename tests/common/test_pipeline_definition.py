"""The pipeline-definition reader on its own: field table, walker, value resolver."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from common import pipeline_definition as pd
from common.pipeline_definition import (
    STEP_FIELDS,
    TRAINING,
    TUNING,
    Source,
    known_prefix,
    lookup,
    read_definition,
    resolve,
    s3_bucket,
    walk,
)
from tests.conftest import ROOT
from tests.infra.projects.shapes import STEP_OPERATIONS


def step(name: str, kind: str, **arguments) -> dict:
    return {"Name": name, "Type": kind, "Arguments": arguments}


def condition(name: str, if_steps: list, else_steps: list) -> dict:
    return step(name, "Condition", Conditions=[], IfSteps=if_steps, ElseSteps=else_steps)


# --- the walker ---------------------------------------------------------------------------------

def test_walk_visits_every_step_in_order_including_nested_branches():
    steps = [
        step("A", "Processing"),
        condition("Outer", [step("B", "Training"),
                            condition("Inner", [step("C", "RegisterModel")], [step("D", "Fail")])],
                  [step("E", "Transform")]),
        step("F", "Model"),
    ]
    assert [(s.name, s.type) for s in walk(steps)] == [
        ("A", "Processing"), ("Outer", "Condition"), ("B", "Training"), ("Inner", "Condition"),
        ("C", "RegisterModel"), ("D", "Fail"), ("E", "Transform"), ("F", "Model")]


def test_walk_skips_what_is_not_a_step_and_marks_unknown_types():
    steps = walk(["not a step", None, step("L", "Lambda"), {"Name": "NoArgs", "Type": "Fail"}])
    lam, no_args = list(steps)
    assert (lam.name, lam.fields, dict(lam.request)) == ("L", None, {})
    assert (no_args.fields, dict(no_args.request)) == (STEP_FIELDS["Fail"], {})
    assert list(walk(None)) == [] and list(walk({"Steps": []})) == []


def test_tuning_is_read_as_its_training_job_definition():
    definition = {"ResourceConfig": {"InstanceType": "ml.m5.large"}}
    [tune] = walk([step("Tune", "Tuning", HyperParameterTuningJobConfig={},
                        TrainingJobDefinition=definition)])
    assert (tune.type, tune.fields, tune.request) == ("Tuning", TUNING, definition)
    assert TUNING.instance_type == TRAINING.instance_type  # the same fields, fewer outputs
    assert tune.path("ResourceConfig.InstanceType") == \
        "TrainingJobDefinition.ResourceConfig.InstanceType"
    assert tune.get("ResourceConfig.InstanceType") == "ml.m5.large"


def test_tuning_with_several_training_job_definitions_yields_each():
    definitions = [{"DefinitionName": "a"}, {"DefinitionName": "b"}]
    steps = list(walk([step("Tune", "Tuning", TrainingJobDefinitions=definitions)]))
    assert [(s.name, s.prefix, s.get("DefinitionName")) for s in steps] == [
        ("Tune", "TrainingJobDefinitions[0].", "a"), ("Tune", "TrainingJobDefinitions[1].", "b")]


def test_tuning_without_a_definition_reads_as_an_empty_training_request():
    [tune] = walk([step("Tune", "Tuning", HyperParameterTuningJobConfig={})])
    assert (tune.fields, dict(tune.request), tune.prefix) == (TUNING, {}, "TrainingJobDefinition.")


def test_read_definition_collects_parameter_defaults_and_steps():
    definition = read_definition({
        "Parameters": [{"Name": "Type", "Type": "String", "DefaultValue": "ml.m5.large"},
                       {"Name": "NoDefault", "Type": "String"}, "junk"],
        "Steps": [step("A", "Processing")]})
    assert definition.parameters == {"Type": "ml.m5.large", "NoDefault": None}
    assert [s.name for s in definition.steps] == ["A"]
    assert definition.resolve({"Get": "Parameters.Type"}).value == "ml.m5.large"


# --- the field table ----------------------------------------------------------------------------

def test_values_reads_single_and_list_locations_when_present():
    [prep] = walk([step("P", "Processing", ProcessingOutputConfig={"Outputs": [
        {"OutputName": "a", "S3Output": {"S3Uri": "s3://b/a"}},
        {"OutputName": "fs", "FeatureStoreOutput": {"FeatureGroupName": "g"}},
        {"OutputName": "c", "S3Output": {}}]})])
    assert prep.values(STEP_FIELDS["Processing"].outputs) == [
        ("ProcessingOutputConfig.Outputs[0].S3Output.S3Uri", "s3://b/a"),
        ("ProcessingOutputConfig.Outputs[2].S3Output.S3Uri", None)]  # required once S3Output is
    [train] = walk([step("T", "Training", OutputDataConfig={"S3OutputPath": "s3://b/m"})])
    assert train.values(TRAINING.outputs) == [("OutputDataConfig.S3OutputPath", "s3://b/m")]
    [train] = walk([step("T", "Training", CheckpointConfig={"S3Uri": "s3://b/c"})])
    assert train.values(TRAINING.outputs) == [("OutputDataConfig.S3OutputPath", None),
                                              ("CheckpointConfig.S3Uri", "s3://b/c")]
    [model] = walk([step("M", "Model", Containers=[{"Environment": {"A": "1"}}, {}])])
    assert model.values(STEP_FIELDS["Model"].environment) == [
        ("PrimaryContainer.Environment", None), ("Containers[0].Environment", {"A": "1"}),
        ("Containers[1].Environment", None)]


def test_output_key_is_needed_by_processing_jobs_only_when_they_have_outputs():
    def needs(kind: str, **arguments) -> bool:
        [s] = walk([step("S", kind, **arguments)])
        return s.needs_output_key

    assert not needs("Processing")
    assert not needs("Processing", ProcessingOutputConfig={"Outputs": []})
    assert needs("Processing", ProcessingOutputConfig={"Outputs": [{"OutputName": "o"}]})
    assert not needs("QualityCheck")
    assert needs("Training") and needs("Transform") and needs("Tuning")
    assert not needs("Model") and not needs("Condition")


def test_processing_shaped_steps_share_the_processing_table():
    assert {kind for kind, fields in STEP_FIELDS.items() if fields.processing} == {
        "Processing", "QualityCheck", "ClarifyCheck"}
    assert STEP_FIELDS["QualityCheck"].baseline_group == "ModelPackageGroupName"
    assert {kind for kind, fields in STEP_FIELDS.items() if fields.runs_job} == {
        "Processing", "QualityCheck", "ClarifyCheck", "Training", "Tuning", "Transform"}


def _request_shapes():
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    shapes = {kind: model.operation_model(op).input_shape for kind, (op, _) in STEP_OPERATIONS.items()}
    shapes["Tuning"] = model.shape_for("HyperParameterTrainingJobDefinition")
    return shapes


def _shape_at(shape, path: str):
    for part in path.split("."):
        assert shape.type_name == "structure" and part in shape.members, (shape.name, part)
        shape = shape.members[part]
    return shape


@pytest.mark.parametrize("kind", sorted(set(STEP_FIELDS) - {"Condition", "Fail"}))
def test_every_table_path_exists_in_the_api_request(kind):
    """Each path names a member of the SageMaker request the step's Arguments are (for Tuning,
    of a HyperParameterTrainingJobDefinition)."""
    request, fields = _request_shapes()[kind], STEP_FIELDS[kind]
    singles = [fields.instance_type, fields.volume_kms_key, fields.output_kms_key,
               fields.max_runtime, fields.role, fields.network_isolation, fields.package_group,
               fields.approval_status]
    for path in filter(None, singles):
        _shape_at(request, path)
    for loc in (*fields.outputs, *fields.environment):
        base = request
        if loc.item is not None:
            listed = _shape_at(request, loc.path)
            assert listed.type_name == "list", loc
            base = listed.member
        _shape_at(base, loc.item or loc.path)
        if loc.when_present:
            _shape_at(base, loc.when_present)


def test_lookup_follows_dotted_paths_through_mappings_only():
    assert lookup({"a": {"b": 1}}, "a.b") == 1
    assert lookup({"a": 1}, "a.b") is None and lookup({"a": [{"b": 1}]}, "a.0.b") is None


# --- the resolver -------------------------------------------------------------------------------

PARAMS = {"Type": "ml.m5.large", "Seconds": 1800, "NoDefault": None, "Zero": 0}


@pytest.mark.parametrize(("value", "source", "resolved", "reference"), [
    ("ml.m5.large", Source.LITERAL, "ml.m5.large", ""),
    (3600, Source.LITERAL, 3600, ""),
    (None, Source.LITERAL, None, ""),
    ({"Get": "Parameters.Type"}, Source.PARAMETER, "ml.m5.large", "Parameters.Type"),
    ({"Get": "Parameters.Zero"}, Source.PARAMETER, 0, "Parameters.Zero"),
    ({"Get": "Parameters.NoDefault"}, Source.PARAMETER, None, "Parameters.NoDefault"),
    ({"Get": "Parameters.Undeclared"}, Source.PARAMETER, None, "Parameters.Undeclared"),
    ({"Get": "Execution.PipelineExecutionId"}, Source.EXECUTION,
     "{Execution.PipelineExecutionId}", "Execution.PipelineExecutionId"),
    ({"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}, Source.STEP, None,
     "Steps.Train.ModelArtifacts.S3ModelArtifacts"),
    ({"Get": "PipelineExperimentConfig.ExperimentName"}, Source.UNRESOLVABLE, None,
     "PipelineExperimentConfig.ExperimentName"),
    ({"Std:JsonGet": {"PropertyFile": {"Get": "Steps.E.PropertyFiles.E"}, "Path": "auc"}},
     Source.UNRESOLVABLE, None, ""),
    ({"Get": 5}, Source.UNRESOLVABLE, None, ""),
])
def test_resolve_reads_each_kind_of_value(value, source, resolved, reference):
    result = resolve(value, PARAMS)
    assert (result.source, result.value, result.reference, result.raw) == (
        source, resolved, reference, value)


def test_pending_names_what_is_only_known_at_run_time():
    assert resolve("x", PARAMS).pending() is None
    assert resolve(None, PARAMS).pending() is None  # missing, not pending
    assert resolve({"Get": "Parameters.Type"}, PARAMS).pending() is None
    assert resolve({"Get": "Execution.PipelineExecutionId"}, PARAMS).pending() is None
    for pending in ({"Get": "Steps.A.B"}, {"Get": "Parameters.NoDefault"}, {"Std:JsonGet": {}}):
        assert resolve(pending, PARAMS).pending() == resolve(pending, PARAMS)


def test_join_resolves_to_text_when_every_part_is_known():
    run = {"Std:Join": {"On": "/", "Values": ["s3://b/p", "runs",
                                              {"Get": "Execution.PipelineExecutionId"}]}}
    value = resolve({"Std:Join": {"On": "/", "Values": [run, {"Get": "Parameters.Seconds"}]}},
                    PARAMS)
    assert value.source is Source.JOIN
    assert value.value == "s3://b/p/runs/{Execution.PipelineExecutionId}/1800"
    assert [p.source for p in value.parts] == [Source.JOIN, Source.PARAMETER]
    assert resolve({"Std:Join": {"Values": ["a", "b"]}}, PARAMS).value == "ab"  # On defaults to ""
    assert resolve({"Std:Join": {"On": "/", "Values": []}}, PARAMS).value == ""


def test_join_with_a_step_property_is_pending_on_that_part():
    step_ref = {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    value = resolve({"Std:Join": {"On": "/", "Values": ["s3://b/x", step_ref]}}, PARAMS)
    assert value.value is None
    assert value.pending() == resolve(step_ref, PARAMS)
    assert pd.describe(value.pending()) == "Steps.Train.ModelArtifacts.S3ModelArtifacts"
    assert pd.describe(resolve({"Std:JsonGet": {}}, PARAMS)) == '{"Std:JsonGet": {}}'


def test_known_prefix_stops_at_the_first_refused_part_after_its_separator():
    run = {"Std:Join": {"On": "/", "Values": [
        {"Std:Join": {"On": "/", "Values": ["s3://b/p", "runs",
                                            {"Get": "Execution.PipelineExecutionId"}]}},
        "scores"]}}
    value = resolve(run, PARAMS)
    written = lambda part: part.literal  # noqa: E731
    text, stop = known_prefix(value, written)
    assert text == "s3://b/p/runs/" and stop is not None and stop.source is Source.EXECUTION
    text, stop = known_prefix(value, lambda part: part.pending() is None)
    assert (text, stop) == ("s3://b/p/runs/{Execution.PipelineExecutionId}/scores", None)
    assert known_prefix(resolve({"Get": "Steps.A.B"}, PARAMS), written)[0] == ""
    assert known_prefix(resolve("s3://b/x", PARAMS), written) == ("s3://b/x", None)


@pytest.mark.parametrize(("uri", "complete", "bucket"), [
    ("s3://bucket/key", True, "bucket"),
    ("s3://bucket", True, "bucket"),
    ("s3://bucket", False, None),  # "s3://bucket" + "-evil/x" would be another bucket
    ("s3://bucket/", False, "bucket"),
    ("s3://", True, None),
    ("https://bucket.s3.amazonaws.com/key", True, None),
    ("", True, None),
])
def test_s3_bucket(uri, complete, bucket):
    assert s3_bucket(uri, complete=complete) == bucket


def test_the_reader_is_a_pure_leaf():
    """Stdlib only: nothing of infra, mlops, policies (or any third-party package)."""
    source = (ROOT / "common" / "pipeline_definition.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
    assert Path(pd.__file__).resolve() == (ROOT / "common" / "pipeline_definition.py").resolve()
