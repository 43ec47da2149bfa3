"""SageMaker: model package groups (and their policies), feature groups, pipelines."""

from __future__ import annotations

import hashlib

from common import tokens
from mlops.offline.cloud import Cloud
from mlops.ops.aws import error_code, is_not_found
from mlops.sandbox.handlers import Ctx, Result, pick
from mlops.specs.spec import FakeOutputs, NotSimulated, ResourceSpec, Terraform, attached_to


def _fake(kind: str, name_key: str) -> FakeOutputs:
    def fake(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
        physical = inputs.get(name_key) or name
        return physical, {"arn": c.arn("sagemaker", f"{kind}/{physical.lower()}")}
    return fake


def apply_package_group(ctx: Ctx, name: str, inputs: dict) -> Result:
    sm = ctx.client("sagemaker")
    group = inputs.get("modelPackageGroupName") or name
    try:
        arn = sm.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
        created = False
        if ctx.tags(inputs):
            sm.add_tags(ResourceArn=arn, Tags=ctx.tag_list(inputs))
    except Exception as exc:
        if not is_not_found(exc):
            raise
        params = pick(inputs, {"modelPackageGroupDescription": "ModelPackageGroupDescription"})
        arn = sm.create_model_package_group(ModelPackageGroupName=group, Tags=ctx.tag_list(inputs),
                                            **params)["ModelPackageGroupArn"]
        created = True
    return group, {"arn": arn, "modelPackageGroupName": group,
                   "tagsAll": ctx.tags(inputs)}, created


def apply_feature_group(ctx: Ctx, name: str, inputs: dict) -> Result:
    """Create, or leave as is: the platform never changes a deployed group (the lock guard in
    infra/projects/loader.py refuses it) and moto has no UpdateFeatureGroup.

    Existence is learnt from CreateFeatureGroup's ResourceInUse, which works on plain moto too
    (its DescribeFeatureGroup of an unknown group is a server error without the sandbox patch).
    """
    sm = ctx.client("sagemaker")
    group = inputs["featureGroupName"]
    params = pick(inputs, {
        "recordIdentifierFeatureName": "RecordIdentifierFeatureName",
        "eventTimeFeatureName": "EventTimeFeatureName", "featureDefinitions":
        "FeatureDefinitions", "onlineStoreConfig": "OnlineStoreConfig", "offlineStoreConfig":
        "OfflineStoreConfig", "roleArn": "RoleArn", "description": "Description",
        "throughputConfig": "ThroughputConfig"})
    try:
        arn = sm.create_feature_group(FeatureGroupName=group, Tags=ctx.tag_list(inputs),
                                      **params)["FeatureGroupArn"]
        created = True
    except Exception as exc:
        if error_code(exc) not in ("ResourceInUse", "ResourceInUseException"):
            raise
        arn = sm.describe_feature_group(FeatureGroupName=group)["FeatureGroupArn"]
        created = False
    return group, {"arn": arn, "tagsAll": ctx.tags(inputs)}, created


def _request_token(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:40]


def apply_pipeline(ctx: Ctx, name: str, inputs: dict) -> Result:
    sm = ctx.client("sagemaker")
    pipeline = inputs["pipelineName"]
    params = pick(inputs, {
        "pipelineDisplayName": "PipelineDisplayName", "pipelineDefinition": "PipelineDefinition",
        "pipelineDefinitionS3Location": "PipelineDefinitionS3Location",
        "pipelineDescription": "PipelineDescription", "roleArn": "RoleArn",
        "parallelismConfiguration": "ParallelismConfiguration"})
    try:
        sm.describe_pipeline(PipelineName=pipeline)
        arn = sm.update_pipeline(PipelineName=pipeline, **params)["PipelineArn"]
        created = False
    except Exception as exc:
        if not is_not_found(exc):
            raise
        arn = sm.create_pipeline(PipelineName=pipeline,
                                 ClientRequestToken=_request_token(ctx.stack, pipeline),
                                 Tags=ctx.tag_list(inputs), **params)["PipelineArn"]
        created = True
    return pipeline, {"arn": arn, "tagsAll": ctx.tags(inputs)}, created


SPECS = [
    ResourceSpec(tokens.SAGEMAKER_MODEL_PACKAGE_GROUP,
                 _fake("model-package-group", "modelPackageGroupName"), apply_package_group,
                 Terraform("aws_sagemaker_model_package_group", default_tags=True)),
    ResourceSpec(tokens.SAGEMAKER_MODEL_PACKAGE_GROUP_POLICY,
                 attached_to("modelPackageGroupName"),
                 NotSimulated("moto implements no PutModelPackageGroupPolicy"),
                 Terraform("aws_sagemaker_model_package_group_policy",
                           json=frozenset({"resourcePolicy"}))),
    ResourceSpec(tokens.SAGEMAKER_FEATURE_GROUP, _fake("feature-group", "featureGroupName"),
                 apply_feature_group,
                 Terraform("aws_sagemaker_feature_group",
                           blocks={"featureDefinitions": "feature_definition"}, default_tags=True),
                 caveat="stored; no put/get record runtime"),
    ResourceSpec(tokens.SAGEMAKER_PIPELINE, _fake("pipeline", "pipelineName"), apply_pipeline,
                 Terraform("aws_sagemaker_pipeline", json=frozenset({"pipelineDefinition"}),
                           default_tags=True),
                 caveat="stored; executions finish at once, no step runs"),
]
