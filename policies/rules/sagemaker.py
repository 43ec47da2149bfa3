"""SageMaker rules: feature store encryption and protection, registry sharing, pipelines
(role and definition), endpoints, models and notebooks."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from common import tokens
from common.instance_types import has_local_nvme
from common.pipeline_definition import (
    Definition,
    Step,
    describe,
    known_prefix,
    read_definition,
    s3_bucket,
)
from policies.core import (
    CannotEvaluate,
    Finding,
    Resource,
    Severity,
    account_of,
    allows,
    as_list,
    each,
    get,
    is_public_principal,
    is_unknown,
    iter_findings,
    known,
    of_type,
    policy_document,
    principal_values,
    resource_rule,
    stack_rule,
    statements,
    truthy,
)

REGISTRY_READ_ACTIONS = [
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
]


@resource_rule(
    "feature-group-offline-kms", area="sagemaker", severity=Severity.HIGH,
    types=[tokens.SAGEMAKER_FEATURE_GROUP],
    description="Feature groups with an offline store encrypt it with a customer-managed key.",
    remediation="Set offline_store_config.s3_storage_config.kms_key_id to the environment key.",
)
def feature_group_offline_kms(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    offline = get(resource.props, "offlineStoreConfig")
    if offline and not get(offline, "s3StorageConfig.kmsKeyId"):
        yield "offlineStoreConfig.s3StorageConfig.kmsKeyId is not set"


@resource_rule(
    "feature-group-online-kms", area="sagemaker", severity=Severity.HIGH,
    types=[tokens.SAGEMAKER_FEATURE_GROUP],
    description="Feature groups with the online store on encrypt it with a customer-managed key.",
    remediation="Set online_store_config.security_config.kms_key_id to the environment key.",
)
def feature_group_online_kms(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    online = get(resource.props, "onlineStoreConfig")
    if online and truthy(get(online, "enableOnlineStore", False)) \
            and not get(online, "securityConfig.kmsKeyId"):
        yield "online store is on but onlineStoreConfig.securityConfig.kmsKeyId is not set"


@resource_rule(
    "feature-group-protected", area="sagemaker", severity=Severity.HIGH,
    types=[tokens.SAGEMAKER_FEATURE_GROUP],
    description="Feature groups are protected and retained on delete: a replacement loses the "
                "online store and the offline table registration. Enforced in prod.",
    remediation="Create feature groups with ResourceOptions(protect=True, "
                "retain_on_delete=True) in prod.",
)
def feature_group_protected(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if not resource.protect:
        yield "feature group is not protected (protect=True)"
    if resource.retain_on_delete is False:
        yield "feature group is not retained on delete (retain_on_delete=True)"


@resource_rule(
    "registry-policy-known-accounts", area="sagemaker", severity=Severity.HIGH,
    types=[tokens.SAGEMAKER_MODEL_PACKAGE_GROUP_POLICY],
    description="Model package group resource policies name only configured accounts and grant "
                "read-only actions.",
    remediation="List the promotion accounts in mlops:promotion.targetAccounts and grant only "
                "sagemaker:Describe*/List* actions on the group and its packages.",
    config_schema={
        "allowedAccounts": {"type": "array", "items": {"type": "string"}, "default": [],
                            "description": "Accounts that may read the registry."},
        "allowedActions": {"type": "array", "items": {"type": "string"},
                           "default": REGISTRY_READ_ACTIONS,
                           "description": "Actions the policy may grant."},
    },
)
def registry_policy_known_accounts(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    accounts = {str(a) for a in config.get("allowedAccounts") or []}
    actions_ok = [str(a) for a in config.get("allowedActions") or REGISTRY_READ_ACTIONS]
    doc = policy_document(resource.props.get("resourcePolicy"), "resourcePolicy")
    for i, stmt in enumerate(statements(doc)):
        if not allows(stmt):
            continue
        sid = stmt.get("Sid") or i
        if is_public_principal(stmt):
            yield f"statement {sid} grants access to '*'"
            continue
        for principal in principal_values(stmt):
            account = account_of(principal)
            if account is None or account not in accounts:
                yield f"statement {sid} names {principal}, not a configured account"
        for action in as_list(stmt.get("Action")):
            if not any(fnmatch.fnmatchcase(str(action), p) for p in actions_ok):
                yield f"statement {sid} grants {action}, which is not read-only"


def _role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if ":role/" in arn else arn


@stack_rule(
    "pipeline-role-is-platform-role", area="sagemaker", severity=Severity.HIGH,
    types=[tokens.SAGEMAKER_PIPELINE, tokens.IAM_ROLE],
    description="Every SageMaker pipeline runs as the environment's platform execution role "
                "(a role of this stack whose name matches rolePattern).",
    remediation="Pass the platform role (Iam.role.arn) as the pipeline's role_arn instead of a "
                "project-specific or external role.",
    config_schema={"rolePattern": {"type": "string", "default": "*-sagemaker-execution",
                                   "description": "fnmatch pattern of the platform role name."}},
)
def pipeline_role_is_platform_role(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[Finding]:
    pattern = str(config.get("rolePattern") or "*-sagemaker-execution")
    roles = {r.urn: r for r in of_type(resources, tokens.IAM_ROLE)}

    def platform(role: Resource) -> bool:
        name = get(role.props, "name") or role.name
        return fnmatch.fnmatchcase(str(name), pattern)

    def judge(pipeline: Resource) -> Iterator[str]:
        arn = pipeline.props.get("roleArn")
        deps = [roles[u] for u in pipeline.property_dependencies.get("roleArn") or [] if u in roles]
        if deps:
            if not any(platform(r) for r in deps):
                yield f"roleArn is role {deps[0].name}, not the platform role ({pattern})"
            return
        if not arn:
            yield "roleArn is not set"
            return
        arn = str(known(arn, "roleArn"))
        names = {str(get(r.props, "name")) for r in roles.values() if platform(r)}
        if _role_name(arn) not in names:
            yield f"roleArn {arn} is not the platform role of this stack ({pattern})"

    return iter_findings(of_type(resources, tokens.SAGEMAKER_PIPELINE), judge)


@dataclass(frozen=True)
class StepViolation:
    """A broken pipeline-definition rule: the step, the field (a path inside its Arguments)."""

    step: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"step {self.step}: {self.message}"


def definition_violations(
    definition: Mapping[str, Any], *, buckets: set[str], instance_types: Sequence[str],
    max_runtime: int,
) -> Iterator[StepViolation]:
    """Platform rules on one pipeline definition. A value known only at run time makes that
    check "cannot evaluate" (raised at the end) without hiding the other violations."""
    reader = read_definition(definition)
    unknown: CannotEvaluate | None = None
    for step in reader.steps:
        try:
            yield from _step_violations(reader, step, buckets, instance_types, max_runtime)
        except CannotEvaluate as exc:
            unknown = unknown or exc
    if unknown is not None:
        raise unknown


def _step_violations(
    reader: Definition, step: Step, buckets: set[str], instance_types: Sequence[str],
    max_runtime: int,
) -> Iterator[StepViolation]:
    fields = step.fields
    if fields is None or not fields.runs_job:
        return

    def value(relative: str) -> Any:
        resolved = reader.resolve(step.get(relative))
        pending = resolved.pending()
        if pending is not None:
            raise CannotEvaluate(f"step {step.name}: {step.path(relative)} ({describe(pending)})")
        return resolved.value

    def violation(field: str, message: str) -> StepViolation:
        return StepViolation(step.name, field, message)

    def encryption() -> Iterator[StepViolation]:
        key = fields.volume_kms_key
        if key and not value(key):
            yield violation(step.path(key), f"{step.path(key)} is not set "
                                            "(volumes unencrypted by CMK)")

    def output_encryption() -> Iterator[StepViolation]:
        key = fields.output_kms_key
        if key and step.needs_output_key and not value(key):
            yield violation(step.path(key), f"{step.path(key)} is not set "
                                            "(outputs not encrypted by CMK)")

    def instance() -> Iterator[StepViolation]:
        if fields.instance_type is None:
            return
        itype = value(fields.instance_type)
        if instance_types and itype not in instance_types:
            yield violation(step.path(fields.instance_type),
                            f"instance type {itype} is not allowed ({', '.join(instance_types)})")

    def runtime() -> Iterator[StepViolation]:
        if fields.max_runtime is None:
            return
        seconds = value(fields.max_runtime)
        if seconds is None:
            yield violation(step.path(fields.max_runtime),
                            f"{step.path(fields.max_runtime)} is not set")
        elif int(float(seconds)) > max_runtime:
            yield violation(step.path(fields.max_runtime),
                            f"max runtime {int(float(seconds))}s exceeds {max_runtime}s")

    def destinations() -> Iterator[StepViolation]:
        unknown: CannotEvaluate | None = None
        for field, raw in step.values(fields.outputs):
            if raw is None:
                yield violation(field, f"{field} is not set")
                continue
            # The bucket is decided once the known start of the URI has passed "s3://<bucket>/".
            text, stop = known_prefix(reader.resolve(raw), lambda part: part.pending() is None)
            bucket = s3_bucket(text, complete=stop is None)
            if bucket is None and stop is not None:
                unknown = unknown or CannotEvaluate(f"step {step.name}: {field} "
                                                    f"({describe(stop)})")
            elif bucket not in buckets:
                shown = text if stop is None else f"{text}..."
                yield violation(field, f"writes to {shown}, not a bucket of this platform")
        if unknown is not None:
            raise unknown

    yield from each(encryption, output_encryption, instance, runtime, destinations)


@stack_rule(
    "pipeline-definition-rules", area="sagemaker", severity=Severity.HIGH,
    types=[tokens.SAGEMAKER_PIPELINE, tokens.S3_BUCKET],
    description="Every step of every pipeline definition encrypts volumes and outputs with KMS, "
                "uses an allowed instance type, sets a max runtime within the limit and writes "
                "only to the platform's buckets.",
    remediation="Build the pipeline from the platform context (kms key, buckets, allowed "
                "instance types, max runtime) in pipelines/<project>/pipeline.py.",
    config_schema={
        "allowedInstanceTypes": {"type": "array", "items": {"type": "string"}, "default": [],
                                 "description": "Allowed instance types; empty allows any."},
        "maxRuntimeSeconds": {"type": "integer", "minimum": 60, "default": 86400,
                              "description": "Longest allowed MaxRuntimeInSeconds."},
        "extraOutputBuckets": {"type": "array", "items": {"type": "string"}, "default": [],
                               "description": "Buckets outside the stack steps may write to."},
    },
)
def pipeline_definition_rules(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[Finding]:
    buckets = {str(b.props.get("bucket")) for b in of_type(resources, tokens.S3_BUCKET)
               if b.props.get("bucket") and not is_unknown(b.props.get("bucket"))}
    buckets |= {str(b) for b in config.get("extraOutputBuckets") or []}
    itypes = [str(t) for t in config.get("allowedInstanceTypes") or []]
    max_runtime = int(config.get("maxRuntimeSeconds") or 86400)

    def judge(pipeline: Resource) -> Iterator[str]:
        raw = pipeline.props.get("pipelineDefinition")
        if raw is None:
            if pipeline.props.get("pipelineDefinitionS3Location"):
                raise CannotEvaluate("pipelineDefinitionS3Location (definition stored in S3)")
            yield "pipeline has no pipelineDefinition"
            return
        known(raw, "pipelineDefinition")
        try:
            definition = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError as exc:
            yield f"pipelineDefinition is not JSON: {exc.msg}"
            return
        if not isinstance(definition, Mapping):
            yield "pipelineDefinition is not a JSON object"
            return
        for violation in definition_violations(definition, buckets=buckets,
                                               instance_types=itypes, max_runtime=max_runtime):
            yield str(violation)

    return iter_findings(of_type(resources, tokens.SAGEMAKER_PIPELINE), judge)


@resource_rule(
    "endpoint-config-kms", area="sagemaker", severity=Severity.HIGH,
    types=[tokens.SAGEMAKER_ENDPOINT_CONFIGURATION],
    description="Endpoint configurations encrypt the ML storage volumes with a customer key, "
                "except where every variant runs on instance types with local NVMe storage "
                "(AWS encrypts those in hardware and refuses a key).",
    remediation="Set kms_key_arn on the EndpointConfiguration to the environment key.",
    references=["CKV_AWS_98"],
)
def endpoint_config_kms(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if get(resource.props, "kmsKeyArn"):
        return
    variants = as_list(get(resource.props, "productionVariants"))
    types = [get(v, "instanceType") for v in variants]
    if types and all(isinstance(t, str) and has_local_nvme(t) for t in types):
        return  # the exemption: AWS refuses a KmsKeyId on local NVMe storage
    yield "kmsKeyArn is not set"


@resource_rule(
    "endpoint-serverless-outside-prod", area="sagemaker", severity=Severity.HIGH,
    types=[tokens.SAGEMAKER_ENDPOINT_CONFIGURATION],
    description="Serverless variants only where allowServerless is true (not in prod): they "
                "support neither network isolation, a VPC nor data capture.",
    remediation="Serve prod from instances (initial_instance_count, instance_type) instead of "
                "a serverless_config.",
    config_schema={"allowServerless": {"type": "boolean", "default": True,
                                       "description": "Whether serverless variants are allowed."}},
)
def endpoint_serverless_outside_prod(resource: Resource,
                                     config: Mapping[str, Any]) -> Iterator[str]:
    if config.get("allowServerless", True):
        return
    for i, variant in enumerate(as_list(get(resource.props, "productionVariants"))):
        if get(variant, "serverlessConfig"):
            yield f"variant {get(variant, 'variantName') or i} is serverless"


@resource_rule(
    "endpoint-data-capture-kms", area="sagemaker", severity=Severity.HIGH,
    types=[tokens.SAGEMAKER_ENDPOINT_CONFIGURATION],
    description="Endpoints capture request/response data for monitoring, encrypted with KMS.",
    remediation="Set data_capture_config with enable_capture=True, a destination in the "
                "platform bucket and kms_key_id.",
)
def endpoint_data_capture_kms(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    capture = get(resource.props, "dataCaptureConfig")
    if not capture or not truthy(get(capture, "enableCapture", True)):
        yield "data capture is off (dataCaptureConfig.enableCapture)"
    elif not get(capture, "kmsKeyId"):
        yield "dataCaptureConfig.kmsKeyId is not set"


@resource_rule(
    "endpoint-min-instances", area="sagemaker", severity=Severity.HIGH,
    types=[tokens.SAGEMAKER_ENDPOINT_CONFIGURATION],
    description="Production variants run at least minInstances instances (spread over "
                "availability zones). Enforced in prod.",
    remediation="Set initial_instance_count >= 2 on every production variant.",
    references=["Security Hub SageMaker.4"],
    config_schema={"minInstances": {"type": "integer", "minimum": 1, "default": 2,
                                    "description": "Smallest instance count per variant."}},
)
def endpoint_min_instances(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    minimum = int(config.get("minInstances", 2))
    for i, variant in enumerate(as_list(get(resource.props, "productionVariants"))):
        if get(variant, "serverlessConfig"):
            continue
        count = get(variant, "initialInstanceCount", 1)
        if int(float(count)) < minimum:
            name = get(variant, "variantName") or i
            yield f"variant {name} has {int(float(count))} instance(s), fewer than {minimum}"


@resource_rule(
    "model-network-isolation", area="sagemaker", severity=Severity.HIGH, types=[tokens.SAGEMAKER_MODEL],
    description="Models run with network isolation: containers make no outbound calls.",
    remediation="Set enable_network_isolation=True on the aws.sagemaker.Model.",
    references=["CKV_AWS_370", "Security Hub SageMaker.5"],
)
def model_network_isolation(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if not truthy(get(resource.props, "enableNetworkIsolation", False)):
        yield "enableNetworkIsolation is not true"


@resource_rule(
    "endpoint-auto-rollback", area="sagemaker", severity=Severity.HIGH, types=[tokens.SAGEMAKER_ENDPOINT],
    description="Endpoints update blue/green (or rolling) with CloudWatch alarms that roll "
                "back a bad deployment automatically; where gradual is true (prod), traffic "
                "shifts by a canary or linearly.",
    remediation="Set deployment_config.blue_green_update_policy (CANARY or LINEAR traffic "
                "routing where gradual) and deployment_config.auto_rollback_configuration.alarms "
                "(5XX and latency alarms).",
    config_schema={"gradual": {"type": "boolean", "default": False,
                               "description": "Require CANARY or LINEAR traffic routing."}},
)
def endpoint_auto_rollback(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    deployment = get(resource.props, "deploymentConfig")
    if not deployment:
        yield "no deploymentConfig (blue/green with auto-rollback alarms)"
        return

    def policy() -> Iterator[str]:
        blue_green = get(deployment, "blueGreenUpdatePolicy")
        if not (blue_green or get(deployment, "rollingUpdatePolicy")):
            yield "deploymentConfig has no blueGreenUpdatePolicy"
        elif config.get("gradual") and blue_green:
            routing = get(blue_green, "trafficRoutingConfiguration.type")
            if routing not in ("CANARY", "LINEAR"):
                yield (f"traffic shifts {routing or 'ALL_AT_ONCE'}, not by a canary or linearly "
                       "(CANARY or LINEAR)")

    def alarms() -> Iterator[str]:
        if not as_list(get(deployment, "autoRollbackConfiguration.alarms")):
            yield "deploymentConfig.autoRollbackConfiguration has no alarms"

    yield from each(policy, alarms)


@resource_rule(
    "notebook-kms", area="sagemaker", severity=Severity.HIGH, types=[tokens.SAGEMAKER_NOTEBOOK_INSTANCE],
    description="Notebook instances encrypt their storage volume with a customer key.",
    remediation="Set kms_key_id on the NotebookInstance.",
    references=["CKV_AWS_22"],
)
def notebook_kms(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if not get(resource.props, "kmsKeyId"):
        yield "kmsKeyId is not set"


@resource_rule(
    "notebook-no-direct-internet", area="sagemaker", severity=Severity.HIGH,
    types=[tokens.SAGEMAKER_NOTEBOOK_INSTANCE],
    description="Notebook instances have no direct internet access (traffic goes through the "
                "VPC).",
    remediation="Set direct_internet_access='Disabled' and a subnet_id.",
    references=["CKV_AWS_122", "Security Hub SageMaker.1"],
)
def notebook_no_direct_internet(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if get(resource.props, "directInternetAccess", "Enabled") != "Disabled":
        yield "directInternetAccess is not Disabled"


@resource_rule(
    "notebook-no-root", area="sagemaker", severity=Severity.MEDIUM,
    types=[tokens.SAGEMAKER_NOTEBOOK_INSTANCE],
    description="Notebook users have no root access.",
    remediation="Set root_access='Disabled' on the NotebookInstance.",
    references=["CKV_AWS_307", "Security Hub SageMaker.3"],
)
def notebook_no_root(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if get(resource.props, "rootAccess", "Enabled") != "Disabled":
        yield "rootAccess is not Disabled"


@resource_rule(
    "autoscaling-max-at-least-min", area="sagemaker", severity=Severity.HIGH,
    types=[tokens.AUTOSCALING_TARGET],
    description="Scalable targets keep at least one instance and can scale to at least their "
                "minimum (max >= min >= 1).",
    remediation="Set min_capacity >= 1 and max_capacity >= min_capacity on the "
                "appautoscaling Target.",
)
def autoscaling_max_at_least_min(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    low, high = get(resource.props, "minCapacity"), get(resource.props, "maxCapacity")
    if low is None or high is None:
        yield "minCapacity and maxCapacity must both be set"
        return
    if int(float(low)) < 1:
        yield f"minCapacity is {int(float(low))}: an endpoint variant needs an instance"
    if int(float(high)) < int(float(low)):
        yield f"maxCapacity {int(float(high))} is below minCapacity {int(float(low))}"
