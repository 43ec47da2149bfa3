"""The platform's drift-check SageMaker pipeline, built with the SageMaker Python SDK v3.

One Processing step, ``DriftCheck``, runs ``code/drift_check.py`` in the scikit-learn image on
the endpoint's captured traffic and the serving version's ``baseline.json``, writes its report
under ``<report_uri>/<execution id>/`` (encrypted with the environment key) and publishes the
drift metrics the retraining alarm watches. The baseline is the pipeline parameter
``BaselineUri``, so a run can check against another version's baseline.

The SDK is imported only when a pipeline is built: ``offline_session`` prepares the environment
it needs first (``SAGEMAKER_VALIDATE_ROLE=false``, a region) and refuses every AWS request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

CODE_FILES = ("baseline.py", "drift_math.py", "drift_check.py")
SKLEARN_VERSION = "1.2-1"
STEP_NAME = "DriftCheck"
CODE = "/opt/ml/processing/input/code"
CAPTURE = "/opt/ml/processing/input/capture"
BASELINE = "/opt/ml/processing/input/baseline"
REPORT = "/opt/ml/processing/output/report"
# Threshold keys of DriftPipelineSpec.thresholds -> the step's environment variables.
THRESHOLD_ENV = {"psi": "PSI_THRESHOLD", "ks": "KS_THRESHOLD", "unseen_share": "UNSEEN_THRESHOLD",
                 "score_psi": "SCORE_PSI_THRESHOLD"}


def code_dir() -> Path:
    """The folder holding the step code (``CODE_FILES``), uploaded to ``code_uri``."""
    return Path(__file__).resolve().parent / "code"


@dataclass(frozen=True)
class DriftPipelineSpec:
    """Everything one stack's drift check of one project needs (known before deployment)."""

    pipeline_name: str
    project: str
    stack: str
    region: str
    role_arn: str
    kms_key_arn: str
    instance_type: str
    code_uri: str  # S3 prefix holding CODE_FILES
    capture_uri: str  # S3 prefix of the endpoint's data capture
    report_uri: str  # S3 prefix of the reports (one folder per execution below it)
    endpoint_name: str
    window_hours: int
    min_records: int
    thresholds: dict[str, float]  # psi, ks, unseen_share, score_psi (missing: step defaults)
    ignore_features: tuple[str, ...]
    metrics_namespace: str
    max_runtime_seconds: int
    # S3 URI of a baseline.json to check against instead: the default of the BaselineUri
    # parameter (empty: the baseline of the version the endpoint serves, resolved at run time).
    baseline_uri: str = ""
    publish_metrics: bool = field(default=True)

    def environment(self) -> dict[str, str]:
        """The step's environment variables (NOW unset: the step uses the time it runs)."""
        unknown = sorted(set(self.thresholds) - set(THRESHOLD_ENV))
        if unknown:
            raise ValueError(f"unknown drift thresholds {unknown}; expected {sorted(THRESHOLD_ENV)}")
        env = {
            "STACK": self.stack, "PROJECT": self.project, "ENDPOINT": self.endpoint_name,
            "WINDOW_HOURS": str(self.window_hours), "MIN_RECORDS": str(self.min_records),
            "IGNORE_FEATURES": ",".join(self.ignore_features),
            "METRICS_NAMESPACE": self.metrics_namespace,
            "PUBLISH_METRICS": "true" if self.publish_metrics else "false",
            "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region,
        }
        env.update({THRESHOLD_ENV[k]: repr(float(v)) for k, v in sorted(self.thresholds.items())})
        return env


def offline_session(spec: DriftPipelineSpec) -> Any:
    """A PipelineSession for ``spec`` that cannot reach AWS (the renderer's)."""
    from infra.projects.render import offline_session as render_session

    # render.offline_session reads only the region, the workspace bucket and the project.
    bucket = spec.report_uri.removeprefix("s3://").split("/", 1)[0]
    ctx = SimpleNamespace(region=spec.region, project=spec.project,
                          buckets={"pipeline-workspace": f"s3://{bucket}"})
    return render_session(cast(Any, ctx))


def build_drift_pipeline(spec: DriftPipelineSpec, session: Any) -> Any:
    """The drift-check ``sagemaker.mlops.workflow.Pipeline`` of ``spec``."""
    from sagemaker.core import image_uris
    from sagemaker.core.processing import Processor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.mlops.workflow import Pipeline, ProcessingStep

    def s3_in(name: str, uri: Any, local: str) -> Any:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(s3_uri=uri, local_path=local, s3_data_type="S3Prefix",
                                       s3_input_mode="File"),
        )

    baseline_uri = ParameterString(name="BaselineUri", default_value=spec.baseline_uri)
    image = image_uris.retrieve("sklearn", region=spec.region, version=SKLEARN_VERSION,
                                py_version="py3", instance_type=spec.instance_type)
    processor = Processor(
        role=spec.role_arn, image_uri=image, instance_count=1, instance_type=spec.instance_type,
        entrypoint=["python3", f"{CODE}/drift_check.py"],
        volume_kms_key=spec.kms_key_arn, output_kms_key=spec.kms_key_arn,
        max_runtime_in_seconds=spec.max_runtime_seconds, sagemaker_session=session,
        base_job_name=f"{spec.project}-drift",
        env={**spec.environment(), "BASELINE_URI": baseline_uri},
    )
    report = Join(on="/", values=[spec.report_uri.rstrip("/"),
                                  ExecutionVariables.PIPELINE_EXECUTION_ID])
    step = ProcessingStep(
        name=STEP_NAME,
        step_args=processor.run(
            inputs=[
                s3_in("code", spec.code_uri, CODE),
                s3_in("capture", spec.capture_uri, CAPTURE),
            ],
            outputs=[ProcessingOutput(
                output_name="report",
                s3_output=ProcessingS3Output(s3_uri=report, local_path=REPORT,
                                             s3_upload_mode="EndOfJob"),
            )],
        ),
    )
    return Pipeline(name=spec.pipeline_name, parameters=[baseline_uri], steps=[step],
                    sagemaker_session=session)
