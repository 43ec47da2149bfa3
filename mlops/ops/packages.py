"""The model packages of one project's group in one stack's registry (SageMaker, boto3).

:class:`PackageStore` lists, describes and finds packages, creates one exactly once, sets an
approval status without losing metadata, and retires a duplicate. Descriptions are the plain
``DescribeModelPackage`` answers; :func:`mlops.ops.versions.to_version` turns them into what the
tools show.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops.errors import UsageError
from mlops.ops.aws import OpsError, is_retryable
from mlops.ops.environment import Env

# Default inference image when --image is not given: the SageMaker XGBoost 1.7-1 image, which
# AWS publishes from account 683313688378 in us-east-1, eu-west-1 and most commercial regions.
# Pass --image for other regions, frameworks or your own container.
DEFAULT_IMAGE = "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1"
CREATE_ATTEMPTS = 5
CREATE_BACKOFF_SECONDS = 0.2


def inference_spec(image: str, model_url: str) -> dict[str, Any]:
    """An inference specification of one container serving ``model_url`` (CSV in and out)."""
    return {
        "Containers": [{"Image": image, "ModelDataUrl": model_url}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }


def baseline_uri(desc: Mapping[str, Any]) -> str | None:
    """The S3 URI of a package's drift baseline (``DriftCheckBaselines.ModelDataQuality.
    Statistics``, where the SDK's ``model_data_statistics`` goes); None when it has none."""
    uri = (((desc.get("DriftCheckBaselines") or {}).get("ModelDataQuality") or {})
           .get("Statistics") or {}).get("S3Uri")
    return str(uri) if uri else None


def drift_check_baselines(uri: str) -> dict[str, Any]:
    """The ``DriftCheckBaselines`` of a package whose drift baseline is the JSON at ``uri``."""
    return {"ModelDataQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": uri}}}


def _version(desc_or_summary: dict[str, Any]) -> int:
    return int(desc_or_summary.get("ModelPackageVersion") or 0)


@dataclass(frozen=True)
class PackageStore:
    """The packages of model package group ``group`` in ``env``'s registry."""

    env: Env
    group: str

    def _sagemaker(self, *, retries: bool = True) -> Any:
        return self.env.client("sagemaker", retries=retries)

    def summaries(self) -> list[dict[str, Any]]:
        """Every package summary of the group, lowest version first."""
        sm = self._sagemaker()
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"ModelPackageGroupName": self.group, "MaxResults": 100}
        while True:
            page = sm.list_model_packages(**kwargs)
            out.extend(page.get("ModelPackageSummaryList", []))
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        return sorted(out, key=_version)

    def describe(self, arn: str) -> dict[str, Any]:
        return dict(self._sagemaker().describe_model_package(ModelPackageName=arn))

    def describe_version(self, project: str, version: int) -> dict[str, Any]:
        """The package of ``version``; UsageError listing the versions there are."""
        summaries = self.summaries()
        for summary in summaries:
            if _version(summary) == version:
                return self.describe(summary["ModelPackageArn"])
        known = ", ".join(str(s.get("ModelPackageVersion")) for s in summaries) or "none"
        raise UsageError(f"{project} version {version} not found in {self.group} "
                         f"(stack {self.env.stack}; versions: {known})")

    def find(self, key: str, value: str) -> list[dict[str, Any]]:
        """Descriptions of the packages whose metadata ``key`` equals ``value`` (retired
        duplicates left out), lowest version first.

        Only packages whose description names ``value`` are described (the tools put the source
        ARN or request id there), so a lookup costs one list call, not one call per version.
        """
        found = []
        for summary in self.summaries():
            if value not in str(summary.get("ModelPackageDescription") or ""):
                continue
            desc = self.describe(summary["ModelPackageArn"])
            meta = desc.get("CustomerMetadataProperties") or {}
            if meta.get(key) == value and "mlops:duplicateOf" not in meta:
                found.append(desc)
        return sorted(found, key=_version)

    def create(self, request: dict[str, Any], key: str, token: str) -> dict[str, Any]:
        """Create a package exactly once, although CreateModelPackage is not idempotent everywhere.

        Called with botocore retries off; before each retry it looks for a package carrying
        ``token`` under metadata ``key`` (the earlier attempt may have landed before its response
        was lost). ``ClientToken`` gives AWS the same guarantee server-side.
        """
        sm = self._sagemaker(retries=False)
        client_token = hashlib.sha256(token.encode()).hexdigest()[:36]
        delay = CREATE_BACKOFF_SECONDS
        for attempt in range(CREATE_ATTEMPTS):
            if attempt:
                found = self.find(key, token)
                if found:
                    return found[0]
            try:
                arn = sm.create_model_package(ModelPackageGroupName=self.group,
                                              ClientToken=client_token, **request)["ModelPackageArn"]
                return self.describe(arn)
            except Exception as exc:
                if not is_retryable(exc) or attempt == CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise OpsError("unreachable")  # pragma: no cover

    def set_status(self, arn: str, metadata: Mapping[str, str], status: str, description: str,
                   extra_meta: dict[str, str]) -> dict[str, Any]:
        """Set the approval status of package ``arn`` whose metadata is ``metadata``, keeping
        every property (moto replaces the whole map); returns the new description."""
        self._sagemaker().update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus=status,
            ApprovalDescription=description[:1024],
            CustomerMetadataProperties={**metadata, **extra_meta})
        return self.describe(arn)

    def retire(self, duplicate: dict[str, Any], keep: str) -> None:
        """Delete a duplicate package; where that is not possible, reject and mark it."""
        arn = duplicate["ModelPackageArn"]
        try:
            self._sagemaker().delete_model_package(ModelPackageName=arn)
        except Exception:
            self.set_status(arn, duplicate.get("CustomerMetadataProperties") or {}, "Rejected",
                            f"duplicate of {keep}", {"mlops:duplicateOf": keep})
