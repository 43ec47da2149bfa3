"""Clients honour the standard AWS environment; retries are adaptive and bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.ops.aws import clients, is_retryable


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_REGION",
                "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    config = tmp_path / "config"
    config.write_text("[profile sandbox]\nregion = ap-southeast-2\n"
                      "endpoint_url = http://127.0.0.1:4566\n"
                      "aws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    return config


def test_endpoint_urls_come_from_the_environment(clean_env: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:5001")
    aws = clients("eu-west-1")
    assert aws.client("sagemaker").meta.endpoint_url == "http://127.0.0.1:5000"
    assert aws.client("s3").meta.endpoint_url == "http://127.0.0.1:5001"  # per service wins
    assert aws.client("sagemaker").meta.region_name == "eu-west-1"


def test_region_from_aws_region_then_aws_default_region(clean_env: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert clients().client("sts").meta.region_name == "us-west-2"
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert clients().client("sts").meta.region_name == "eu-central-1"


def test_profile_from_aws_profile(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "sandbox")
    aws = clients()
    s3 = aws.client("s3")
    assert s3.meta.region_name == "ap-southeast-2"
    assert s3.meta.endpoint_url == "http://127.0.0.1:4566"
    assert aws.session().get_credentials().access_key == "testing"
    # Environment credentials still come first, as with every AWS tool.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert clients().session().get_credentials().access_key == "from-env"


def test_retries_are_adaptive_and_bounded(clean_env: Path) -> None:
    aws = clients("eu-west-1")
    with_retries = aws.client("sagemaker")
    assert with_retries.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 5}
    assert aws.client("sagemaker", retries=False).meta.config.retries["total_max_attempts"] == 1
    assert aws.client("sagemaker") is with_retries  # cached


def test_what_counts_as_retryable() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    def error(code: str, status: int) -> ClientError:
        return ClientError({"Error": {"Code": code},
                            "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")

    assert is_retryable(EndpointConnectionError(endpoint_url="http://x"))
    assert is_retryable(error("ThrottlingException", 400))
    assert is_retryable(error("SlowDown", 503))
    assert is_retryable(error("Whatever", 502))
    assert not is_retryable(error("ValidationException", 400))
    assert not is_retryable(ValueError("x"))
