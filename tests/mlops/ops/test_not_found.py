"""One is_not_found(error) for every service's way of saying "no such resource"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mlops.ops.aws import is_not_found
from mlops.sandbox import moto_patches
from tests.conftest import boto_client

REGION = "eu-west-1"


def error(code: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Op")


@pytest.mark.parametrize(("code", "message", "expected"), [
    ("404", "", True), ("NoSuchBucket", "", True), ("NoSuchKey", "", True),
    ("NoSuchEntity", "", True), ("NotFoundException", "", True), ("NotFound", "", True),
    ("ResourceNotFound", "", True), ("ResourceNotFoundException", "", True),
    ("OwnershipControlsNotFoundError", "", True), ("NoSuchLifecycleConfiguration", "", True),
    ("ValidationException", "Pipeline arn:aws:... does not exist.", True),
    ("ValidationException", "Model package group not found", True),
    ("ValidationException", "1 validation error: Value at 'x' failed", False),
    ("AccessDenied", "", False), ("ThrottlingException", "", False), ("", "", False),
])
def test_codes_and_messages(code: str, message: str, expected: bool) -> None:
    assert is_not_found(error(code, message)) is expected


def test_other_exceptions_are_not_not_found() -> None:
    assert is_not_found(ValueError("does not exist")) is False


def _raises(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(ClientError) as info:
        call()
    return info.value


def test_what_moto_answers_for_missing_resources_in_each_service() -> None:
    with moto_patches.installed(), mock_aws():
        c = {s: boto_client(s)
             for s in ("s3", "iam", "kms", "sns", "events", "scheduler", "logs", "sagemaker")}
        c["s3"].create_bucket(Bucket="bkt-1", CreateBucketConfiguration={"LocationConstraint": REGION})
        missing = [
            lambda: c["s3"].head_bucket(Bucket="nope"),
            lambda: c["s3"].head_object(Bucket="bkt-1", Key="nope"),
            lambda: c["s3"].get_bucket_policy(Bucket="bkt-1"),
            lambda: c["s3"].get_bucket_encryption(Bucket="bkt-1"),
            lambda: c["s3"].get_public_access_block(Bucket="bkt-1"),
            lambda: c["s3"].get_bucket_ownership_controls(Bucket="bkt-1"),
            lambda: c["s3"].get_bucket_lifecycle_configuration(Bucket="bkt-1"),
            lambda: c["iam"].get_role(RoleName="nope"),
            lambda: c["kms"].describe_key(KeyId="alias/nope"),
            lambda: c["sns"].get_topic_attributes(TopicArn=f"arn:aws:sns:{REGION}:123456789012:n"),
            lambda: c["events"].describe_rule(Name="nope"),
            lambda: c["scheduler"].get_schedule(Name="nope"),
            lambda: c["sagemaker"].describe_model_package_group(ModelPackageGroupName="nope"),
            lambda: c["sagemaker"].describe_pipeline(PipelineName="nope"),
            lambda: c["sagemaker"].describe_feature_group(FeatureGroupName="nope"),
        ]
        assert [is_not_found(_raises(call)) for call in missing] == [True] * len(missing)
        invalid = _raises(lambda: c["s3"].create_bucket(Bucket="Not_A_Valid_Name"))
        assert is_not_found(invalid) is False


def test_the_sandbox_patches_are_removed_after_the_block() -> None:
    from moto.sagemaker.models import FeatureGroup
    from moto.sagemaker.responses import SageMakerResponse

    before = (FeatureGroup.describe, SageMakerResponse.create_feature_group)
    with moto_patches.installed():
        assert FeatureGroup.describe is not before[0]
        assert hasattr(SageMakerResponse, "list_feature_groups")
    assert (FeatureGroup.describe, SageMakerResponse.create_feature_group) == before
    assert not hasattr(SageMakerResponse, "list_feature_groups")
