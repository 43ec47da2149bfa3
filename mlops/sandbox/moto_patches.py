"""The one place the sandbox adjusts moto's behaviour; installed by the sandbox server (and by the
in-process sandbox tests), so both modes behave the same.

Bucket policies. moto evaluates them without a request context: it knows no
``aws:SecureTransport`` or ``s3:x-amz-server-side-encryption`` value, and treats every condition
operator other than ``StringEquals`` as satisfied. The platform's TLS-only and KMS-only deny
statements would then deny every object read and write, even a correct ``PutObject`` with
``aws:kms`` over TLS. With this patch a Deny statement whose condition keys the request does not
supply does not apply: the sandbox stores the bucket policies exactly as deployed, but does not
enforce conditional denies it cannot evaluate.

Feature groups. moto's CreateFeatureGroup drops ``OnlineStoreConfig`` and ``Description`` and
replaces a requested Glue table with one of its own naming; it has no ListFeatureGroups, and
DescribeFeatureGroup of an unknown group is a server error. With this patch a group reads back
as it was created (online store and its KMS key included), can be listed, and an unknown group
is ``ResourceNotFound`` as in AWS. See docs/sandbox.md.
"""

from __future__ import annotations

import copy
from typing import Any

_KEPT = {"OnlineStoreConfig": "online_store_config", "Description": "description",
         "ThroughputConfig": "throughput_config"}


def install() -> None:
    """Install every patch (idempotent)."""
    _install_policy_conditions()
    _install_feature_groups()


def _install_policy_conditions() -> None:
    from moto.iam import access_control as ac

    statement_cls: Any = ac.IAMPolicyStatement
    if getattr(statement_cls, "_mlops_patched", False):
        return
    original = statement_cls.is_action_permitted

    def is_action_permitted(self: Any, action: str, resource: str = "*",
                            principal: str | None = None,
                            incoming_condition_values: dict[str, str] | None = None) -> Any:
        statement = self._statement
        condition = statement.get("Condition")
        if condition and statement.get("Effect") == "Deny":
            keys = {key for values in condition.values() for key in values}
            if not keys <= set(incoming_condition_values or {}):
                return ac.PermissionResult.NEUTRAL
        return original(self, action, resource, principal, incoming_condition_values)

    statement_cls.is_action_permitted = is_action_permitted
    statement_cls._mlops_patched = True


def _install_feature_groups() -> None:
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ResourceNotFound
    from moto.sagemaker.models import FeatureGroup, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    response_cls: Any = SageMakerResponse
    if getattr(response_cls, "_mlops_patched", False):
        return
    create, describe = response_cls.create_feature_group, FeatureGroup.describe

    def create_feature_group(self: Any) -> Any:
        requested = copy.deepcopy(self._get_param("OfflineStoreConfig") or {})
        result = create(self)
        group = _group(self.sagemaker_backend, self._get_param("FeatureGroupName"))
        for param, attribute in _KEPT.items():
            setattr(group, attribute, self._get_param(param))
        if requested.get("DataCatalogConfig"):
            group.offline_store_config["DataCatalogConfig"] = requested["DataCatalogConfig"]
        return result

    def describe_group(self: Any) -> dict[str, Any]:
        out = describe(self)
        for param, attribute in _KEPT.items():
            if getattr(self, attribute, None):
                out[param] = getattr(self, attribute)
        return out

    def describe_feature_group(backend: Any, feature_group_name: str) -> dict[str, Any]:
        return _group(backend, feature_group_name).describe()

    def list_feature_groups(self: Any) -> Any:
        contains = self._get_param("NameContains") or ""
        groups = sorted(self.sagemaker_backend.feature_groups.values(),
                        key=lambda g: g.creation_time, reverse=True)
        return ActionResult({"FeatureGroupSummaries": [
            {"FeatureGroupName": g.feature_group_name, "FeatureGroupArn": g.arn,
             "CreationTime": g.creation_time, "FeatureGroupStatus": "Created",
             "OfflineStoreStatus": {"Status": "Active"}}
            for g in groups if contains in g.feature_group_name]})

    def _group(backend: Any, name: str) -> Any:
        for group in backend.feature_groups.values():
            if name in (group.feature_group_name, group.arn):
                return group
        raise ResourceNotFound(f"Resource Not Found: FeatureGroup {name} does not exist.")

    response_cls.create_feature_group = create_feature_group
    response_cls.list_feature_groups = list_feature_groups
    group_cls: Any = FeatureGroup
    group_cls.describe = describe_group
    backend_cls: Any = SageMakerModelBackend
    backend_cls.describe_feature_group = describe_feature_group
    response_cls._mlops_patched = True
