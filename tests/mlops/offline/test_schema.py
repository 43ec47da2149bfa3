"""Plans against the pulumi-aws input types: every input property is one the provider has."""

from __future__ import annotations

import pytest

from common import tokens
from mlops.offline.plan import PlanResource
from mlops.offline.schema import args_class, checked_types, resource_problems, schema_problems


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_shipped_plans_use_only_inputs_the_provider_has(plans, stack: str) -> None:
    plan = plans[stack]
    assert schema_problems(plan) == []
    cloud = {r.type for r in plan.custom_resources() if r.type.startswith("aws:")}
    assert checked_types(plan) == cloud, "every aws type of the plan is checked"


@pytest.mark.parametrize(("token", "expected"), [
    (tokens.SAGEMAKER_ENDPOINT_CONFIGURATION, "EndpointConfigurationArgs"),
    (tokens.AUTOSCALING_POLICY, "PolicyArgs"),
    # A nested block type took the plain name: the resource's own arguments are InitArgs.
    (tokens.S3_BUCKET_VERSIONING, "BucketVersioningInitArgs"),
    (tokens.SECURE_BUCKET, None),
])
def test_args_classes(token: str, expected: str | None) -> None:
    cls = args_class(token)
    assert (cls.__name__ if cls else None) == expected


def resource(inputs: dict) -> PlanResource:
    return PlanResource(urn="urn:pulumi:dev::mlops::x", type=tokens.SAGEMAKER_ENDPOINT_CONFIGURATION,
                        name="serving-churn-config", inputs=inputs)


def test_a_misspelled_nested_key_is_named_with_its_path() -> None:
    good = {"name": "c", "kmsKeyArn": "arn:k",
            "productionVariants": [{"variantName": "AllTraffic", "instanceType": "ml.m5.large"}],
            "dataCaptureConfig": {"captureOptions": [{"captureMode": "Input"}],
                                  "destinationS3Uri": "s3://b/p", "initialSamplingPercentage": 5},
            "tags": {"any:key": "tags are a map, not checked"}}
    assert resource_problems(resource(good)) == []
    bad = {**good, "productionVariants": [{"variantName": "AllTraffic", "instanceTyp": "x"}],
           "dataCaptureConfig": {**good["dataCaptureConfig"],
                                 "captureOptions": [{"mode": "Input"}]},
           "kmsKeyId": "arn:k"}
    assert resource_problems(resource(bad)) == [
        "productionVariants[0].instanceTyp: not an input of EndpointConfigurationProductionVariantArgs",
        "dataCaptureConfig.captureOptions[0].mode: not an input of "
        "EndpointConfigurationDataCaptureConfigCaptureOptionArgs",
        "kmsKeyId: not an input of EndpointConfigurationArgs",
    ]


def test_the_kubernetes_plan_uses_only_inputs_the_providers_have(kubernetes_plan) -> None:
    assert schema_problems(kubernetes_plan) == []
    kinds = {r.type for r in kubernetes_plan.custom_resources() if tokens.is_kubernetes(r.type)}
    assert len(kinds) == 7
    assert kinds | {tokens.EKS_POD_IDENTITY_ASSOCIATION} <= checked_types(kubernetes_plan)


@pytest.mark.parametrize(("token", "expected"), [
    (tokens.K8S_DEPLOYMENT, "DeploymentInitArgs"),
    (tokens.K8S_NETWORK_POLICY, "NetworkPolicyInitArgs"),  # networking.k8s.io -> networking
    (tokens.K8S_HPA, "HorizontalPodAutoscalerInitArgs"),
    (tokens.EKS_POD_IDENTITY_ASSOCIATION, "PodIdentityAssociationArgs"),
    (tokens.KUBERNETES_SERVING, None),
])
def test_kubernetes_args_classes(token: str, expected: str | None) -> None:
    cls = args_class(token)
    assert (cls.__name__ if cls else None) == expected


def test_a_misspelled_kubernetes_key_is_named_with_its_path() -> None:
    container = {"name": "server", "image": "i@sha256:" + "a" * 64,
                 "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True},
                 "readinessProbe": {"httpGet": {"path": "/ping", "port": "http"}}}
    good = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "churn", "namespace": "serving",
                         "labels": {"app.kubernetes.io/name": "any label is fine"}},
            "spec": {"selector": {"matchLabels": {"app": "churn"}},
                     "template": {"spec": {"containers": [container]}}}}
    deployment = PlanResource(urn="urn:pulumi:k8s::mlops::d", type=tokens.K8S_DEPLOYMENT,
                              name="churn", inputs=good)
    assert resource_problems(deployment) == []
    bad_container = {**container, "securityContext": {"readOnlyRootFS": True},
                     "readinessProbe": {"httpGet": {"pth": "/ping", "port": "http"}}}
    bad = {**good, "spec": {**good["spec"], "template": {"spec": {
        "containers": [bad_container], "hostNetwrk": False}}}}
    assert resource_problems(deployment.model_copy(update={"inputs": bad})) == [
        "spec.template.spec.containers[0].securityContext.readOnlyRootFS: not an input of "
        "SecurityContextArgs",
        "spec.template.spec.containers[0].readinessProbe.httpGet.pth: not an input of "
        "HTTPGetActionArgs",
        "spec.template.spec.hostNetwrk: not an input of PodSpecArgs",
    ]
    policy = PlanResource(urn="urn:pulumi:k8s::mlops::p", type=tokens.K8S_NETWORK_POLICY,
                          name="allow", inputs={"spec": {"podSelector": {}, "ingress": [
                              {"form": [{"namespaceSelector": {}}]}]}})
    assert resource_problems(policy) == [
        "spec.ingress[0].form: not an input of NetworkPolicyIngressRuleArgs"]
