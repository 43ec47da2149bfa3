"""submit's code upload (moto): the project's code/ and the platform's step code, once each."""

from __future__ import annotations

from moto import mock_aws

from infra.projects.platform_code import platform_code_files
from mlops.ops.pipelines import prepare, upload_code
from tests.conftest import ROOT, boto_session


def test_submit_uploads_project_and_platform_code_encrypted_once() -> None:
    with mock_aws():
        prepared = prepare(ROOT, "churn", "dev")
        ctx = prepared.context
        s3 = boto_session().client("s3", region_name=ctx.region)
        bucket = ctx.buckets["pipeline-workspace"].removeprefix("s3://")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": ctx.region})
        uploaded = upload_code(s3, prepared)
        shared = platform_code_files()
        assert {ctx.platform_code(shared.relative(p)) for p in shared.files} <= set(uploaded)
        assert ctx.code("evaluate.py") in uploaded
        for uri in uploaded:
            key = uri.removeprefix(f"s3://{bucket}/")
            head = s3.head_object(Bucket=bucket, Key=key)
            assert head["ServerSideEncryption"] == "aws:kms"
        body = s3.get_object(Bucket=bucket, Key=ctx.platform_code("baseline.py").split("/", 3)[3])
        assert body["Body"].read() == (shared.folder / "baseline.py").read_bytes()
        assert upload_code(s3, prepared) == []  # content-addressed: already there
