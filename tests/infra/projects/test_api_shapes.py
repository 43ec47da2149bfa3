"""Both examples, rendered for every stack, match the SageMaker API request shapes step by step."""

from __future__ import annotations

import copy
import json

import pytest

from tests.conftest import EXAMPLES, SHIPPED_STACKS
from tests.infra.projects.shapes import shape_problems

STEP_TYPES = {
    # churn is monitored: the platform's Trigger and CoolDown (holding Preprocess) come first.
    "churn": ["Processing", "Condition", "Processing", "Training", "Processing", "Condition",
              "RegisterModel", "Fail"],
    "fraud": ["Processing", "Training", "Model", "Transform", "QualityCheck", "Processing",
              "Condition", "RegisterModel", "Fail"],
}


def _all_steps(data: dict) -> list[dict]:
    out = []
    for step in data["Steps"]:
        out.append(step)
        if step["Type"] == "Condition":
            out += step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"]
    return out


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
@pytest.mark.parametrize("project", EXAMPLES)
def test_every_step_matches_the_api_request_shape(rendered, stack, project):
    data = json.loads(rendered[(stack, project)].definition)
    assert [s["Type"] for s in _all_steps(data)] == STEP_TYPES[project]
    assert shape_problems(data) == []


def _step(data: dict, name: str) -> dict:
    return next(s for s in _all_steps(data) if s["Name"] == name)["Arguments"]


# The checker is not vacuous: each mutation of a valid definition is reported.
BROKEN = [
    ("unknown-member", "Train", lambda a: a["ResourceConfig"].update(VolumeKms="k"),
     "Unknown parameter in ResourceConfig"),
    ("missing-required", "Preprocess", lambda a: a.pop("AppSpecification"),
     "Missing required parameter"),
    ("wrong-type", "Train", lambda a: a["StoppingCondition"].update(MaxRuntimeInSeconds="1h"),
     "Invalid type for parameter StoppingCondition.MaxRuntimeInSeconds"),
    ("bad-enum", "Preprocess",
     lambda a: a["ProcessingInputs"][0]["S3Input"].update(S3InputMode="Stream"),
     "is not one of"),
    ("integer-parameter-in-string", "Train",
     lambda a: a["HyperParameters"].update(max_depth={"Get": "Parameters.MaxDepth"}),
     "is a Integer parameter; the API expects a string"),
    ("unknown-parameter", "Train",
     lambda a: a["HyperParameters"].update(max_depth={"Get": "Parameters.Nope"}),
     "is not a pipeline parameter"),
    ("join-for-number", "Train",
     lambda a: a["StoppingCondition"].update(
         MaxRuntimeInSeconds={"Std:Join": {"On": "", "Values": ["1"]}}),
     "Std:Join makes a string"),
    ("bad-pattern", "Register", lambda a: a.update(ModelPackageGroupName="g" * 64),
     "does not match"),
    ("too-long", "Preprocess", lambda a: a["Environment"].update(LABEL="x" * 300),
     "300 characters > 256"),
    ("out-of-range", "Train", lambda a: a["StoppingCondition"].update(MaxRuntimeInSeconds=0),
     "Invalid value for parameter StoppingCondition.MaxRuntimeInSeconds"),
    ("empty-env", "Register",
     lambda a: a["InferenceSpecification"]["Containers"][0]["Environment"].update(
         SAGEMAKER_PROGRAM=""), "SAGEMAKER_PROGRAM: empty environment variable"),
    ("job-name-set", "Evaluate", lambda a: a.update(ProcessingJobName="fixed"),
     "the pipeline names its jobs"),
]


@pytest.mark.parametrize(("step", "mutate", "expected"), [b[1:] for b in BROKEN],
                         ids=[b[0] for b in BROKEN])
def test_shape_checker_reports_each_deviation(rendered, step, mutate, expected):
    data = copy.deepcopy(json.loads(rendered[("dev", "churn")].definition))
    mutate(_step(data, step))
    problems = shape_problems(data)
    assert problems and any(expected in p for p in problems), problems
