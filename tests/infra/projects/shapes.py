"""Check a rendered pipeline definition against the SageMaker API's request shapes.

Each step's ``Arguments`` is the request of one SageMaker API operation (minus the job name the
service fills in). botocore's service model and ParamValidator find missing, unknown and
mis-typed members; literal strings are also held to the model's enums, patterns and lengths.
A pipeline expression stands in for a value of its type: ``Std:Join`` is a string, a step or
execution property is a string, a ``Parameters.X`` reference has the parameter's type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

STEP_OPERATIONS = {
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "QualityCheck": ("CreateProcessingJob", "ProcessingJobName"),
    "ClarifyCheck": ("CreateProcessingJob", "ProcessingJobName"),
    "Training": ("CreateTrainingJob", "TrainingJobName"),
    "Transform": ("CreateTransformJob", "TransformJobName"),
    "Model": ("CreateModel", "ModelName"),
    "RegisterModel": ("CreateModelPackage", None),
}
CONDITION_TYPES = {"Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan",
                   "LessThanOrEqualTo", "In", "Not", "Or"}
PARAMETER_TYPES = {"String": {"string"}, "Integer": {"integer", "long"},
                   "Float": {"float", "double"}, "Boolean": {"boolean"}}
PLACEHOLDERS = {"string": "x", "integer": 1, "long": 1, "float": 1.0, "double": 1.0,
                "boolean": True}


@lru_cache(maxsize=1)
def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def _expression(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key in ("Get", "Std:Join", "Std:JsonGet"):
            return key
    return None


class _Checker:
    def __init__(self, parameters: dict[str, str]) -> None:
        self.parameters = parameters
        self.problems: list[str] = []

    def placeholder(self, value: dict[str, Any], shape: Any, path: str) -> Any:
        kind = shape.type_name
        if kind not in PLACEHOLDERS:
            self.problems.append(f"{path}: an expression where a {kind} is expected")
            return value
        expression = _expression(value)
        if expression == "Std:Join" and kind != "string":
            self.problems.append(f"{path}: Std:Join makes a string; the API expects a {kind}")
        if expression == "Get":
            ref = str(value["Get"])
            if ref.startswith("Parameters."):
                ptype = self.parameters.get(ref.split(".", 1)[1])
                if ptype is None:
                    self.problems.append(f"{path}: {ref} is not a pipeline parameter")
                elif kind not in PARAMETER_TYPES.get(ptype, set()):
                    self.problems.append(f"{path}: {ref} is a {ptype} parameter; the API "
                                         f"expects a {kind} (use .to_string() for strings)")
            elif kind != "string":
                self.problems.append(f"{path}: {ref} is a string property; the API expects "
                                     f"a {kind}")
        if kind == "string" and "enum" in shape.metadata:
            return shape.metadata["enum"][0]
        return PLACEHOLDERS[kind] if kind != "string" else "x" * max(1, shape.metadata.get("min", 1))

    def literal(self, value: Any, shape: Any, path: str) -> None:
        meta = shape.metadata
        if shape.type_name == "string" and isinstance(value, str):
            if "enum" in meta and value not in meta["enum"]:
                self.problems.append(f"{path}: {value!r} is not one of {meta['enum']}")
            if len(value) > meta.get("max", len(value)):
                self.problems.append(f"{path}: {len(value)} characters > {meta['max']}")
            if "pattern" in meta and not re.fullmatch(meta["pattern"], value, re.DOTALL):
                self.problems.append(f"{path}: {value!r} does not match {meta['pattern']}")
        if (shape.type_name in ("integer", "long") and isinstance(value, int)
                and not meta.get("min", value) <= value <= meta.get("max", value)):
            self.problems.append(f"{path}: {value} outside [{meta.get('min')}, {meta.get('max')}]")

    def substitute(self, value: Any, shape: Any, path: str) -> Any:
        """``value`` with expressions replaced by placeholders of the member's type."""
        if _expression(value):
            return self.placeholder(value, shape, path)
        kind = shape.type_name
        if kind == "structure" and isinstance(value, dict):
            return {k: self.substitute(v, shape.members[k], f"{path}.{k}")
                    if k in shape.members else v for k, v in value.items()}
        if kind == "list" and isinstance(value, list):
            return [self.substitute(v, shape.member, f"{path}[{i}]") for i, v in enumerate(value)]
        if kind == "map" and isinstance(value, dict):
            return {k: self.substitute(v, shape.value, f"{path}.{k}") for k, v in value.items()}
        self.literal(value, shape, path)
        return value


def _steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            yield from _steps(step["Arguments"].get("IfSteps", []))
            yield from _steps(step["Arguments"].get("ElseSteps", []))


def _empty_env_values(args: Any, path: str = "") -> Iterator[str]:
    """Environment variables set to "" (a container reads them as set, e.g. SAGEMAKER_PROGRAM)."""
    if isinstance(args, dict):
        for key, value in args.items():
            if key == "Environment" and isinstance(value, dict):
                yield from (f"{path}.{key}.{name}" for name, v in value.items() if v == "")
            else:
                yield from _empty_env_values(value, f"{path}.{key}")
    elif isinstance(args, list):
        for i, value in enumerate(args):
            yield from _empty_env_values(value, f"{path}[{i}]")


def shape_problems(definition: str | dict[str, Any]) -> list[str]:
    """Every way the definition's steps differ from the SageMaker API requests; [] when none."""
    from botocore.validate import ParamValidator

    data = json.loads(definition) if isinstance(definition, str) else definition
    parameters = {p["Name"]: p["Type"] for p in data.get("Parameters", [])}
    problems: list[str] = []
    names = [s["Name"] for s in _steps(data["Steps"])]
    problems += [f"step name {n} is used twice" for n in sorted({n for n in names
                                                                 if names.count(n) > 1})]
    for step in _steps(data["Steps"]):
        name, kind, args = step["Name"], step["Type"], step.get("Arguments", {})
        if kind == "Condition":
            for i, cond in enumerate(args.get("Conditions", [])):
                if cond.get("Type") not in CONDITION_TYPES:
                    problems.append(f"{name}.Conditions[{i}]: unknown type {cond.get('Type')}")
            continue
        if kind == "Fail":
            if set(args) - {"ErrorMessage"}:
                problems.append(f"{name}: unknown Fail arguments {sorted(set(args) - {'ErrorMessage'})}")
            continue
        if kind not in STEP_OPERATIONS:
            problems.append(f"{name}: step type {kind} has no API operation to check against")
            continue
        operation, job_name = STEP_OPERATIONS[kind]
        shape = _model().operation_model(operation).input_shape
        checker = _Checker(parameters)
        request = checker.substitute(args, shape, name)
        if job_name:
            if job_name in request:
                problems.append(f"{name}: {job_name} is set; the pipeline names its jobs")
            request[job_name] = "name"
        report = ParamValidator().validate(request, shape)
        if report.has_errors():
            problems.append(f"{name} ({operation}): {' '.join(report.generate_report().split())}")
        problems += [f"{p} ({operation})" for p in checker.problems]
        problems += [f"{p}: empty environment variable" for p in _empty_env_values(args, name)]
    return problems
