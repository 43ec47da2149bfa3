"""RegisterModel steps: a model package in the stack's registry, with the real artifact, the
metrics and the baselines the step names, as CreateModelPackage receives them.

With ``--data DIR`` there is no registry: the request is written to the run's folder instead
(``register-<step>.json``), so what would have been registered can still be read.
"""

from __future__ import annotations

import json
from typing import Any

from mlops.local.job import StepFailed, StepResult, StepRun

# The arguments a RegisterModel step passes to CreateModelPackage.
REQUEST_KEYS = ("ModelPackageGroupName", "ModelPackageDescription", "InferenceSpecification",
                "ModelApprovalStatus", "ModelMetrics", "DriftCheckBaselines", "MetadataProperties",
                "CustomerMetadataProperties", "Domain", "Task", "SamplePayloadUrl",
                "SkipModelValidation", "SourceUri")


def run_register(run: StepRun) -> StepResult:
    args = run.arguments
    request: dict[str, Any] = {k: args[k] for k in REQUEST_KEYS if args.get(k) not in (None, {})}
    request["ModelMetrics"] = {k: v for k, v in (request.get("ModelMetrics") or {}).items() if v}
    if not request["ModelMetrics"]:
        request.pop("ModelMetrics")
    if request.get("SkipModelValidation") == "None":
        request.pop("SkipModelValidation")
    request["CustomerMetadataProperties"] = {
        **(request.get("CustomerMetadataProperties") or {}),
        "mlops:origin": "pipeline", "mlops:pipelineRun": run.env.run_id, "mlops:localRun": "true"}
    for container in (request.get("InferenceSpecification") or {}).get("Containers") or []:
        try:
            run.env.store.read(str(container.get("ModelDataUrl")))
        except FileNotFoundError:
            raise StepFailed(f"artifact {container.get('ModelDataUrl')} is "
                             "missing") from None
    if run.env.sagemaker is None:
        path = run.env.folder / f"register-{run.name}.json"
        path.write_text(json.dumps(request, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        run.write_log(f"[mlops] no registry (--data): the package request is {path}")
        return StepResult(properties={"ModelPackageArn": None, "RequestFile": str(path)},
                          outputs=[str(path)], detail="written, not registered (--data)")
    arn = run.env.sagemaker.create_model_package(**request)["ModelPackageArn"]
    version = int(arn.rsplit("/", 1)[-1]) if arn.rsplit("/", 1)[-1].isdigit() else None
    run.write_log(f"[mlops] registered {arn} ({request.get('ModelApprovalStatus')})")
    return StepResult(properties={"ModelPackageArn": arn, "ModelPackageVersion": version,
                                  "ModelApprovalStatus": request.get("ModelApprovalStatus")},
                      outputs=[arn], detail=f"v{version} {request.get('ModelApprovalStatus')}")
