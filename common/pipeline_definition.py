"""Read a rendered SageMaker pipeline definition: its steps, where each step type keeps the
settings the platform judges, and what a value is before any execution starts.

The platform rules (``infra.projects.rules``, before a pipeline is registered) and the policy
pack (``pipeline-definition-rules``, on the deployed stack) both read definitions through this
module, so they look at the same fields and understand expressions the same way. Pure and
stdlib-only: it imports nothing of ours (docs/decisions.md, "Dependency rule").

A step's ``Arguments`` is the request of one SageMaker API call: ``CreateProcessingJob``
(Processing, and QualityCheck / ClarifyCheck, which run processing jobs),
``CreateTrainingJob`` (Training), ``CreateHyperParameterTuningJob`` (Tuning: each of its
training job definitions is read as a training request), ``CreateTransformJob``,
``CreateModel``, ``CreateModelPackage`` (RegisterModel). Field paths are dotted paths into that
request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

# --- where each step type keeps what the platform judges --------------------------------------


@dataclass(frozen=True)
class Location:
    """Where a value sits in a request: at ``path``, or, with ``item``, at ``item`` inside each
    element of the list at ``path``. A location is read when ``when_present`` (relative to the
    same object as the value) is present; without it, always, as for a member the API requires.
    """

    path: str
    item: str | None = None
    when_present: str | None = None


@dataclass(frozen=True)
class StepFields:
    """Where one step type's request keeps each setting (None or empty: it has none)."""

    instance_type: str | None = None
    volume_kms_key: str | None = None
    output_kms_key: str | None = None
    outputs: tuple[Location, ...] = ()  # S3 locations the job writes to
    max_runtime: str | None = None
    role: str | None = None
    environment: tuple[Location, ...] = ()  # maps of environment variables
    network_isolation: str | None = None  # the flag the platform requires where a stack says so
    processing: bool = False  # a processing request: the output key covers its Outputs only
    package_group: str | None = None  # model package group the step registers into
    approval_status: str | None = None
    baseline_group: str | None = None  # a key of the step itself: the group baselines come from

    @property
    def runs_job(self) -> bool:
        """True for steps that start a SageMaker job on instances (processing, training,
        transform), the steps with an instance type, volumes and outputs."""
        return self.instance_type is not None


PROCESSING_OUTPUTS = "ProcessingOutputConfig.Outputs"

PROCESSING = StepFields(
    instance_type="ProcessingResources.ClusterConfig.InstanceType",
    volume_kms_key="ProcessingResources.ClusterConfig.VolumeKmsKeyId",
    output_kms_key="ProcessingOutputConfig.KmsKeyId",
    outputs=(Location(PROCESSING_OUTPUTS, item="S3Output.S3Uri", when_present="S3Output"),),
    max_runtime="StoppingCondition.MaxRuntimeInSeconds",
    role="RoleArn",
    environment=(Location("Environment"),),
    processing=True,
)
MODEL_ARTIFACTS = Location("OutputDataConfig.S3OutputPath")
CHECKPOINTS = Location("CheckpointConfig.S3Uri", when_present="CheckpointConfig")
# Network isolation is also settable on processing (NetworkConfig) and model requests; the
# platform requires it of training only, so only the training table names it.
TRAINING = StepFields(
    instance_type="ResourceConfig.InstanceType",
    volume_kms_key="ResourceConfig.VolumeKmsKeyId",
    output_kms_key="OutputDataConfig.KmsKeyId",
    outputs=(
        MODEL_ARTIFACTS,
        CHECKPOINTS,
        Location("DebugHookConfig.S3OutputPath", when_present="DebugHookConfig"),
        Location("TensorBoardOutputConfig.S3OutputPath", when_present="TensorBoardOutputConfig"),
        Location("ProfilerConfig.S3OutputPath", when_present="ProfilerConfig.S3OutputPath"),
        Location("DebugRuleConfigurations", item="S3OutputPath", when_present="S3OutputPath"),
        Location("ProfilerRuleConfigurations", item="S3OutputPath", when_present="S3OutputPath"),
    ),
    max_runtime="StoppingCondition.MaxRuntimeInSeconds",
    role="RoleArn",
    environment=(Location("Environment"),),
    network_isolation="EnableNetworkIsolation",
)
# A tuning job's HyperParameterTrainingJobDefinition: a training request without the debugger,
# profiler and TensorBoard settings.
TUNING = replace(TRAINING, outputs=(MODEL_ARTIFACTS, CHECKPOINTS))
TRANSFORM = StepFields(  # CreateTransformJob has no role (the model's) and no max runtime
    instance_type="TransformResources.InstanceType",
    volume_kms_key="TransformResources.VolumeKmsKeyId",
    output_kms_key="TransformOutput.KmsKeyId",
    outputs=(
        Location("TransformOutput.S3OutputPath"),
        Location("DataCaptureConfig.DestinationS3Uri", when_present="DataCaptureConfig"),
    ),
    environment=(Location("Environment"),),
)
MODEL = StepFields(
    role="ExecutionRoleArn",
    environment=(Location("PrimaryContainer.Environment"),
                 Location("Containers", item="Environment")),
)
REGISTER_MODEL = StepFields(
    environment=(Location("InferenceSpecification.Containers", item="Environment"),),
    package_group="ModelPackageGroupName",
    approval_status="ModelApprovalStatus",
)
CHECK = replace(PROCESSING, baseline_group="ModelPackageGroupName")  # QualityCheck, ClarifyCheck
NO_FIELDS = StepFields()  # Condition (its branches are walked as steps), Fail

# Every step type this reader knows; checks refuse or skip the others.
STEP_FIELDS: Mapping[str, StepFields] = {
    "Processing": PROCESSING,
    "QualityCheck": CHECK,
    "ClarifyCheck": CHECK,
    "Training": TRAINING,
    "Tuning": TUNING,  # read on each training job definition (TUNING_DEFINITIONS)
    "Transform": TRANSFORM,
    "Model": MODEL,
    "RegisterModel": REGISTER_MODEL,
    "Condition": NO_FIELDS,
    "Fail": NO_FIELDS,
}
# CreateHyperParameterTuningJob holds one training job definition or a list of them.
TUNING_DEFINITION, TUNING_DEFINITIONS = "TrainingJobDefinition", "TrainingJobDefinitions"


def lookup(node: Any, path: str) -> Any:
    """The value at a dotted ``path`` of nested mappings; None when any part is missing."""
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


# --- the steps -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step as the checks read it. For a Tuning step, one of its training job definitions:
    ``request`` is that definition and ``prefix`` its place in the step's Arguments."""

    name: str
    type: str
    fields: StepFields | None  # None: a step type this reader does not know
    request: Mapping[str, Any]
    prefix: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)  # the step as written

    def path(self, relative: str) -> str:
        """``relative`` as a path inside the step's Arguments."""
        return self.prefix + relative

    def get(self, relative: str) -> Any:
        """The value at ``relative`` in the request (None when missing)."""
        return lookup(self.request, relative)

    def values(self, locations: tuple[Location, ...]) -> list[tuple[str, Any]]:
        """(path inside the Arguments, value) for every location that is read, in order."""
        found: list[tuple[str, Any]] = []
        for loc in locations:
            if loc.item is None:
                if loc.when_present is None or self.get(loc.when_present) is not None:
                    found.append((self.path(loc.path), self.get(loc.path)))
                continue
            items = self.get(loc.path)
            for i, item in enumerate(items if isinstance(items, list) else []):
                if isinstance(item, Mapping) and (
                        loc.when_present is None or lookup(item, loc.when_present) is not None):
                    found.append((f"{self.path(loc.path)}[{i}].{loc.item}", lookup(item, loc.item)))
        return found

    @property
    def needs_output_key(self) -> bool:
        """Whether the request must name an output key. Training and transform jobs always
        write outputs; a processing job encrypts only its ``Outputs``, and without them it has
        no ProcessingOutputConfig at all (the API makes that structure optional)."""
        if self.fields is None or self.fields.output_kms_key is None:
            return False
        if self.fields.processing:
            outputs = self.get(PROCESSING_OUTPUTS)
            return isinstance(outputs, list) and len(outputs) > 0
        return True


def walk(steps: Any) -> Iterator[Step]:
    """Every step in definition order; a Condition is followed by its IfSteps, then its
    ElseSteps (nested conditions likewise); a Tuning step yields one Step per training job
    definition. Entries that are not objects are skipped."""
    for raw in steps if isinstance(steps, list) else []:
        if not isinstance(raw, Mapping):
            continue
        name, kind = str(raw.get("Name")), str(raw.get("Type"))
        args = raw.get("Arguments")
        args = args if isinstance(args, Mapping) else {}
        if kind == "Tuning":
            yield from _tuning_steps(name, kind, args, raw)
        else:
            yield Step(name, kind, STEP_FIELDS.get(kind), args, "", raw)
        if kind == "Condition":
            yield from walk(args.get("IfSteps"))
            yield from walk(args.get("ElseSteps"))


def _tuning_steps(name: str, kind: str, args: Mapping[str, Any], raw: Mapping[str, Any]
                  ) -> Iterator[Step]:
    definitions = args.get(TUNING_DEFINITIONS)
    if isinstance(definitions, list) and TUNING_DEFINITION not in args:
        for i, definition in enumerate(definitions):
            request = definition if isinstance(definition, Mapping) else {}
            yield Step(name, kind, TUNING, request, f"{TUNING_DEFINITIONS}[{i}].", raw)
        return
    # One definition; a missing one reads as an empty request, so every check sees it unset.
    definition = args.get(TUNING_DEFINITION)
    request = definition if isinstance(definition, Mapping) else {}
    yield Step(name, kind, TUNING, request, f"{TUNING_DEFINITION}.", raw)


# --- values and expressions --------------------------------------------------------------------


class Source(Enum):
    """Where a definition value comes from."""

    LITERAL = "literal"  # written in the definition (also a missing value: None)
    PARAMETER = "parameter"  # a pipeline parameter: its default unless overridden at start
    EXECUTION = "execution"  # an execution variable (id, start time, ...): set at start
    STEP = "step"  # another step's property: known only once that step has run
    JOIN = "join"  # Std:Join of parts
    UNRESOLVABLE = "unresolvable"  # an expression this reader does not evaluate (Std:JsonGet...)


@dataclass(frozen=True)
class Resolved:
    """A definition value as known before any execution starts.

    ``value`` is the literal, the parameter's default, a placeholder naming an execution
    variable (``{Execution.PipelineExecutionId}``) or the joined text; None when the value is
    missing or only known at run time (see ``pending``). ``reference`` is the ``Get`` target.
    """

    source: Source
    value: Any = None
    reference: str = ""
    raw: Any = None
    parts: tuple[Resolved, ...] = ()  # a join's parts
    separator: str = ""  # a join's ``On``

    @property
    def literal(self) -> bool:
        """True for a value written as is (not an expression)."""
        return self.source is Source.LITERAL

    def pending(self) -> Resolved | None:
        """The first part only known at run time (a step property, an expression this reader
        does not evaluate, a parameter without default); None when nothing waits for a run."""
        if self.source is Source.JOIN:
            return next((p for p in map(Resolved.pending, self.parts) if p is not None), None)
        if self.source in (Source.STEP, Source.UNRESOLVABLE) or (
                self.source is Source.PARAMETER and self.value is None):
            return self
        return None


def resolve(value: Any, parameters: Mapping[str, Any]) -> Resolved:
    """What ``value`` is before any execution: ``parameters`` maps names to default values."""
    if not isinstance(value, Mapping):
        return Resolved(Source.LITERAL, value, raw=value)
    if "Get" in value:
        ref = value["Get"]
        if not isinstance(ref, str):
            return Resolved(Source.UNRESOLVABLE, raw=value)
        if ref.startswith("Parameters."):
            default = parameters.get(ref.split(".", 1)[1])
            return Resolved(Source.PARAMETER, default, ref, value)
        if ref.startswith("Execution."):
            return Resolved(Source.EXECUTION, "{" + ref + "}", ref, value)
        if ref.startswith("Steps."):
            return Resolved(Source.STEP, None, ref, value)
        return Resolved(Source.UNRESOLVABLE, None, ref, value)
    if "Std:Join" in value and isinstance(value["Std:Join"], Mapping):
        join = value["Std:Join"]
        on, values = str(join.get("On", "")), join.get("Values")
        parts = tuple(resolve(v, parameters) for v in (values if isinstance(values, list) else []))
        text = None
        if all(p.pending() is None and p.value is not None for p in parts):
            text = on.join(str(p.value) for p in parts)
        return Resolved(Source.JOIN, text, raw=value, parts=parts, separator=on)
    return Resolved(Source.UNRESOLVABLE, raw=value)


def known_prefix(value: Resolved, accept: Callable[[Resolved], bool]) -> tuple[str, Resolved | None]:
    """The text of ``value``'s leading parts that ``accept`` takes (separators included), and
    the first part it refuses (None when it takes the whole value). Joins are read part by
    part, so ``Join("/", ["s3://b/x", <step property>])`` is known as far as ``s3://b/x/``."""
    if value.source is not Source.JOIN:
        return (str(value.value), None) if accept(value) else ("", value)
    text = ""
    for i, part in enumerate(value.parts):
        head, stop = known_prefix(part, accept)
        text += (value.separator if i else "") + head
        if stop is not None:
            return text, stop
    return text, None


def s3_bucket(uri: str, *, complete: bool = True) -> str | None:
    """The bucket an ``s3://`` URI names; None when it is no S3 URI or when ``uri`` is only the
    start of one (``complete=False``) that has not yet ended the bucket name with a ``/``."""
    if not uri.startswith("s3://"):
        return None
    bucket, slash, _ = uri[len("s3://"):].partition("/")
    if not slash and not complete:
        return None
    return bucket or None


def describe(value: Resolved) -> str:
    """A short name for a value in messages: its ``Get`` target or its JSON."""
    return value.reference or json.dumps(value.raw)[:60]


# --- the definition ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    """A rendered pipeline definition: parameter defaults and every step, in order."""

    parameters: Mapping[str, Any]
    steps: tuple[Step, ...]

    def resolve(self, value: Any) -> Resolved:
        """``value`` resolved against this definition's parameter defaults."""
        return resolve(value, self.parameters)


def read_definition(data: Mapping[str, Any]) -> Definition:
    """Read a parsed definition (the JSON object SageMaker's CreatePipeline takes)."""
    declared = data.get("Parameters")
    parameters = {str(p.get("Name")): p.get("DefaultValue")
                  for p in (declared if isinstance(declared, list) else [])
                  if isinstance(p, Mapping)}
    return Definition(parameters, tuple(walk(data.get("Steps"))))
