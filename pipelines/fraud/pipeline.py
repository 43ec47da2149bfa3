"""Fraud: prepare -> XGBoost training -> batch transform of the holdout -> model quality check
(SageMaker QualityCheck: the baselines model monitoring uses) -> evaluation (PR-AUC) -> register,
pending manual approval, when the metric clears the stack's threshold.
"""

from __future__ import annotations

from sagemaker.core import image_uris
from sagemaker.core.drift_check_baselines import DriftCheckBaselines
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.model_monitor.dataset_format import DatasetFormat
from sagemaker.core.processing import Processor
from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
from sagemaker.core.transformer import Transformer
from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow import ConditionStep, FailStep, ModelStep, Pipeline, ProcessingStep
from sagemaker.mlops.workflow.check_job_config import CheckJobConfig
from sagemaker.mlops.workflow.quality_check_step import ModelQualityCheckConfig, QualityCheckStep
from sagemaker.mlops.workflow.steps import CacheConfig, TrainingStep, TransformStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train.configs import Compute, InputData, Networking, OutputDataConfig, StoppingCondition
from sagemaker.train.model_trainer import ModelTrainer

from infra.projects.context import ProjectContext

XGBOOST_VERSION = "1.7-1"
SKLEARN_VERSION = "1.2-1"
CODE = "/opt/ml/processing/input/code"
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


def _processor(ctx: ProjectContext, image: str, script: str) -> Processor:
    return Processor(
        role=ctx.role_arn, image_uri=image, instance_count=1, instance_type=ctx.instance_type,
        entrypoint=["python3", f"{CODE}/{script}"], volume_kms_key=ctx.kms_key_arn,
        output_kms_key=ctx.kms_key_arn, max_runtime_in_seconds=ctx.max_runtime_seconds,
        sagemaker_session=ctx.session,
    )


def build(ctx: ProjectContext) -> Pipeline:
    """The fraud pipeline for one stack."""
    session = ctx.session
    fg = ctx.feature_groups["transactions"]
    run = Join(on="/", values=[ctx.workspace_uri, "runs", ExecutionVariables.PIPELINE_EXECUTION_ID])

    max_depth = ParameterInteger(name="MaxDepth", default_value=int(ctx.parameters["MaxDepth"]))
    num_round = ParameterInteger(name="NumRound", default_value=int(ctx.parameters["NumRound"]))
    pos_weight = ParameterFloat(name="ScalePosWeight",
                                default_value=float(ctx.parameters["ScalePosWeight"]))
    threshold = ParameterFloat(name="ApprovalThreshold",
                               default_value=float(ctx.approval_threshold or 0.0))

    sklearn_image = image_uris.retrieve("sklearn", region=ctx.region, version=SKLEARN_VERSION,
                                        py_version="py3", instance_type=ctx.instance_type)
    xgb_image = image_uris.retrieve("xgboost", region=ctx.region, version=XGBOOST_VERSION)

    # 1. Prepare: offline-store records -> train/validation/holdout CSVs (label first).
    prepare = ProcessingStep(
        name="Prepare",
        cache_config=CACHE,
        step_args=_processor(ctx, sklearn_image, "prepare.py").run(
            inputs=[_s3_in("code", ctx.code("prepare.py"), CODE),
                    _s3_in("features", fg.offline_store_uri, "/opt/ml/processing/input/features")],
            outputs=[_s3_out(name, Join(on="/", values=[run, name]),
                             f"/opt/ml/processing/output/{name}")
                     for name in ("train", "validation", "holdout")],
        ),
    )
    outputs = prepare.properties.ProcessingOutputConfig.Outputs

    # 2. Train the built-in XGBoost algorithm.
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
        hyperparameters={"objective": "binary:logistic", "eval_metric": "aucpr", "eta": "0.1",
                         "max_depth": max_depth.to_string(), "num_round": num_round.to_string(),
                         "scale_pos_weight": pos_weight.to_string()},
        input_data_config=[InputData(channel_name=split, content_type="text/csv",
                                     data_source=outputs[split].S3Output.S3Uri)
                           for split in ("train", "validation")],
    )
    train = TrainingStep(name="Train", step_args=trainer.train(), cache_config=CACHE)

    # 3. A SageMaker model of the trained artifact, then a batch transform of the holdout that
    #    scores the features (input filter drops the label) and writes "label,score" lines.
    # dependencies={}: no script-mode variables (an empty SAGEMAKER_PROGRAM would make the
    # built-in XGBoost container look for a user script and fail to serve).
    model = ModelBuilder(image_uri=xgb_image, role_arn=ctx.role_arn, sagemaker_session=session,
                         s3_model_data_url=train.properties.ModelArtifacts.S3ModelArtifacts,
                         dependencies={})
    create_model = ModelStep(name="CreateModel", step_args=model.build())
    transformer = Transformer(
        model_name=create_model.properties.ModelName, instance_count=1,
        instance_type=ctx.instance_type, output_path=Join(on="/", values=[run, "scores"]),
        output_kms_key=ctx.kms_key_arn, volume_kms_key=ctx.kms_key_arn, accept="text/csv",
        assemble_with="Line", sagemaker_session=session,
    )
    transform = TransformStep(
        name="ScoreHoldout",
        step_args=transformer.transform(
            data=outputs["holdout"].S3Output.S3Uri, content_type="text/csv", split_type="Line",
            input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]"),
    )
    scores = transform.properties.TransformOutput.S3OutputPath

    # 4. Quality check: SageMaker's model-quality analysis of the scored holdout. Its statistics
    #    and constraints become the registered version's drift-check baselines (what model
    #    monitoring compares live traffic with).
    quality_check = QualityCheckStep(
        name="QualityCheck",
        check_job_config=CheckJobConfig(
            role=ctx.role_arn, instance_count=1, instance_type=ctx.instance_type,
            volume_kms_key=ctx.kms_key_arn, output_kms_key=ctx.kms_key_arn,
            max_runtime_in_seconds=ctx.max_runtime_seconds, sagemaker_session=session),
        quality_check_config=ModelQualityCheckConfig(
            baseline_dataset=scores, dataset_format=DatasetFormat.csv(header=False),
            output_s3_uri=Join(on="/", values=[run, "model-quality"]),
            problem_type="BinaryClassification", ground_truth_attribute="_c0",
            probability_attribute="_c1", probability_threshold_attribute="0.5"),
        # A new model sets its own baseline; drift is checked later, by model monitoring.
        skip_check=True, register_new_baseline=True,
        model_package_group_name=ctx.model_package_group,
    )

    # 5. Evaluate: PR-AUC, recall and precision of the scored holdout, for the approval gate.
    evaluation = PropertyFile(name="Evaluation", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(
        name="Evaluate",
        property_files=[evaluation],
        step_args=_processor(ctx, sklearn_image, "evaluate.py").run(
            inputs=[_s3_in("code", ctx.code("evaluate.py"), CODE),
                    _s3_in("scores", scores, "/opt/ml/processing/input/scores")],
            outputs=[_s3_out("evaluation", Join(on="/", values=[run, "evaluation"]),
                             "/opt/ml/processing/output/evaluation")],
        ),
    )

    # 6. Register pending manual approval when the metric clears the threshold.
    baselines = quality_check.properties
    register = ModelStep(
        name="Register",
        step_args=model.register(
            model_package_group_name=ctx.model_package_group,
            approval_status="PendingManualApproval",
            content_types=["text/csv"], response_types=["text/csv"],
            inference_instances=[ctx.instance_type], transform_instances=[ctx.instance_type],
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(
                    content_type="application/json",
                    s3_uri=Join(on="/", values=[
                        evaluate.properties.ProcessingOutputConfig.Outputs[
                            "evaluation"].S3Output.S3Uri, "evaluation.json"])),
                model_constraints=MetricsSource(
                    content_type="application/json",
                    s3_uri=baselines.CalculatedBaselineConstraints)),
            drift_check_baselines=DriftCheckBaselines(
                model_statistics=MetricsSource(
                    content_type="application/json",
                    s3_uri=baselines.BaselineUsedForDriftCheckStatistics),
                model_constraints=MetricsSource(
                    content_type="application/json",
                    s3_uri=baselines.BaselineUsedForDriftCheckConstraints)),
        ),
    )
    gate = ConditionStep(
        name="CheckQuality",
        conditions=[ConditionGreaterThanOrEqualTo(
            left=JsonGet(step_name=evaluate.name, property_file=evaluation,
                         json_path=f"metrics.{ctx.approval_metric}.value"),
            right=threshold)],
        if_steps=[register],
        else_steps=[FailStep(name="QualityBelowThreshold", error_message=Join(
            on=" ", values=[f"{ctx.approval_metric} below the approval threshold", threshold]))],
    )
    return Pipeline(
        name=ctx.pipeline_name,
        parameters=[max_depth, num_round, pos_weight, threshold],
        steps=[prepare, train, create_model, transform, quality_check, evaluate, gate],
        sagemaker_session=session,
    )
