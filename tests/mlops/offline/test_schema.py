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
