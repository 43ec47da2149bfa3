"""The one place the sandbox adjusts moto's behaviour: the sandbox server installs the patches for
its whole life; in-process tests take them for one test (:func:`installed`), so both modes behave
the same and the rest of the test process sees plain moto.

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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_KEPT = {"OnlineStoreConfig": "online_store_config", "Description": "description",
         "ThroughputConfig": "throughput_config"}
_ABSENT = object()  # an attribute a patch adds (moto has no ListFeatureGroups)
# (owner, attribute, original value) of every attribute a patch replaced, in install order.
_REPLACED: list[tuple[Any, str, Any]] = []


def _replace(owner: Any, attribute: str, value: Any) -> None:
    _REPLACED.append((owner, attribute, owner.__dict__.get(attribute, _ABSENT)))
    setattr(owner, attribute, value)


def install() -> None:
    """Install every patch (the sandbox server does, for its whole life); idempotent."""
    if not _REPLACED:
        _install_policy_conditions()
        _install_feature_groups()


def uninstall() -> None:
    """Put moto back as it was."""
    while _REPLACED:
        owner, attribute, original = _REPLACED.pop()
        if original is _ABSENT:
            delattr(owner, attribute)
        else:
            setattr(owner, attribute, original)


@contextmanager
def installed() -> Iterator[None]:
    """The patches for the duration of a block (tests); moto is restored afterwards."""
    already = bool(_REPLACED)
    install()
    try:
        yield
    finally:
        if not already:
            uninstall()


def _install_policy_conditions() -> None:
    from moto.iam import access_control as ac

    statement_cls: Any = ac.IAMPolicyStatement
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

    _replace(statement_cls, "is_action_permitted", is_action_permitted)


def _install_feature_groups() -> None:
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ResourceNotFound
    from moto.sagemaker.models import FeatureGroup, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    response_cls: Any = SageMakerResponse
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

    _replace(response_cls, "create_feature_group", create_feature_group)
    _replace(response_cls, "list_feature_groups", list_feature_groups)
    _replace(FeatureGroup, "describe", describe_group)
    _replace(SageMakerModelBackend, "describe_feature_group", describe_feature_group)
