"""The Serving component as the offline Plan shows it: a pinned version becomes an endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common import tokens
from infra.projects.errors import ProjectError
from mlops.offline.runtime import build_plan
from mlops.offline.schema import schema_problems
from mlops.ops.pins import write_pin
from mlops.policy.evaluate import VIOLATION, check_plan

ACCOUNT, REGION = "123456789012", "eu-west-1"
MODEL = tokens.SAGEMAKER_MODEL
CONFIG = tokens.SAGEMAKER_ENDPOINT_CONFIGURATION
ENDPOINT = tokens.SAGEMAKER_ENDPOINT
ALARM = tokens.METRIC_ALARM


def package_arn(stack: str, version: int) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/mlops-{stack}-churn/{version}"


def pinned_plan(root: Path, stack: str, version: int = 3):  # type: ignore[no-untyped-def]
    write_pin(root, stack, "churn", version, package_arn(stack, version))
    return build_plan(root, stack)


def edit_serving(root: Path, text: str) -> None:
    path = root / "pipelines" / "churn" / "project.yaml"
    head = path.read_text().split("\nserving:\n")[0]
    path.write_text(head + "\nserving:\n" + text)


def allow_instance_type(root: Path, stack: str, instance_type: str) -> None:
    path = root / "stacks" / f"Pulumi.{stack}.yaml"
    text = path.read_text()
    path.write_text(text.replace("  mlops:allowedInstanceTypes:\n",
                                 f"  mlops:allowedInstanceTypes:\n    - {instance_type}\n", 1))


def one(plan, token):  # type: ignore[no-untyped-def]
    found = plan.of_type(token)
    assert len(found) == 1, [r.name for r in found]
    return found[0]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_without_a_pin_no_endpoint_and_the_plan_says_why(plans, stack: str) -> None:
    plan = plans[stack]
    assert not plan.of_type(ENDPOINT) and not plan.of_type(MODEL)
    assert plan.outputs["endpoints"] == {}
    assert "no version of churn is pinned" in plan.outputs["notServed"]["churn"]


@pytest.mark.slow
def test_a_pin_becomes_model_config_and_endpoint(tmp_root: Path) -> None:
    plan = pinned_plan(tmp_root, "staging", 3)
    model, config, endpoint = one(plan, MODEL), one(plan, CONFIG), one(plan, ENDPOINT)
    key = one(plan, tokens.KMS_KEY)
    assert model.inputs["name"] == config.inputs["name"] == "mlops-staging-churn-v3"
    assert model.inputs["primaryContainer"] == {"modelPackageName": package_arn("staging", 3)}
    assert model.inputs["enableNetworkIsolation"] is True
    assert endpoint.inputs["name"] == "mlops-staging-churn"
    assert endpoint.inputs["endpointConfigName"] == "mlops-staging-churn-v3"
    assert plan.outputs["endpoints"] == {"churn": "mlops-staging-churn"}
    assert "churn" not in plan.outputs["notServed"]

    assert config.retain_on_delete and not endpoint.retain_on_delete
    assert key.urn in config.property_dependencies["kmsKeyArn"]
    (variant,) = config.inputs["productionVariants"]
    assert (variant["instanceType"], variant["initialInstanceCount"]) == ("ml.m5.large", 2)
    capture = config.inputs["dataCaptureConfig"]
    raw = next(b.inputs["bucket"] for b in plan.of_type(tokens.S3_BUCKET)
               if "raw-data" in b.inputs["bucket"])
    assert capture["destinationS3Uri"] == f"s3://{raw}/datacapture/churn"
    assert capture["initialSamplingPercentage"] == 100 and capture["enableCapture"] is True
    assert key.urn in config.property_dependencies["dataCaptureConfig"]


@pytest.mark.slow
def test_the_endpoint_rolls_back_on_alarms_that_exist(tmp_root: Path) -> None:
    plan = pinned_plan(tmp_root, "staging")
    endpoint = one(plan, ENDPOINT)
    policy = endpoint.inputs["deploymentConfig"]["blueGreenUpdatePolicy"]
    assert policy["trafficRoutingConfiguration"] == {
        "type": "CANARY", "waitIntervalInSeconds": 300,
        "canarySize": {"type": "CAPACITY_PERCENT", "value": 50}}
    assert policy["terminationWaitInSeconds"] == 300
    rollback = {a["alarmName"] for a in
                endpoint.inputs["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]}
    alarms = {a.inputs["name"]: a for a in plan.of_type(ALARM)
              if a.inputs["name"].startswith("mlops-staging-churn-endpoint-")}
    assert rollback == {"mlops-staging-churn-endpoint-5xx", "mlops-staging-churn-endpoint-latency"}
    assert rollback <= set(alarms)
    assert alarms["mlops-staging-churn-endpoint-latency"].inputs["threshold"] == 500 * 1000
    # The endpoint waits for its alarms: a deployment never names an alarm that is not there.
    assert {a.urn for a in alarms.values()} <= set(endpoint.dependencies)
    topic = one(plan, tokens.SNS_TOPIC)
    for alarm in alarms.values():
        assert topic.urn in alarm.property_dependencies["alarmActions"]
        assert alarm.inputs["dimensions"] == {"EndpointName": "mlops-staging-churn",
                                              "VariantName": "AllTraffic"}

    rule = plan.named("serving-rollbacks")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail"]["EndpointName"] == ["mlops-staging-churn"]
    assert pattern["detail-type"] == ["SageMaker Endpoint Deployment State Change"]
    target = plan.named("serving-rollbacks-to-alerts")
    assert topic.urn in target.property_dependencies["arn"]


@pytest.mark.slow
def test_prod_rolls_out_linearly_scales_and_expects_traffic(tmp_root: Path) -> None:
    plan = pinned_plan(tmp_root, "prod", 7)
    endpoint = one(plan, ENDPOINT)
    routing = endpoint.inputs["deploymentConfig"]["blueGreenUpdatePolicy"][
        "trafficRoutingConfiguration"]
    assert routing["type"] == "LINEAR"
    assert routing["linearStepSize"] == {"type": "CAPACITY_PERCENT", "value": 25}
    target = one(plan, tokens.AUTOSCALING_TARGET)
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 8)
    assert target.inputs["resourceId"] == "endpoint/mlops-prod-churn/variant/AllTraffic"
    assert target.inputs["scalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    scaling = one(plan, tokens.AUTOSCALING_POLICY)
    tracking = scaling.inputs["targetTrackingScalingPolicyConfiguration"]
    assert tracking["targetValue"] == 200
    assert tracking["predefinedMetricSpecification"] == {
        "predefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    names = {a.inputs["name"] for a in plan.of_type(ALARM)}
    assert "mlops-prod-churn-endpoint-no-invocations" in names
    assert one(plan, CONFIG).inputs["dataCaptureConfig"]["initialSamplingPercentage"] == 20


@pytest.mark.slow
def test_dev_deploys_all_at_once_without_scaling(tmp_root: Path) -> None:
    plan = pinned_plan(tmp_root, "dev")
    routing = one(plan, ENDPOINT).inputs["deploymentConfig"]["blueGreenUpdatePolicy"][
        "trafficRoutingConfiguration"]
    assert routing == {"type": "ALL_AT_ONCE", "waitIntervalInSeconds": 0}
    assert not plan.of_type(tokens.AUTOSCALING_TARGET)
    names = {a.inputs["name"] for a in plan.of_type(ALARM)}
    assert "mlops-dev-churn-endpoint-no-invocations" not in names


@pytest.mark.slow
def test_a_new_version_is_a_new_configuration_and_the_same_endpoint(tmp_root: Path) -> None:
    first = pinned_plan(tmp_root, "dev", 3)
    second = pinned_plan(tmp_root, "dev", 4)
    assert one(first, ENDPOINT).urn == one(second, ENDPOINT).urn
    assert one(first, CONFIG).urn != one(second, CONFIG).urn
    assert one(second, CONFIG).inputs["name"] == "mlops-dev-churn-v4"
    # The rollback alarms keep their names across versions.
    assert {a.inputs["name"] for a in first.of_type(ALARM)} == {
        a.inputs["name"] for a in second.of_type(ALARM)}


@pytest.mark.slow
def test_nvme_instance_types_carry_no_volume_key(tmp_root: Path) -> None:
    allow_instance_type(tmp_root, "dev", "ml.m5d.large")
    edit_serving(tmp_root, "  instanceType: {dev: ml.m5d.large}\n")
    plan = pinned_plan(tmp_root, "dev")
    config = one(plan, CONFIG)
    assert config.inputs.get("kmsKeyArn") is None
    assert "kmsKeyArn" not in config.property_dependencies or \
        not config.property_dependencies["kmsKeyArn"]
    # Captured data is still encrypted with the environment key.
    assert config.inputs["dataCaptureConfig"]["kmsKeyId"]
    report = check_plan(tmp_root, "dev", "dev", plan)
    assert not [r for r in report.results if r.status == VIOLATION
                and r.rule.id == "endpoint-config-kms"]


@pytest.mark.slow
def test_serverless_in_dev_trades_isolation_and_capture(tmp_root: Path) -> None:
    edit_serving(tmp_root, "  serverless: {dev: {memorySizeMb: 2048, maxConcurrency: 5}}\n")
    plan = pinned_plan(tmp_root, "dev")
    config = one(plan, CONFIG)
    (variant,) = config.inputs["productionVariants"]
    assert variant["serverlessConfig"] == {"memorySizeInMb": 2048, "maxConcurrency": 5}
    assert "instanceType" not in variant and config.inputs.get("dataCaptureConfig") is None
    assert one(plan, MODEL).inputs["enableNetworkIsolation"] is False
    assert one(plan, ENDPOINT).inputs.get("deploymentConfig") is None
    assert schema_problems(plan) == []


def test_serverless_is_refused_in_prod(tmp_root: Path) -> None:
    edit_serving(tmp_root, "  serverless: {prod: {memorySizeMb: 2048}}\n")
    write_pin(tmp_root, "prod", "churn", 1, package_arn("prod", 1))
    with pytest.raises(ProjectError, match="serverless inference is for dev-tier stacks only"):
        build_plan(tmp_root, "prod")


@pytest.mark.slow
def test_a_stack_network_puts_the_model_in_the_vpc(tmp_root: Path) -> None:
    path = tmp_root / "stacks" / "Pulumi.staging.yaml"
    path.write_text(path.read_text() + "  mlops:network:\n    subnetIds: [subnet-0abc1234, subnet-0def5678]\n"
                                       "    securityGroupIds: [sg-0abc1234]\n")
    plan = pinned_plan(tmp_root, "staging")
    assert one(plan, MODEL).inputs["vpcConfig"] == {"subnets": ["subnet-0abc1234", "subnet-0def5678"],
                                                    "securityGroupIds": ["sg-0abc1234"]}
    assert schema_problems(plan) == []


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_pinned_stacks_pass_their_tier_policies(tmp_root: Path, stack: str) -> None:
    plan = pinned_plan(tmp_root, stack)
    assert schema_problems(plan) == [], "every input is one the provider schema has"
    report = check_plan(tmp_root, stack, stack, plan)
    assert [(r.rule.id, r.name, r.message) for r in report.mandatory_violations] == []
    assert not [r for r in report.violations if r.name.startswith("serving")]
    serving_rules = {"endpoint-config-kms", "endpoint-auto-rollback", "endpoint-data-capture-kms",
                     "model-network-isolation", "autoscaling-max-at-least-min"}
    checked = {o.rule.id for o in report.outcomes if o.subjects}
    assert serving_rules - {"autoscaling-max-at-least-min"} <= checked
