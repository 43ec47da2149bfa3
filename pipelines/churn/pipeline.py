"""Churn: offline feature store -> XGBoost training -> evaluation and drift baseline -> AUC gate ->
register (with the baseline as the version's ``DriftCheckBaselines``).

Rendered by the platform with ``build(ctx)``; see docs/projects.md. Only the SageMaker SDK and
the platform's context are imported here.
"""

from __future__ import annotations

from sagemaker.core import image_uris
from sagemaker.core.drift_check_baselines import DriftCheckBaselines
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.processing import Processor
from sagemaker.core.shapes import (
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow import ConditionStep, FailStep, ModelStep, Pipeline, ProcessingStep
from sagemaker.mlops.workflow.steps import CacheConfig, TrainingStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train.configs import Compute, InputData, Networking, OutputDataConfig, StoppingCondition
from sagemaker.train.model_trainer import ModelTrainer

from infra.projects.context import ProjectContext

XGBOOST_VERSION = "1.7-1"
SKLEARN_VERSION = "1.2-1"
CODE = "/opt/ml/processing/input/code"
PLATFORM = "/opt/ml/processing/input/platform"  # the platform's shared step code (baseline.py)
# Unchanged data and code reuse the last successful run's outputs for 30 days.
CACHE = CacheConfig(enable_caching=True, expire_after="P30D")


def _s3_in(name: str, uri, local: str) -> ProcessingInput:
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(s3_uri=uri, local_path=local, s3_data_type="S3Prefix",
                                   s3_input_mode="File"),
    )


def _s3_out(name: str, uri, local: str) -> ProcessingOutput:
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(s3_uri=uri, local_path=local, s3_upload_mode="EndOfJob"),
    )


def build(ctx: ProjectContext) -> Pipeline:
    """The churn pipeline for one stack."""
    session = ctx.session
    fg = ctx.feature_groups["customers"]
    run_prefix = Join(on="/", values=[ctx.workspace_uri, "runs", ExecutionVariables.PIPELINE_EXECUTION_ID])

    train_ratio = ParameterFloat(name="TrainRatio", default_value=float(ctx.parameters["TrainRatio"]))
    max_depth = ParameterInteger(name="MaxDepth", default_value=int(ctx.parameters["MaxDepth"]))
    num_round = ParameterInteger(name="NumRound", default_value=int(ctx.parameters["NumRound"]))
    eta = ParameterFloat(name="Eta", default_value=float(ctx.parameters["Eta"]))
    threshold = ParameterFloat(name="ApprovalThreshold",
                               default_value=float(ctx.approval_threshold or 0.0))

    sklearn_image = image_uris.retrieve("sklearn", region=ctx.region, version=SKLEARN_VERSION,
                                        py_version="py3", instance_type=ctx.instance_type)
    xgb_image = image_uris.retrieve("xgboost", region=ctx.region, version=XGBOOST_VERSION)

    # 1. Preprocess: the latest record per customer from the offline store (its Parquet data
    #    files), split into train/validation/test CSVs (label first, no header).
    preprocessor = Processor(
        role=ctx.role_arn, image_uri=sklearn_image, instance_count=1,
        instance_type=ctx.instance_type, entrypoint=["python3", f"{CODE}/preprocess.py"],
        volume_kms_key=ctx.kms_key_arn, output_kms_key=ctx.kms_key_arn,
        max_runtime_in_seconds=ctx.max_runtime_seconds, sagemaker_session=session,
        env={"TRAIN_RATIO": train_ratio.to_string(), "LABEL": "churned",
             "RECORD_ID": fg.record_identifier, "EVENT_TIME": fg.event_time},
    )
    preprocess = ProcessingStep(
        name="Preprocess",
        cache_config=CACHE,
        step_args=preprocessor.run(
            inputs=[
                _s3_in("code", ctx.code("preprocess.py"), CODE),
                _s3_in("features", fg.offline_store_uri, "/opt/ml/processing/input/features"),
            ],
            outputs=[
                _s3_out(split, Join(on="/", values=[run_prefix, split]),
                        f"/opt/ml/processing/output/{split}")
                for split in ("train", "validation", "test")
            ],
        ),
    )

    # 2. Train: the built-in XGBoost algorithm on the train/validation splits.
    trainer = ModelTrainer(
        training_image=xgb_image, role=ctx.role_arn, sagemaker_session=session,
        base_job_name=f"{ctx.project}-train",
        compute=Compute(instance_type=ctx.instance_type, instance_count=1, volume_size_in_gb=30,
                        volume_kms_key_id=ctx.kms_key_arn),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=ctx.max_runtime_seconds),
        output_data_config=OutputDataConfig(
            s3_output_path=Join(on="/", values=[ctx.model_artifacts_uri, "training"]),
            kms_key_id=ctx.kms_key_arn),
        networking=Networking(enable_network_isolation=ctx.network_isolation),
        # CreateTrainingJob takes hyperparameters as strings: pass parameters as string joins.
        hyperparameters={"objective": "binary:logistic", "eval_metric": "auc",
                         "max_depth": max_depth.to_string(), "num_round": num_round.to_string(),
                         "eta": eta.to_string()},
        input_data_config=[
            InputData(channel_name=split, content_type="text/csv",
                      data_source=preprocess.properties.ProcessingOutputConfig.Outputs[
                          split].S3Output.S3Uri)
            for split in ("train", "validation")
        ],
    )
    train = TrainingStep(name="Train", step_args=trainer.train(), cache_config=CACHE)

    # 3. Evaluate: AUC on the held-out test split, written to evaluation.json; the drift baseline
    #    of the train split (per-feature statistics and the model's scores), with the platform's
    #    baseline code, written to baseline.json.
    evaluation = PropertyFile(name="Evaluation", output_name="evaluation", path="evaluation.json")
    evaluator = Processor(
        role=ctx.role_arn, image_uri=xgb_image, instance_count=1,
        instance_type=ctx.instance_type, entrypoint=["python3", f"{CODE}/evaluate.py"],
        volume_kms_key=ctx.kms_key_arn, output_kms_key=ctx.kms_key_arn,
        max_runtime_in_seconds=ctx.max_runtime_seconds, sagemaker_session=session,
    )
    evaluate = ProcessingStep(
        name="Evaluate",
        property_files=[evaluation],
        step_args=evaluator.run(
            inputs=[
                _s3_in("code", ctx.code("evaluate.py"), CODE),
                _s3_in("model", train.properties.ModelArtifacts.S3ModelArtifacts,
                       "/opt/ml/processing/model"),
                _s3_in("test", preprocess.properties.ProcessingOutputConfig.Outputs[
                    "test"].S3Output.S3Uri, "/opt/ml/processing/test"),
                _s3_in("train", preprocess.properties.ProcessingOutputConfig.Outputs[
                    "train"].S3Output.S3Uri, "/opt/ml/processing/train"),
                _s3_in("platform", ctx.platform_code_uri, PLATFORM),
            ],
            outputs=[_s3_out(name, Join(on="/", values=[run_prefix, name]),
                             f"/opt/ml/processing/{name}")
                     for name in ("evaluation", "baseline")],
        ),
    )

    # 4. Register, pending manual approval, when AUC clears the stack's threshold.
    # dependencies={}: no script-mode variables (an empty SAGEMAKER_PROGRAM would make the
    # built-in XGBoost container look for a user script and fail to serve).
    model = ModelBuilder(image_uri=xgb_image, role_arn=ctx.role_arn, sagemaker_session=session,
                         s3_model_data_url=train.properties.ModelArtifacts.S3ModelArtifacts,
                         dependencies={})
    metrics = ModelMetrics(model_statistics=MetricsSource(
        content_type="application/json",
        s3_uri=Join(on="/", values=[
            evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
            "evaluation.json"]),
    ))
    # The drift check compares captured traffic with the baseline of the version that serves.
    baselines = DriftCheckBaselines(model_data_statistics=MetricsSource(
        content_type="application/json",
        s3_uri=Join(on="/", values=[
            evaluate.properties.ProcessingOutputConfig.Outputs["baseline"].S3Output.S3Uri,
            "baseline.json"]),
    ))
    register = ModelStep(
        name="Register",
        step_args=model.register(
            model_package_group_name=ctx.model_package_group,
            approval_status="PendingManualApproval",
            content_types=["text/csv"], response_types=["text/csv"],
            inference_instances=[ctx.instance_type], transform_instances=[ctx.instance_type],
            model_metrics=metrics, drift_check_baselines=baselines,
        ),
    )
    below = FailStep(name="AucBelowThreshold", error_message=Join(
        on=" ", values=["AUC below the approval threshold", threshold]))
    gate = ConditionStep(
        name="CheckAuc",
        conditions=[ConditionGreaterThanOrEqualTo(
            left=JsonGet(step_name=evaluate.name, property_file=evaluation,
                         json_path=f"metrics.{ctx.approval_metric}.value"),
            right=threshold)],
        if_steps=[register], else_steps=[below],
    )
    return Pipeline(
        name=ctx.pipeline_name,
        parameters=[train_ratio, max_depth, num_round, eta, threshold],
        steps=[preprocess, train, evaluate, gate],
        sagemaker_session=session,
    )
