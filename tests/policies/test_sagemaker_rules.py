"""SageMaker rules: feature groups, registry sharing, pipelines, endpoints, models, notebooks."""

from __future__ import annotations

import json

import pytest

from common import tokens
from tests.policies.helpers import ACCOUNT, KEY_ARN, UNKNOWN, bucket, doc, res, unknowns, violations

FG = tokens.SAGEMAKER_FEATURE_GROUP
PIPELINE = tokens.SAGEMAKER_PIPELINE
ROLE = tokens.IAM_ROLE
GROUP_POLICY = tokens.SAGEMAKER_MODEL_PACKAGE_GROUP_POLICY
EPC = tokens.SAGEMAKER_ENDPOINT_CONFIGURATION
ENDPOINT = tokens.SAGEMAKER_ENDPOINT
MODEL = tokens.SAGEMAKER_MODEL
NOTEBOOK = tokens.SAGEMAKER_NOTEBOOK_INSTANCE


def feature_group(**props):
    base = {
        "featureGroupName": "mlops-prod-churn-customers",
        "offlineStoreConfig": {"s3StorageConfig": {"s3Uri": "s3://b/fs", "kmsKeyId": KEY_ARN}},
        "onlineStoreConfig": {"enableOnlineStore": True, "securityConfig": {"kmsKeyId": KEY_ARN}},
    }
    return base | props


def test_feature_group_offline_kms():
    assert violations("feature-group-offline-kms", [res(FG, "fg", feature_group())]) == []
    no_key = feature_group(offlineStoreConfig={"s3StorageConfig": {"s3Uri": "s3://b/fs"}})
    assert violations("feature-group-offline-kms", [res(FG, "fg", no_key)]) == [
        "fg: offlineStoreConfig.s3StorageConfig.kmsKeyId is not set"]


def test_feature_group_online_kms():
    assert violations("feature-group-online-kms", [res(FG, "fg", feature_group())]) == []
    off = feature_group(onlineStoreConfig={"enableOnlineStore": False})
    assert violations("feature-group-online-kms", [res(FG, "fg", off)]) == []
    no_key = feature_group(onlineStoreConfig={"enableOnlineStore": True})
    assert violations("feature-group-online-kms", [res(FG, "fg", no_key)]) == [
        "fg: online store is on but onlineStoreConfig.securityConfig.kmsKeyId is not set"]


def test_feature_group_offline_kms_unknown():
    unknown = feature_group(offlineStoreConfig={"s3StorageConfig": {"kmsKeyId": UNKNOWN}})
    assert unknowns("feature-group-offline-kms", [res(FG, "fg", unknown)]) == [
        "value at s3StorageConfig.kmsKeyId is not known until deploy"]


def test_feature_group_protected():
    assert violations("feature-group-protected",
                      [res(FG, "fg", feature_group(), protect=True, retain=True)]) == []
    assert violations("feature-group-protected", [res(FG, "fg", feature_group())]) == [
        "fg: feature group is not protected (protect=True)",
        "fg: feature group is not retained on delete (retain_on_delete=True)",
    ]


READ = ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"]


def group_policy(principal, actions=READ):
    return res(GROUP_POLICY, "gp", {"modelPackageGroupName": "g", "resourcePolicy": doc({
        "Sid": "Read", "Effect": "Allow", "Principal": principal, "Action": actions,
        "Resource": "*"})})


def test_registry_policy_known_accounts():
    config = {"allowedAccounts": ["210987654321"]}
    good = group_policy({"AWS": ["arn:aws:iam::210987654321:root"]})
    assert violations("registry-policy-known-accounts", [good], config) == []
    stranger = group_policy({"AWS": "arn:aws:iam::999999999999:root"})
    assert violations("registry-policy-known-accounts", [stranger], config) == [
        "gp: statement Read names arn:aws:iam::999999999999:root, not a configured account"]
    writer = group_policy({"AWS": "210987654321"}, ["sagemaker:UpdateModelPackage"])
    assert violations("registry-policy-known-accounts", [writer], config) == [
        "gp: statement Read grants sagemaker:UpdateModelPackage, which is not read-only"]
    assert violations("registry-policy-known-accounts", [group_policy("*")], config) == [
        "gp: statement Read grants access to '*'"]


def roles():
    platform = res(ROLE, "iam-sagemaker-execution", {"name": "mlops-prod-sagemaker-execution"})
    other = res(ROLE, "project-role", {"name": "churn-adhoc"})
    return platform, other


def pipeline(role, definition=None, **props):
    base = {"pipelineName": "mlops-prod-churn",
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/{role.props['name']}",
            "pipelineDefinition": json.dumps(definition or {"Version": "2020-12-01",
                                                           "Steps": []})}
    return res(PIPELINE, "churn-pipeline", base | props, deps={"roleArn": [role]})


def test_pipeline_role_is_platform_role():
    platform, other = roles()
    assert violations("pipeline-role-is-platform-role", [platform, other, pipeline(platform)]) == []
    assert violations("pipeline-role-is-platform-role", [platform, other, pipeline(other)]) == [
        "churn-pipeline: roleArn is role project-role, not the platform role "
        "(*-sagemaker-execution)"]


def test_pipeline_role_literal_arn_fallback():
    platform, _ = roles()
    literal = res(PIPELINE, "p", {"roleArn": "arn:aws:iam::999999999999:role/admin"})
    assert violations("pipeline-role-is-platform-role", [platform, literal]) == [
        "p: roleArn arn:aws:iam::999999999999:role/admin is not the platform role of this "
        "stack (*-sagemaker-execution)"]
    unknown = res(PIPELINE, "p", {"roleArn": UNKNOWN})
    assert unknowns("pipeline-role-is-platform-role", [platform, unknown]) == [
        "value at roleArn is not known until deploy"]


def training_step(**overrides):
    args = {
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                           "VolumeSizeInGB": 30, "VolumeKmsKeyId": KEY_ARN},
        "OutputDataConfig": {"S3OutputPath": "s3://mlops-test-data/models", "KmsKeyId": KEY_ARN},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    for path, value in overrides.items():
        section, field = path.split(".")
        args[section] = {**args[section], field: value}
    return {"Name": "Train", "Type": "Training", "Arguments": args}


def processing_step(uri="s3://mlops-test-data/prep"):
    return {"Name": "Prep", "Type": "Processing", "Arguments": {
        "ProcessingResources": {"ClusterConfig": {
            "InstanceType": {"Get": "Parameters.ProcessingInstanceType"},
            "InstanceCount": 1, "VolumeSizeInGB": 30, "VolumeKmsKeyId": KEY_ARN}},
        "ProcessingOutputConfig": {"KmsKeyId": KEY_ARN, "Outputs": [
            {"OutputName": "train", "S3Output": {"S3Uri": uri, "LocalPath": "/opt/ml/out",
                                                 "S3UploadMode": "EndOfJob"}}]},
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
    }}


def definition(*steps):
    return {"Version": "2020-12-01",
            "Parameters": [{"Name": "ProcessingInstanceType", "Type": "String",
                            "DefaultValue": "ml.m5.xlarge"}],
            "Steps": list(steps)}


CONFIG = {"allowedInstanceTypes": ["ml.m5.xlarge"], "maxRuntimeSeconds": 7200}


def check_definition(defn):
    platform, _ = roles()
    return violations("pipeline-definition-rules",
                      [bucket("data"), platform, pipeline(platform, defn)], CONFIG)


def test_pipeline_definition_passes():
    condition = {"Name": "Gate", "Type": "Condition", "Arguments": {
        "Conditions": [], "IfSteps": [training_step()], "ElseSteps": []}}
    assert check_definition(definition(processing_step(), condition)) == []


def test_pipeline_definition_fails_each_platform_rule():
    bad = training_step(**{"ResourceConfig.VolumeKmsKeyId": None,
                           "OutputDataConfig.KmsKeyId": None,
                           "ResourceConfig.InstanceType": "ml.p4d.24xlarge",
                           "StoppingCondition.MaxRuntimeInSeconds": 86400,
                           "OutputDataConfig.S3OutputPath": "s3://somebody-else/models"})
    assert check_definition(definition(bad)) == [
        "churn-pipeline: step Train: ResourceConfig.VolumeKmsKeyId is not set "
        "(volumes unencrypted by CMK)",
        "churn-pipeline: step Train: OutputDataConfig.KmsKeyId is not set "
        "(outputs not encrypted by CMK)",
        "churn-pipeline: step Train: instance type ml.p4d.24xlarge is not allowed (ml.m5.xlarge)",
        "churn-pipeline: step Train: max runtime 86400s exceeds 7200s",
        "churn-pipeline: step Train: writes to s3://somebody-else/models, not a bucket of this "
        "platform",
    ]
    assert check_definition(definition(processing_step("s3://other/x"))) == [
        "churn-pipeline: step Prep: writes to s3://other/x, not a bucket of this platform"]


def test_quality_check_steps_are_checked_like_processing_jobs():
    """QualityCheck/ClarifyCheck Arguments are processing requests (the fraud project has one)."""
    for kind in ("QualityCheck", "ClarifyCheck"):
        good = {**processing_step(), "Name": "Check", "Type": kind}
        assert check_definition(definition(good)) == []
        bad = json.loads(json.dumps(good))
        bad["Arguments"]["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] = None
        assert check_definition(definition(bad)) == [
            "churn-pipeline: step Check: ProcessingResources.ClusterConfig.VolumeKmsKeyId is "
            "not set (volumes unencrypted by CMK)"]


def test_pipeline_definition_with_runtime_values_cannot_evaluate():
    platform, _ = roles()
    step = processing_step({"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"})
    found = unknowns("pipeline-definition-rules",
                     [bucket("data"), platform, pipeline(platform, definition(step))], CONFIG)
    assert len(found) == 1 and "ProcessingOutputConfig.Outputs[0].S3Output.S3Uri" in found[0]
    unknown = res(PIPELINE, "p", {"pipelineDefinition": UNKNOWN})
    assert unknowns("pipeline-definition-rules", [unknown]) == [
        "value at pipelineDefinition is not known until deploy"]


def endpoint_config(**props):
    base = {"kmsKeyArn": KEY_ARN,
            "productionVariants": [{"variantName": "main", "modelName": "m",
                                    "instanceType": "ml.m5.xlarge", "initialInstanceCount": 2}],
            "dataCaptureConfig": {"enableCapture": True, "initialSamplingPercentage": 100,
                                  "destinationS3Uri": "s3://b/capture", "kmsKeyId": KEY_ARN,
                                  "captureOptions": [{"captureMode": "Input"}]}}
    return res(EPC, "epc", base | props)


def test_endpoint_config_kms():
    assert violations("endpoint-config-kms", [endpoint_config()]) == []
    assert violations("endpoint-config-kms", [endpoint_config(kmsKeyArn=None)]) == [
        "epc: kmsKeyArn is not set"]


@pytest.mark.parametrize(("instance_type", "exempt"), [
    ("ml.m5d.xlarge", True), ("ml.g4dn.xlarge", True), ("ml.g5.2xlarge", True),
    ("ml.p4d.24xlarge", True), ("ml.c6id.large", True), ("ml.m5.xlarge", False),
    ("ml.inf1.xlarge", False), ("ml.c5.large", False),
])
def test_endpoint_config_kms_exempts_exactly_local_nvme_types(instance_type, exempt):
    variants = [{"variantName": "main", "modelName": "m", "instanceType": instance_type,
                 "initialInstanceCount": 2}]
    found = violations("endpoint-config-kms",
                       [endpoint_config(kmsKeyArn=None, productionVariants=variants)])
    assert found == ([] if exempt else ["epc: kmsKeyArn is not set"])
    mixed = variants + [{"variantName": "b", "modelName": "m", "instanceType": "ml.m5.large"}]
    assert violations("endpoint-config-kms", [endpoint_config(kmsKeyArn=None,
                                                               productionVariants=mixed)]) == [
        "epc: kmsKeyArn is not set"]  # one variant with EBS volumes needs the key


def test_endpoint_serverless_outside_prod():
    serverless = [{"variantName": "main", "modelName": "m",
                   "serverlessConfig": {"memorySizeInMb": 2048, "maxConcurrency": 5}}]
    config = endpoint_config(productionVariants=serverless)
    assert violations("endpoint-serverless-outside-prod", [config]) == []  # allowed by default
    assert violations("endpoint-serverless-outside-prod", [config],
                      {"allowServerless": False}) == ["epc: variant main is serverless"]
    assert violations("endpoint-serverless-outside-prod", [endpoint_config()],
                      {"allowServerless": False}) == []


def test_endpoint_data_capture_kms():
    assert violations("endpoint-data-capture-kms", [endpoint_config()]) == []
    assert violations("endpoint-data-capture-kms", [endpoint_config(dataCaptureConfig=None)]) == [
        "epc: data capture is off (dataCaptureConfig.enableCapture)"]
    no_key = {"enableCapture": True, "destinationS3Uri": "s3://b/c"}
    assert violations("endpoint-data-capture-kms", [endpoint_config(dataCaptureConfig=no_key)]) == [
        "epc: dataCaptureConfig.kmsKeyId is not set"]


def test_endpoint_min_instances():
    assert violations("endpoint-min-instances", [endpoint_config()]) == []
    single = [{"variantName": "main", "modelName": "m", "initialInstanceCount": 1}]
    assert violations("endpoint-min-instances", [endpoint_config(productionVariants=single)]) == [
        "epc: variant main has 1 instance(s), fewer than 2"]
    assert violations("endpoint-min-instances", [endpoint_config(productionVariants=single)],
                      {"minInstances": 1}) == []


def test_model_network_isolation():
    assert violations("model-network-isolation",
                      [res(MODEL, "m", {"enableNetworkIsolation": True})]) == []
    assert violations("model-network-isolation", [res(MODEL, "m", {})]) == [
        "m: enableNetworkIsolation is not true"]


def test_endpoint_auto_rollback():
    good = {"deploymentConfig": {
        "blueGreenUpdatePolicy": {"trafficRoutingConfiguration": {"type": "ALL_AT_ONCE",
                                                                  "waitIntervalInSeconds": 300}},
        "autoRollbackConfiguration": {"alarms": [{"alarmName": "5xx"}]}}}
    assert violations("endpoint-auto-rollback", [res(ENDPOINT, "e", good)]) == []
    assert violations("endpoint-auto-rollback", [res(ENDPOINT, "e", {})]) == [
        "e: no deploymentConfig (blue/green with auto-rollback alarms)"]
    no_alarms = {"deploymentConfig": {"blueGreenUpdatePolicy": {}}}
    assert violations("endpoint-auto-rollback", [res(ENDPOINT, "e", no_alarms)]) == [
        "e: deploymentConfig has no blueGreenUpdatePolicy",
        "e: deploymentConfig.autoRollbackConfiguration has no alarms",
    ]
    # Where the tier asks for a gradual rollout (prod), all at once is not enough.
    assert violations("endpoint-auto-rollback", [res(ENDPOINT, "e", good)], {"gradual": True}) == [
        "e: traffic shifts ALL_AT_ONCE, not by a canary or linearly (CANARY or LINEAR)"]
    canary = {"deploymentConfig": {**good["deploymentConfig"], "blueGreenUpdatePolicy": {
        "trafficRoutingConfiguration": {"type": "CANARY", "waitIntervalInSeconds": 300,
                                        "canarySize": {"type": "CAPACITY_PERCENT", "value": 10}}}}}
    assert violations("endpoint-auto-rollback", [res(ENDPOINT, "e", canary)],
                      {"gradual": True}) == []


def test_autoscaling_max_at_least_min():
    def target(low, high):  # type: ignore[no-untyped-def]
        return res(tokens.AUTOSCALING_TARGET, "t", {
            "minCapacity": low, "maxCapacity": high, "serviceNamespace": "sagemaker",
            "resourceId": "endpoint/e/variant/AllTraffic",
            "scalableDimension": "sagemaker:variant:DesiredInstanceCount"})
    assert violations("autoscaling-max-at-least-min", [target(2, 6)]) == []
    assert violations("autoscaling-max-at-least-min", [target(2.0, 2.0)]) == []
    assert violations("autoscaling-max-at-least-min", [target(4, 2)]) == [
        "t: maxCapacity 2 is below minCapacity 4"]
    assert violations("autoscaling-max-at-least-min", [target(0, 2)]) == [
        "t: minCapacity is 0: an endpoint variant needs an instance"]


def test_notebook_rules():
    good = res(NOTEBOOK, "nb", {"kmsKeyId": KEY_ARN, "directInternetAccess": "Disabled",
                                "rootAccess": "Disabled"})
    default = res(NOTEBOOK, "nb", {})
    for rule in ("notebook-kms", "notebook-no-direct-internet", "notebook-no-root"):
        assert violations(rule, [good]) == []
    assert violations("notebook-kms", [default]) == ["nb: kmsKeyId is not set"]
    assert violations("notebook-no-direct-internet", [default]) == [
        "nb: directInternetAccess is not Disabled"]
    assert violations("notebook-no-root", [default]) == ["nb: rootAccess is not Disabled"]


def test_pipeline_step_with_runtime_value_does_not_hide_other_violations():
    platform, _ = roles()
    runtime_uri = processing_step({"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"})
    bad_train = training_step(**{"ResourceConfig.InstanceType": "ml.p4d.24xlarge"})
    resources = [bucket("data"), platform, pipeline(platform, definition(runtime_uri, bad_train))]
    assert violations("pipeline-definition-rules", resources, CONFIG) == [
        "churn-pipeline: step Train: instance type ml.p4d.24xlarge is not allowed (ml.m5.xlarge)"]
    assert len(unknowns("pipeline-definition-rules", resources, CONFIG)) == 1
