"""The retraining wrap: a monitored project's pipeline starts with a Trigger step and a cool-down.

EventBridge rules and the schedule start the training pipeline directly, with the static
parameters ``TriggerSource`` (drift | new-data | schedule; default manual) and ``TriggerDetail``
(the alarm name, the ``s3://`` prefix). At render time, with the SageMaker SDK, the project's
Pipeline gets those two parameters, a first Processing step ``Trigger`` (the platform's
``trigger.py``: decides, gathers evidence, writes the audit record) and a Condition step
``CoolDown`` on its ``trigger.json`` whose IfSteps are the project's root steps (those that wait
for no other step). When the cool-down applies, the branch is not taken, every other step waits
for a step that never ran, and the execution ends, a success, having run nothing of the project.
"""

from __future__ import annotations

import json
from typing import Any

from infra.projects.context import ProjectContext
from infra.projects.errors import ProjectError

TRIGGER_STEP = "Trigger"
COOLDOWN_STEP = "CoolDown"
TRIGGER_SOURCE, TRIGGER_DETAIL = "TriggerSource", "TriggerDetail"
TRIGGER_SCRIPT = "trigger.py"
TRIGGER_OUTPUT = "trigger"
TRIGGER_FILE = "trigger.json"
TRIGGER_MAX_RUNTIME_SECONDS = 600
SKLEARN_VERSION = "1.2-1"
CODE = "/opt/ml/processing/input/code"


def audit_prefix(project: str) -> str:
    """Where the trigger records of a project go in the model-artifacts bucket."""
    return f"audit/{project}/triggers/"


def root_steps(definition: dict[str, Any]) -> list[str]:
    """Top-level steps that wait for no other step: no DependsOn, no ``Steps.`` reference."""

    def refers(value: Any) -> bool:
        if isinstance(value, dict):
            return any(
                (k == "Get" and isinstance(v, str) and v.startswith("Steps.")) or
                (k not in ("IfSteps", "ElseSteps") and refers(v))
                for k, v in value.items())
        if isinstance(value, list):
            return any(refers(v) for v in value)
        return False

    return [str(s["Name"]) for s in definition.get("Steps") or []
            if not s.get("DependsOn") and not refers(s)]


def wrap(pipeline: Any, ctx: ProjectContext, cooldown_hours: int, source: str) -> Any:
    """``pipeline`` with the trigger parameters, the Trigger step and the CoolDown condition.

    ``source`` names pipeline.py in errors: a project that declares a trigger parameter itself,
    or whose root step is a Condition (SageMaker does not nest conditions).
    """
    from sagemaker.core import image_uris
    from sagemaker.core.processing import Processor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.workflow.conditions import ConditionEquals
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow import ConditionStep, ProcessingStep

    for parameter in pipeline.parameters:
        if parameter.name in (TRIGGER_SOURCE, TRIGGER_DETAIL):
            raise ProjectError(source, f"parameter {parameter.name}", None,
                               "is the platform's (retraining triggers set it in monitored "
                               "projects): rename the parameter")
    names = {step.name for step in pipeline.steps}
    for name in (TRIGGER_STEP, COOLDOWN_STEP):
        if name in names:
            raise ProjectError(source, f"step {name}", None,
                               "is the platform's (monitored projects start with it): rename "
                               "the step")
    roots = set(root_steps(json.loads(pipeline.definition())))
    first = [step for step in pipeline.steps if step.name in roots]
    for step in first:
        if isinstance(step, ConditionStep):
            raise ProjectError(source, f"step {step.name}", None,
                               "a monitored project's first steps run inside the platform's "
                               "CoolDown condition, and SageMaker does not nest conditions: "
                               "make a step the condition reads come first")
    if not first:
        raise ProjectError(source, "build()", None, "the pipeline has no step to start with")

    trigger_source = ParameterString(name=TRIGGER_SOURCE, default_value="manual")
    trigger_detail = ParameterString(name=TRIGGER_DETAIL, default_value="")
    image = image_uris.retrieve("sklearn", region=ctx.region, version=SKLEARN_VERSION,
                                py_version="py3", instance_type=ctx.instance_type)
    processor = Processor(
        role=ctx.role_arn, image_uri=image, instance_count=1, instance_type=ctx.instance_type,
        entrypoint=["python3", f"{CODE}/{TRIGGER_SCRIPT}"],
        volume_kms_key=ctx.kms_key_arn, output_kms_key=ctx.kms_key_arn,
        max_runtime_in_seconds=min(TRIGGER_MAX_RUNTIME_SECONDS, ctx.runtime_limit_seconds),
        sagemaker_session=ctx.session,
        env={"PIPELINE_NAME": ExecutionVariables.PIPELINE_NAME,
             "EXECUTION_ARN": ExecutionVariables.PIPELINE_EXECUTION_ARN,
             "TRIGGER_SOURCE": trigger_source, "TRIGGER_DETAIL": trigger_detail,
             "COOLDOWN_HOURS": str(cooldown_hours),
             "AUDIT_BUCKET": ctx.buckets["model-artifacts"].removeprefix("s3://"),
             "AUDIT_PREFIX": audit_prefix(ctx.project),
             "KMS_KEY_ID": ctx.kms_key_arn, "PROJECT": ctx.project, "STACK": ctx.stack},
    )
    record = PropertyFile(name="TriggerRecord", output_name=TRIGGER_OUTPUT, path=TRIGGER_FILE)
    trigger = ProcessingStep(
        name=TRIGGER_STEP,
        property_files=[record],
        step_args=processor.run(
            inputs=[ProcessingInput(input_name="code", s3_input=ProcessingS3Input(
                s3_uri=ctx.platform_code(TRIGGER_SCRIPT), local_path=CODE,
                s3_data_type="S3Prefix", s3_input_mode="File"))],
            outputs=[ProcessingOutput(output_name=TRIGGER_OUTPUT, s3_output=ProcessingS3Output(
                s3_uri=Join(on="/", values=[ctx.workspace_uri, "runs",
                                            ExecutionVariables.PIPELINE_EXECUTION_ID,
                                            TRIGGER_OUTPUT]),
                local_path=f"/opt/ml/processing/output/{TRIGGER_OUTPUT}",
                s3_upload_mode="EndOfJob"))],
        ),
    )
    cooldown = ConditionStep(
        name=COOLDOWN_STEP,
        conditions=[ConditionEquals(
            left=JsonGet(step_name=TRIGGER_STEP, property_file=record, json_path="run"),
            right=True)],
        if_steps=first, else_steps=[],
    )
    pipeline.parameters = [*pipeline.parameters, trigger_source, trigger_detail]
    pipeline.steps = [trigger, cooldown, *(s for s in pipeline.steps if s.name not in roots)]
    return pipeline
