"""SageMaker: model package groups (and their policies), feature groups, pipelines, serving
(models, endpoint configurations and endpoints) and model monitoring (data quality job
definitions and monitoring schedules)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from common import tokens
from mlops.offline.cloud import Cloud
from mlops.ops.aws import error_code, is_not_found
from mlops.sandbox.handlers import Ctx, Result, boto_shape, pick
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


# --- serving ------------------------------------------------------------------------------------

def _named(kind: str) -> FakeOutputs:
    """Fakes of a serving resource: its ARN and name (the logical name when none is given)."""
    def fake(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
        physical = inputs.get("name") or name
        return physical, {"arn": c.arn("sagemaker", f"{kind}/{physical.lower()}"), "name": physical}
    return fake


# Pulumi spellings (after capitalising) -> SageMaker's, and Pulumi's one-element lists where the
# API takes one structure.
_SPELLINGS = {"MemorySizeInMb": "MemorySizeInMB", "VolumeSizeInGb": "VolumeSizeInGB",
              "EnableSsmAccess": "EnableSSMAccess",
              "IncludeInferenceResponseIns": "IncludeInferenceResponseIn"}
_SINGLE = {"RoutingConfigs": "RoutingConfig", "S3DataSources": "S3DataSource"}


def _respelled(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if key in _SINGLE:
                out[_SINGLE[key]] = _respelled(item[0] if isinstance(item, list) and item else item)
            else:
                out[_SPELLINGS.get(key, key)] = _respelled(item)
        return out
    if isinstance(value, list):
        return [_respelled(v) for v in value]
    return value


def _api(value: Any) -> Any:
    """Pulumi input values as SageMaker request values."""
    return _respelled(boto_shape(value))


def _container(container: dict) -> dict:
    """A container definition; its environment is a map whose keys are kept as written."""
    shaped = _api({k: v for k, v in container.items() if k != "environment"})
    if container.get("environment"):
        shaped["Environment"] = {str(k): str(v) for k, v in container["environment"].items()}
    return shaped


def _found(call: Callable[[], dict]) -> dict | None:
    """What a Describe call returns; None when SageMaker says it does not exist."""
    try:
        return call()
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise


def _drifted(desired: dict, found: dict, defaults: dict) -> list[str]:
    """The request members whose described value differs (absent and empty are the same)."""
    return [key for key in {**defaults, **desired}
            if (found.get(key) or defaults.get(key)) != (desired.get(key) or defaults.get(key))]


def _retag(ctx: Ctx, arn: str, inputs: dict) -> None:
    if ctx.tags(inputs):
        ctx.client("sagemaker").add_tags(ResourceArn=arn, Tags=ctx.tag_list(inputs))


def _model_request(inputs: dict) -> dict:
    request = pick(inputs, {"executionRoleArn": "ExecutionRoleArn", "vpcConfig": "VpcConfig",
                            "enableNetworkIsolation": "EnableNetworkIsolation",
                            "inferenceExecutionConfig": "InferenceExecutionConfig"})
    if inputs.get("primaryContainer"):
        request["PrimaryContainer"] = _container(inputs["primaryContainer"])
    if inputs.get("containers"):
        request["Containers"] = [_container(c) for c in inputs["containers"]]
    return request


# What DescribeModel reads back in the sandbox (moto keeps no InferenceExecutionConfig), with
# the value of each when it is not given.
_MODEL_COMPARED: dict[str, Any] = {"ExecutionRoleArn": None, "PrimaryContainer": None,
                                   "Containers": None, "VpcConfig": None,
                                   "EnableNetworkIsolation": False}


def apply_model(ctx: Ctx, name: str, inputs: dict) -> Result:
    """Create the model; one whose described definition drifted is replaced, as pulumi-aws
    replaces a model on any change but its tags. A container naming a ``ModelPackageName``
    needs no image: SageMaker (and the sandbox's InvokeEndpoint) resolve it through the package."""
    sm = ctx.client("sagemaker")
    model = inputs.get("name") or name
    request = _model_request(inputs)
    found = _found(lambda: sm.describe_model(ModelName=model))
    existed = found is not None
    compared = {k: v for k, v in request.items() if k in _MODEL_COMPARED}
    if found is not None and _drifted(compared, found, _MODEL_COMPARED):
        sm.delete_model(ModelName=model)
        found = None
    if found is None:
        arn = sm.create_model(ModelName=model, Tags=ctx.tag_list(inputs), **request)["ModelArn"]
    else:
        arn = found["ModelArn"]
        _retag(ctx, arn, inputs)
    return model, {"arn": arn, "name": model, "tagsAll": ctx.tags(inputs)}, not existed


_CONFIG_INPUTS = {"productionVariants": "ProductionVariants",
                  "dataCaptureConfig": "DataCaptureConfig", "kmsKeyArn": "KmsKeyId",
                  "asyncInferenceConfig": "AsyncInferenceConfig",
                  "shadowProductionVariants": "ShadowProductionVariants",
                  "executionRoleArn": "ExecutionRoleArn"}
# What DescribeEndpointConfig reads back in moto (it keeps no shadow variants or role).
_CONFIG_COMPARED = ("ProductionVariants", "DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig")


def apply_endpoint_configuration(ctx: Ctx, name: str, inputs: dict) -> Result:
    """Create the configuration; a drifted one is replaced (pulumi-aws replaces a
    configuration on any change but its tags)."""
    sm = ctx.client("sagemaker")
    config = inputs.get("name") or name
    request = {boto: _api(inputs[key]) for key, boto in _CONFIG_INPUTS.items()
               if inputs.get(key) is not None}
    found = _found(lambda: sm.describe_endpoint_config(EndpointConfigName=config))
    existed = found is not None
    compared = {k: v for k, v in request.items() if k in _CONFIG_COMPARED}
    if found is not None and _drifted(compared, found, dict.fromkeys(_CONFIG_COMPARED)):
        sm.delete_endpoint_config(EndpointConfigName=config)
        found = None
    if found is None:
        arn = sm.create_endpoint_config(EndpointConfigName=config, Tags=ctx.tag_list(inputs),
                                        **request)["EndpointConfigArn"]
    else:
        arn = found["EndpointConfigArn"]
        _retag(ctx, arn, inputs)
    return config, {"arn": arn, "name": config, "tagsAll": ctx.tags(inputs)}, not existed


def apply_endpoint(ctx: Ctx, name: str, inputs: dict) -> Result:
    """Create the endpoint; an endpoint on another configuration (or another deployment
    configuration) is updated as pulumi-aws updates it: UpdateEndpoint with the new
    configuration and the ``DeploymentConfig`` (blue/green with its traffic routing, bake and
    rollback alarms)."""
    sm = ctx.client("sagemaker")
    endpoint = inputs.get("name") or name
    config = inputs["endpointConfigName"]
    deployment = _api(inputs["deploymentConfig"]) if inputs.get("deploymentConfig") else None
    given = {"DeploymentConfig": deployment} if deployment else {}
    found = _found(lambda: sm.describe_endpoint(EndpointName=endpoint))
    if found is None:
        arn = sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config,
                                 Tags=ctx.tag_list(inputs), **given)["EndpointArn"]
    else:
        arn = found["EndpointArn"]
        if (found["EndpointConfigName"], found.get("LastDeploymentConfig")) != (config, deployment):
            # pulumi-aws sends no RetainAllVariantProperties: the variants take the new
            # configuration's instance count, weight and capture, as here.
            sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=config,
                               RetainAllVariantProperties=False, **given)
        _retag(ctx, arn, inputs)
    return endpoint, {"arn": arn, "name": endpoint, "tagsAll": ctx.tags(inputs)}, found is None


# --- model monitoring -----------------------------------------------------------------------

# Where the job's container reads the captured data and writes its report: the provider's
# defaults, which SageMaker's API requires and Pulumi leaves optional.
_MONITOR_INPUT_PATH = "/opt/ml/processing/input"
_MONITOR_OUTPUT_PATH = "/opt/ml/processing/output"


def _data_quality_request(inputs: dict) -> dict:
    """CreateDataQualityJobDefinition members from the Pulumi inputs (the app's environment a map
    kept as written; Pulumi's single ``monitoringOutputs`` object is SageMaker's list)."""
    request = {boto: _api(inputs[key]) for key, boto in {
        "dataQualityBaselineConfig": "DataQualityBaselineConfig",
        "jobResources": "JobResources", "networkConfig": "NetworkConfig",
        "roleArn": "RoleArn", "stoppingCondition": "StoppingCondition"}.items()
        if inputs.get(key) is not None}
    app = dict(inputs.get("dataQualityAppSpecification") or {})
    environment = app.pop("environment", None)
    request["DataQualityAppSpecification"] = {
        **_api(app), **({"Environment": {str(k): str(v) for k, v in environment.items()}}
                        if environment else {})}
    job_input = _api(inputs.get("dataQualityJobInput") or {})
    for source in job_input.values():
        if isinstance(source, dict):
            source.setdefault("LocalPath", _MONITOR_INPUT_PATH)
    request["DataQualityJobInput"] = job_input
    output = _api(inputs.get("dataQualityJobOutputConfig") or {})
    outputs = output.get("MonitoringOutputs")
    outputs = outputs if isinstance(outputs, list) else [outputs] if outputs else []
    for item in outputs:
        item.get("S3Output", {}).setdefault("LocalPath", _MONITOR_OUTPUT_PATH)
    request["DataQualityJobOutputConfig"] = {**output, "MonitoringOutputs": outputs}
    return request


_DATA_QUALITY_COMPARED: dict[str, Any] = dict.fromkeys((
    "DataQualityAppSpecification", "DataQualityBaselineConfig", "DataQualityJobInput",
    "DataQualityJobOutputConfig", "JobResources", "NetworkConfig", "RoleArn",
    "StoppingCondition"))


def apply_data_quality_job_definition(ctx: Ctx, name: str, inputs: dict) -> Result:
    """Create the job definition; a drifted one is replaced (every argument but the tags forces
    a new definition in pulumi-aws, and SageMaker has no update call for it)."""
    sm = ctx.client("sagemaker")
    definition = inputs.get("name") or name
    request = _data_quality_request(inputs)
    found = _found(lambda: sm.describe_data_quality_job_definition(
        JobDefinitionName=definition))
    existed = found is not None
    if found is not None and _drifted(request, found, _DATA_QUALITY_COMPARED):
        sm.delete_data_quality_job_definition(JobDefinitionName=definition)
        found = None
    if found is None:
        arn = sm.create_data_quality_job_definition(
            JobDefinitionName=definition, Tags=ctx.tag_list(inputs), **request)["JobDefinitionArn"]
    else:
        arn = found["JobDefinitionArn"]
        _retag(ctx, arn, inputs)
    return definition, {"arn": arn, "name": definition, "tagsAll": ctx.tags(inputs)}, not existed


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
    ResourceSpec(tokens.SAGEMAKER_MODEL, _named("model"), apply_model,
                 Terraform("aws_sagemaker_model", blocks={
                     "containers": "container",
                     "additionalModelDataSources": "additional_model_data_source",
                     "s3DataSources": "s3_data_source"},
                     maps=frozenset({"environment"}), default_tags=True),
                 caveat="stored; no container runs: InvokeEndpoint scores XGBoost artifacts "
                        "in the sandbox"),
    # Terraform's production_variants and capture_options blocks are plural, as in Pulumi.
    ResourceSpec(tokens.SAGEMAKER_ENDPOINT_CONFIGURATION, _named("endpoint-config"),
                 apply_endpoint_configuration,
                 Terraform("aws_sagemaker_endpoint_configuration", blocks={
                     "routingConfigs": "routing_config",
                     "includeInferenceResponseIns": "include_inference_response_in"},
                     default_tags=True),
                 caveat="stored; no instances start, and moto keeps no shadow variants"),
    ResourceSpec(tokens.SAGEMAKER_ENDPOINT, _named("endpoint"), apply_endpoint,
                 Terraform("aws_sagemaker_endpoint", default_tags=True),
                 caveat="answers InvokeEndpoint with its model; no instances, and a blue/green "
                        "update switches at once (no traffic shifting, bake or rollback)"),
    # Terraform's single blocks keep Pulumi's names (monitoring_outputs, cluster_config, ...).
    ResourceSpec(tokens.SAGEMAKER_DATA_QUALITY_JOB_DEFINITION,
                 _named("data-quality-job-definition"), apply_data_quality_job_definition,
                 Terraform("aws_sagemaker_data_quality_job_definition",
                           maps=frozenset({"environment"}), default_tags=True),
                 caveat="stored with its network config; no monitoring job runs"),
    # An inline job definition repeats stopping_condition blocks and the container_entrypoint
    # list; its monitoring_inputs and monitoring_outputs are single blocks.
    ResourceSpec(tokens.SAGEMAKER_MONITORING_SCHEDULE, _named("monitoring-schedule"),
                 NotSimulated("moto 5.2 implements no MonitoringSchedule call "
                              "(Create/Describe/Update/Delete)"),
                 Terraform("aws_sagemaker_monitoring_schedule", blocks={
                     "stoppingConditions": "stopping_condition",
                     "containerEntrypoints": "container_entrypoint"},
                     maps=frozenset({"environment"}), default_tags=True)),
]
