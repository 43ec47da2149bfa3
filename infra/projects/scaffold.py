"""``mlops pipelines new NAME``: a project folder that validates in every stack at once."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from infra.projects.discover import PROJECT_NAME, pipelines_dir
from infra.projects.errors import ProjectError
from infra.projects.loader import write_lock
from infra.projects.manifest import EMAIL, parse_manifest

PROJECT_YAML = """\
# {name}: describe what this project predicts. Reference: docs/projects.md
name: {name}
owner: {owner}
description: A new ML project.

featureGroups:
  - name: records
    recordIdentifier: record_id
    eventTime: event_time
    features:
      - {{name: record_id, type: String}}
      - {{name: event_time, type: Fractional}}
      - {{name: x1, type: Fractional}}
      - {{name: x2, type: Fractional}}
      - {{name: label, type: Integral}}

pipeline:
  module: pipeline.py
  schedule: null            # e.g. cron(0 3 * * ? *) or rate(1 day)
  parameters:
    NumRound: 100
  instanceType: {{dev: ml.m5.large, staging: ml.m5.large, prod: ml.m5.xlarge}}
  maxRuntimeSeconds: {{dev: 3600, staging: 3600, prod: 3600}}

model:
  packageGroup: {name}
  approval:
    metric: auc
    thresholds: {{dev: 0.60, staging: 0.70, prod: 0.80}}
"""

PIPELINE_PY = '''\
"""{name}: prepare -> XGBoost training -> register (pending manual approval)."""

from __future__ import annotations

from sagemaker.core import image_uris
from sagemaker.core.processing import Processor
from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.core.workflow.parameters import ParameterInteger
from sagemaker.mlops.workflow import ModelStep, Pipeline, ProcessingStep
from sagemaker.mlops.workflow.steps import TrainingStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train.configs import Compute, InputData, Networking, OutputDataConfig, StoppingCondition
from sagemaker.train.model_trainer import ModelTrainer

from infra.projects.context import ProjectContext

CODE = "/opt/ml/processing/input/code"


def build(ctx: ProjectContext) -> Pipeline:
    """The pipeline for one stack; every stack-specific value comes from ctx."""
    session = ctx.session
    run = Join(on="/", values=[ctx.workspace_uri, "runs", ExecutionVariables.PIPELINE_EXECUTION_ID])
    num_round = ParameterInteger(name="NumRound", default_value=int(ctx.parameters["NumRound"]))
    sklearn = image_uris.retrieve("sklearn", region=ctx.region, version="1.2-1", py_version="py3",
                                  instance_type=ctx.instance_type)
    xgboost = image_uris.retrieve("xgboost", region=ctx.region, version="1.7-1")

    prepare = ProcessingStep(
        name="Prepare",
        step_args=Processor(
            role=ctx.role_arn, image_uri=sklearn, instance_count=1,
            instance_type=ctx.instance_type, entrypoint=["python3", f"{{CODE}}/prepare.py"],
            volume_kms_key=ctx.kms_key_arn, output_kms_key=ctx.kms_key_arn,
            max_runtime_in_seconds=ctx.max_runtime_seconds, sagemaker_session=session,
        ).run(
            inputs=[
                ProcessingInput(input_name="code", s3_input=ProcessingS3Input(
                    s3_uri=ctx.code("prepare.py"), local_path=CODE, s3_data_type="S3Prefix",
                    s3_input_mode="File")),
                ProcessingInput(input_name="features", s3_input=ProcessingS3Input(
                    s3_uri=ctx.feature_groups["records"].offline_store_uri,
                    local_path="/opt/ml/processing/input/features", s3_data_type="S3Prefix",
                    s3_input_mode="File")),
            ],
            outputs=[ProcessingOutput(output_name="train", s3_output=ProcessingS3Output(
                s3_uri=Join(on="/", values=[run, "train"]),
                local_path="/opt/ml/processing/output/train", s3_upload_mode="EndOfJob"))],
        ),
    )
    train = TrainingStep(name="Train", step_args=ModelTrainer(
        training_image=xgboost, role=ctx.role_arn, sagemaker_session=session,
        compute=Compute(instance_type=ctx.instance_type, instance_count=1,
                        volume_kms_key_id=ctx.kms_key_arn),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=ctx.max_runtime_seconds),
        output_data_config=OutputDataConfig(s3_output_path=ctx.model_artifacts_uri,
                                            kms_key_id=ctx.kms_key_arn),
        networking=Networking(enable_network_isolation=ctx.network_isolation),
        hyperparameters={{"objective": "binary:logistic", "num_round": num_round.to_string()}},
        input_data_config=[InputData(
            channel_name="train", content_type="text/csv",
            data_source=prepare.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri)],
    ).train())
    register = ModelStep(name="Register", step_args=ModelBuilder(
        image_uri=xgboost, role_arn=ctx.role_arn, sagemaker_session=session,
        s3_model_data_url=train.properties.ModelArtifacts.S3ModelArtifacts,
        dependencies={{}},  # no script-mode variables: the built-in container serves the model
    ).register(
        model_package_group_name=ctx.model_package_group,
        approval_status="PendingManualApproval",
        content_types=["text/csv"], response_types=["text/csv"],
        inference_instances=[ctx.instance_type], transform_instances=[ctx.instance_type],
    ))
    return Pipeline(name=ctx.pipeline_name, parameters=[num_round],
                    steps=[prepare, train, register], sagemaker_session=session)
'''

PREPARE_PY = '''\
"""Offline-store records -> a label-first, header-less training CSV."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

ROOT = Path(os.environ.get("PROCESSING_ROOT", "/opt/ml/processing"))


def main() -> None:
    source = ROOT / "input" / "features"
    files = sorted(source.rglob("*.parquet"))
    df = pd.concat([pd.read_parquet(p) for p in files]) if files else pd.DataFrame()
    if df.empty:
        raise SystemExit(f"no records below {{source}}")
    table = df[["label", "x1", "x2"]].fillna(0.0)
    out = ROOT / "output" / "train"
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "train.csv", header=False, index=False)


if __name__ == "__main__":
    main()
'''


def scaffold(root: Path, name: str, owner: str) -> Path:
    """Create ``pipelines/<name>`` (with its feature-group lock); refuses an invalid or existing
    name and an invalid owner before writing anything."""
    source = f"pipelines/{name}"
    if not PROJECT_NAME.match(name):
        raise ProjectError(source, None, None,
                           "project names are lowercase letters, digits and '-' (max 32), "
                           "starting with a letter")
    if not re.match(EMAIL, owner):
        raise ProjectError(source, "--owner", None, f"must be an email address (got {owner!r})")
    folder = pipelines_dir(root) / name
    if folder.exists():
        raise ProjectError(source, None, None, "already exists")
    manifest_text = PROJECT_YAML.format(name=name, owner=owner)
    manifest, _ = parse_manifest(manifest_text, f"{source}/project.yaml")
    # Write into a temporary folder and rename it: no half-created project on failure.
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{name}-") as tmp:
        staging = Path(tmp) / name
        (staging / "code").mkdir(parents=True)
        (staging / "project.yaml").write_text(manifest_text, encoding="utf-8")
        (staging / "pipeline.py").write_text(PIPELINE_PY.format(name=name), encoding="utf-8")
        (staging / "code" / "prepare.py").write_text(PREPARE_PY.format(name=name),
                                                     encoding="utf-8")
        write_lock(staging, manifest)
        staging.rename(folder)
    return folder
