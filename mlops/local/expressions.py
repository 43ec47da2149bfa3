"""Pipeline expressions evaluated during a run: parameters, execution variables, step
properties, ``Std:Join``, ``Std:JsonGet`` on property files, and conditions.

The semantics are SageMaker's (and the SageMaker SDK's local executor's): a ``Get`` of
``Steps.<name>.<path>`` reads the named step's properties (lists of outputs keyed by their name,
``Outputs['train']``); a ``JsonGet`` reads a JSON document a step wrote (its property file) and
takes a dotted path in it; ``Std:Join`` joins the string form of its values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jmespath

from mlops.local.storage import join_uri


class ExpressionError(Exception):
    """A value cannot be evaluated; the message names the expression."""


@dataclass
class Scope:
    """What expressions can see at one point of a run."""

    parameters: Mapping[str, Any]
    execution: Mapping[str, Any]  # PipelineExecutionId, PipelineName, StartDateTime, ...
    read: Callable[[str], bytes]  # reads an s3:// URI (for JsonGet)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> properties
    property_files: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    def evaluate(self, value: Any) -> Any:
        """``value`` with every expression in it (at any depth) replaced by what it is now."""
        if isinstance(value, list):
            return [self.evaluate(v) for v in value]
        if not isinstance(value, Mapping):
            return value
        if "Get" in value and len(value) == 1:
            return self.get(str(value["Get"]))
        if "Std:Join" in value and len(value) == 1:
            join = value["Std:Join"]
            return str(join.get("On", "")).join(_text(self.evaluate(v)) for v in join.get("Values", []))
        if "Std:JsonGet" in value and len(value) == 1:
            return self.json_get(value["Std:JsonGet"])
        return {k: self.evaluate(v) for k, v in value.items()}

    def get(self, reference: str) -> Any:
        head, _, rest = reference.partition(".")
        if head == "Parameters":
            if rest not in self.parameters:
                raise ExpressionError(f"{reference}: no such parameter")
            return self.parameters[rest]
        if head == "Execution":
            if rest not in self.execution:
                raise ExpressionError(f"{reference}: not an execution variable of a local run")
            return self.execution[rest]
        if head == "Steps":
            step, _, path = rest.partition(".")
            if step not in self.properties:
                raise ExpressionError(f"{reference}: step {step} has not run")
            try:
                return dot_path(self.properties[step], path)
            except (KeyError, IndexError, TypeError):
                raise ExpressionError(f"{reference}: step {step} has no such property") from None
        raise ExpressionError(f"{reference}: unknown reference")

    def json_get(self, spec: Mapping[str, Any]) -> Any:
        """``Std:JsonGet``: a path in a property file (or in the JSON at an S3 URI)."""
        path = str(spec.get("Path", ""))
        if "PropertyFile" in spec:
            reference = spec["PropertyFile"]
            name = reference.get("Get", "") if isinstance(reference, Mapping) else str(reference)
            parts = str(name).split(".")
            if len(parts) != 4 or parts[0] != "Steps" or parts[2] != "PropertyFiles":
                raise ExpressionError(f"JsonGet: {name} is not Steps.<step>.PropertyFiles.<name>")
            step, file = parts[1], parts[3]
            declared = self.property_files.get(step, {}).get(file)
            if declared is None:
                raise ExpressionError(f"JsonGet: step {step} has no property file {file}")
            outputs = self.get(f"Steps.{step}.ProcessingOutputConfig.Outputs")
            output = outputs.get(declared["OutputName"]) if isinstance(outputs, Mapping) else None
            if output is None:
                raise ExpressionError(f"JsonGet: step {step} has no output "
                                      f"{declared['OutputName']} for property file {file}")
            uri = join_uri(output["S3Output"]["S3Uri"], declared["FilePath"])
        else:
            uri = _text(self.evaluate(spec.get("S3Uri")))
        try:
            document = json.loads(self.read(uri))
        except FileNotFoundError:
            raise ExpressionError(f"JsonGet: {uri} was not written") from None
        except json.JSONDecodeError as exc:
            raise ExpressionError(f"JsonGet: {uri} is not JSON ({exc.msg})") from None
        try:
            return dot_path(document, path)
        except (KeyError, IndexError, TypeError):
            raise ExpressionError(f"JsonGet: {uri} has no {path}") from None

    def condition(self, spec: Mapping[str, Any]) -> bool:
        """One condition of a Condition step (Equals, GreaterThan..., In, Not, Or)."""
        kind = str(spec.get("Type"))
        if kind == "Not":
            return not self.condition(spec["Expression"])
        if kind == "Or":
            return any(self.condition(c) for c in spec.get("Conditions", []))
        if kind == "In":
            query = self.evaluate(spec.get("QueryValue"))
            return any(_equal(query, self.evaluate(v)) for v in spec.get("Values", []))
        compare = _COMPARISONS.get(kind)
        if compare is None:
            raise ExpressionError(f"condition type {kind} is not known")
        left, right = self.evaluate(spec.get("LeftValue")), self.evaluate(spec.get("RightValue"))
        return compare(*_comparable(left, right))


_KEYED = re.compile(r"\[(['\"])(.*?)\1\]")


def dot_path(document: Any, path: str) -> Any:
    """A property or JSON path: ``a.b``, ``Outputs['train'].S3Uri``, ``Containers[0].Image``.

    Read with JMESPath, once ``['name']`` (SageMaker's way to key a list by name) is written as
    JMESPath's ``."name"``; KeyError when nothing is there."""
    if not path:
        return document
    expression = _KEYED.sub(lambda m: '."' + m.group(2).replace('"', '\\"') + '"', path)
    try:
        found = jmespath.search(expression, document)
    except jmespath.exceptions.JMESPathError:
        raise KeyError(path) from None
    if found is None:
        raise KeyError(path)
    return found


def _text(value: Any) -> str:
    """How Std:Join writes a value: booleans lower-case as in JSON, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Numbers compare as numbers even when one side was read from JSON text."""
    try:
        return float(left), float(right)
    except (TypeError, ValueError):
        return str(left), str(right)


def _equal(a: Any, b: Any) -> bool:
    x, y = _comparable(a, b)
    return bool(x == y)


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: bool(a == b),
    "GreaterThan": lambda a, b: bool(a > b),
    "GreaterThanOrEqualTo": lambda a, b: bool(a >= b),
    "LessThan": lambda a, b: bool(a < b),
    "LessThanOrEqualTo": lambda a, b: bool(a <= b),
}
