"""Serving in the sandbox: models, configurations and endpoints through the engine, blue/green
updates, real predictions from an XGBoost artifact, and data capture as SageMaker writes it."""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import tarfile
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import numpy as np
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError

from common import tokens
from mlops.sandbox import moto_patches
from mlops.sandbox.engine import APPLIED, CREATED, MotoCloud
from tests.mlops.sandbox.test_engine import (
    ACCOUNT,
    CANARY,
    KMS_POLICY,
    REGION,
    ROLE_ARN,
    XGBOOST_IMAGE,
    client,
    engine,
    register,
)

BUCKET = "mlops-dev-raw-data-123456789012-eu-west-1"
ARTIFACT = "churn/train/output/model.tar.gz"
ENDPOINT = "mlops-dev-churn"
CAPTURE_PREFIX = "datacapture/churn"
CAPTURE_KEY = re.compile(rf"^{CAPTURE_PREFIX}/{ENDPOINT}/AllTraffic/(\d{{4}})/(\d{{2}})/(\d{{2}})/"
                         r"(\d{2})/\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl$")
ROWS = np.array([[0.1, 3.0, -1.0], [2.5, -0.4, 0.3], [-1.7, 0.9, 2.2], [0.0, 0.0, 0.0]])


def booster(seed: int = 0) -> Any:
    """A small binary classifier on three numeric features."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(200, 3))
    labels = (features[:, 0] + 0.5 * features[:, 1] > 0).astype(int)
    return xgb.train({"objective": "binary:logistic", "max_depth": 3},
                     xgb.DMatrix(features, label=labels), num_boost_round=20)


def packed(model: Any) -> bytes:
    """model.tar.gz as local training writes it: UBJSON bytes named xgboost-model."""
    raw = bytes(model.save_raw("ubj"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


def csv(rows: np.ndarray) -> str:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows)


def scores(model: Any, rows: np.ndarray) -> str:
    """What the built-in container answers in real time: str of each float32 score, by commas."""
    return ",".join(str(v) for v in model.predict(xgb.DMatrix(rows)).tolist())


@dataclass
class Serving:
    cloud: MotoCloud
    key_arn: str
    package_arn: str
    model: Any

    def model_inputs(self, version: int = 3, **extra: Any) -> dict:
        return {"name": f"{ENDPOINT}-v{version}", "executionRoleArn": ROLE_ARN,
                "primaryContainer": {"modelPackageName": self.package_arn},
                "enableNetworkIsolation": True,
                "vpcConfig": {"subnets": ["subnet-1"], "securityGroupIds": ["sg-1"]},
                "tags": {"mlops:project": "churn"}, **extra}

    def config_inputs(self, version: int = 3, *, percent: float = 100.0, instances: float = 1.0,
                      modes: tuple[str, ...] = ("Input", "Output"),
                      headers: dict | None = None) -> dict:
        headers = {"csvContentTypes": ["text/csv"], "jsonContentTypes": ["application/json"]} \
            if headers is None else headers
        capture = {"enableCapture": True, "initialSamplingPercentage": percent,
                   "destinationS3Uri": f"s3://{BUCKET}/{CAPTURE_PREFIX}", "kmsKeyId": self.key_arn,
                   "captureOptions": [{"captureMode": m} for m in modes]}
        if headers:
            capture["captureContentTypeHeader"] = headers
        return {"name": f"{ENDPOINT}-v{version}", "kmsKeyArn": self.key_arn,
                "productionVariants": [{
                    "variantName": "AllTraffic", "modelName": f"{ENDPOINT}-v{version}",
                    "initialInstanceCount": instances, "instanceType": "ml.m5.large",
                    "initialVariantWeight": 1.0}],
                "dataCaptureConfig": capture, "tags": {"mlops:project": "churn"}}

    def endpoint_inputs(self, version: int = 3) -> dict:
        return {"name": ENDPOINT, "endpointConfigName": f"{ENDPOINT}-v{version}",
                "deploymentConfig": CANARY, "tags": {"mlops:project": "churn"}}

    def deploy(self, version: int = 3, **config: Any) -> list[dict]:
        """Model, configuration and endpoint of ``version``, as the program registers them."""
        return [register(self.cloud, token, name, inputs)[1] for token, name, inputs in (
            (tokens.SAGEMAKER_MODEL, f"churn-model-v{version}", self.model_inputs(version)),
            (tokens.SAGEMAKER_ENDPOINT_CONFIGURATION, f"churn-config-v{version}",
             self.config_inputs(version, **config)),
            (tokens.SAGEMAKER_ENDPOINT, "churn", self.endpoint_inputs(version)))]


def upload(model: Any, key: str = ARTIFACT) -> None:
    client("s3").put_object(Bucket=BUCKET, Key=key, Body=packed(model))


@pytest.fixture
def serving(moto_backend) -> Serving:
    """A raw-data bucket, the environment key, a trained artifact and a model package."""
    s3, sm = client("s3"), client("sagemaker")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    key_arn = client("kms").create_key(Policy=KMS_POLICY)["KeyMetadata"]["Arn"]
    model = booster()
    upload(model)
    sm.create_model_package_group(ModelPackageGroupName="mlops-dev-churn")
    package = sm.create_model_package(
        ModelPackageGroupName="mlops-dev-churn", ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{ARTIFACT}"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]})
    return Serving(engine(), key_arn, package["ModelPackageArn"], model)


def runtime() -> Any:
    return client("sagemaker-runtime")


def invoke(body: str, content_type: str = "text/csv", **extra: Any) -> dict:
    answer = runtime().invoke_endpoint(EndpointName=ENDPOINT, Body=body.encode(),
                                       ContentType=content_type, **extra)
    return {**answer, "Body": answer["Body"].read().decode()}


def captures() -> list[str]:
    listed = client("s3").list_objects_v2(Bucket=BUCKET, Prefix=f"{CAPTURE_PREFIX}/")
    return sorted(o["Key"] for o in listed.get("Contents", []))


def record(key: str) -> dict:
    lines = client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
    assert len(lines) == 1
    return dict(json.loads(lines[0]))


# --- models, configurations and endpoints through the engine -----------------------------------

def test_the_engine_creates_model_configuration_and_endpoint(serving: Serving) -> None:
    model, config, endpoint = serving.deploy()
    assert [o.status for o in serving.cloud.outcomes] == [CREATED] * 3
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    assert (model["name"], model["arn"]) == (f"{ENDPOINT}-v3", f"{arn}:model/{ENDPOINT}-v3")
    assert config["arn"] == f"{arn}:endpoint-config/{ENDPOINT}-v3"
    assert (endpoint["name"], endpoint["arn"]) == (ENDPOINT, f"{arn}:endpoint/{ENDPOINT}")
    sm = client("sagemaker")
    described = sm.describe_model(ModelName=f"{ENDPOINT}-v3")
    assert described["EnableNetworkIsolation"] is True  # moto alone reads back false
    assert described["VpcConfig"] == {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
    assert described["PrimaryContainer"] == {"ModelPackageName": serving.package_arn}
    found = sm.describe_endpoint(EndpointName=ENDPOINT)
    assert (found["EndpointConfigName"], found["EndpointStatus"]) == (f"{ENDPOINT}-v3", "InService")
    assert found["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"] == {
        "Type": "CANARY", "WaitIntervalInSeconds": 300,
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}}
    tags = sm.list_tags(ResourceArn=found["EndpointArn"])["Tags"]
    assert {"Key": "mlops:project", "Value": "churn"} in tags


def test_reapplying_changes_nothing(serving: Serving) -> None:
    serving.deploy()
    sm = client("sagemaker")
    before = sm.describe_endpoint(EndpointName=ENDPOINT)
    again = serving.deploy()
    assert [o.status for o in serving.cloud.outcomes[3:]] == [APPLIED] * 3
    assert again[2]["arn"] == before["EndpointArn"]
    assert len(sm.list_models()["Models"]) == 1
    assert len(sm.list_endpoint_configs()["EndpointConfigs"]) == 1
    after = sm.describe_endpoint(EndpointName=ENDPOINT)
    assert after["LastModifiedTime"] == before["LastModifiedTime"]  # no UpdateEndpoint


def test_a_drifted_model_is_replaced_with_the_desired_definition(serving: Serving) -> None:
    serving.deploy()
    register(serving.cloud, tokens.SAGEMAKER_MODEL, "churn-model-v3",
             serving.model_inputs(enableNetworkIsolation=False, vpcConfig=None))
    assert serving.cloud.outcomes[-1].status == APPLIED
    described = client("sagemaker").describe_model(ModelName=f"{ENDPOINT}-v3")
    assert described["EnableNetworkIsolation"] is False
    assert "VpcConfig" not in described


def test_a_new_configuration_updates_the_endpoint_blue_green(serving: Serving) -> None:
    serving.deploy(3)
    serving.deploy(4, instances=2.0, percent=0.0)
    assert [o.status for o in serving.cloud.outcomes[3:]] == [CREATED, CREATED, APPLIED]
    found = client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)
    assert (found["EndpointConfigName"], found["EndpointStatus"]) == (f"{ENDPOINT}-v4", "InService")
    assert found["ProductionVariants"][0]["DesiredInstanceCount"] == 2  # the new config's count
    policy = found["LastDeploymentConfig"]
    assert policy["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] == 600
    assert policy["AutoRollbackConfiguration"]["Alarms"] == [{"AlarmName": "e-5xx"},
                                                             {"AlarmName": "e-latency"}]
    invoke(csv(ROWS))
    assert captures() == []  # the endpoint now captures as v4 says: 0%


def test_update_endpoint_keeps_variant_properties_only_when_asked(serving: Serving) -> None:
    serving.deploy(3)
    sm = client("sagemaker")
    sm.create_model(ModelName="v4", ExecutionRoleArn=ROLE_ARN,
                    PrimaryContainer={"ModelPackageName": serving.package_arn})
    sm.create_endpoint_config(EndpointConfigName="v4", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "v4", "InitialInstanceCount": 2,
        "InstanceType": "ml.m5.large", "InitialVariantWeight": 1}])
    sm.update_endpoint_weights_and_capacities(EndpointName=ENDPOINT, DesiredWeightsAndCapacities=[
        {"VariantName": "AllTraffic", "DesiredInstanceCount": 3}])

    def count() -> int:
        return int(sm.describe_endpoint(EndpointName=ENDPOINT)["ProductionVariants"][0][
            "DesiredInstanceCount"])

    sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v4",
                       RetainAllVariantProperties=True)
    assert count() == 3
    sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="v4", RetainAllVariantProperties=True,
                       ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DesiredInstanceCount"}])
    assert count() == 2
    endpoint = sm.describe_endpoint(EndpointName=ENDPOINT)
    assert "LastDeploymentConfig" not in endpoint  # neither given nor retained
    with pytest.raises(ClientError, match="Could not find endpoint"):
        sm.update_endpoint(EndpointName="mlops-dev-nope", EndpointConfigName="v4")


def test_a_blue_green_update_keeps_the_variant_names(serving: Serving) -> None:
    serving.deploy(3)
    sm = client("sagemaker")
    sm.create_endpoint_config(EndpointConfigName="renamed", ProductionVariants=[{
        "VariantName": "Blue", "ModelName": f"{ENDPOINT}-v3", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    deployment = sm.describe_endpoint(EndpointName=ENDPOINT)["LastDeploymentConfig"]
    with pytest.raises(ClientError, match="AllTraffic -> Blue"):
        sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="renamed",
                           DeploymentConfig=deployment)
    assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == f"{ENDPOINT}-v3"


# --- invocations ------------------------------------------------------------------------------

def test_invocations_answer_with_the_boosters_predictions(serving: Serving) -> None:
    serving.deploy()
    answer = invoke(csv(ROWS))
    assert answer["Body"] == scores(serving.model, ROWS)
    assert len(set(answer["Body"].split(","))) > 1  # the rows score differently
    assert np.array_equal(np.array(answer["Body"].split(","), dtype=np.float32),
                          serving.model.predict(xgb.DMatrix(ROWS)))
    assert answer["ContentType"] == "text/csv; charset=utf-8"
    assert answer["InvokedProductionVariant"] == "AllTraffic"


def test_a_model_with_a_model_data_url_is_served_too(serving: Serving) -> None:
    other = booster(seed=7)
    upload(other, "other/model.tar.gz")
    primary = {"image": XGBOOST_IMAGE, "modelDataUrl": f"s3://{BUCKET}/other/model.tar.gz"}
    register(serving.cloud, tokens.SAGEMAKER_MODEL, "m", serving.model_inputs(
        primaryContainer=primary))
    register(serving.cloud, tokens.SAGEMAKER_ENDPOINT_CONFIGURATION, "c", serving.config_inputs())
    register(serving.cloud, tokens.SAGEMAKER_ENDPOINT, "e", serving.endpoint_inputs())
    assert invoke(csv(ROWS))["Body"] == scores(other, ROWS) != scores(serving.model, ROWS)


def test_a_new_artifact_version_is_loaded_again(serving: Serving) -> None:
    serving.deploy()
    assert invoke(csv(ROWS))["Body"] == scores(serving.model, ROWS)
    retrained = booster(seed=3)
    upload(retrained)
    assert invoke(csv(ROWS))["Body"] == scores(retrained, ROWS)


def test_an_unknown_endpoint_is_a_validation_error(serving: Serving) -> None:
    with pytest.raises(ClientError) as info:
        runtime().invoke_endpoint(EndpointName="mlops-dev-nope", Body=b"1,2,3",
                                  ContentType="text/csv")
    error = info.value.response
    assert error["Error"]["Code"] == "ValidationError"
    assert error["Error"]["Message"] == f"Endpoint mlops-dev-nope of account {ACCOUNT} not found."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def model_error(body: str, content_type: str = "text/csv") -> dict:
    with pytest.raises(ClientError) as info:
        invoke(body, content_type)
    error = dict(info.value.response)
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    return error


def test_what_the_container_refuses_is_a_model_error(serving: Serving) -> None:
    serving.deploy()
    unsupported = model_error('{"instances": [[1, 2, 3]]}', "application/json")
    assert unsupported["OriginalStatusCode"] == 415
    assert "Content-type application/json not supported" in unsupported["OriginalMessage"]
    assert unsupported["Error"]["Message"].startswith("Received client error (415) from primary")
    assert unsupported["LogStreamArn"].endswith(f":log-group:/aws/sagemaker/Endpoints/{ENDPOINT}")
    words = model_error("tenure,plan,region")
    assert words["OriginalStatusCode"] == 400
    assert "the model takes numbers" in words["OriginalMessage"]
    assert captures() == []  # failed invocations are not captured


def test_an_artifact_that_is_not_an_xgboost_model_is_a_model_error(serving: Serving) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.pkl")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"\x80\x04N."))
    client("s3").put_object(Bucket=BUCKET, Key=ARTIFACT, Body=buffer.getvalue())
    serving.deploy()
    error = model_error(csv(ROWS))
    assert error["OriginalStatusCode"] == 500
    assert error["Error"]["Message"].startswith("Received server error (500) from primary")
    assert "is not an XGBoost model artifact (a model.tar.gz holding xgboost-model)" in \
        error["OriginalMessage"]
    client("s3").put_object(Bucket=BUCKET, Key=ARTIFACT, Body=b"not a tarball")
    assert "is not an XGBoost model artifact" in model_error(csv(ROWS))["OriginalMessage"]


# --- data capture -----------------------------------------------------------------------------

def test_every_invocation_is_captured_as_sagemaker_writes_it(serving: Serving) -> None:
    serving.deploy()
    bodies = [csv(ROWS[:1]), csv(ROWS), csv(ROWS[2:])]
    answers = [invoke(bodies[0], InferenceId="request-1")["Body"],
               *(invoke(b)["Body"] for b in bodies[1:])]
    keys = captures()
    assert len(keys) == 3
    records = {r["captureData"]["endpointInput"]["data"]: (k, r)
               for k in keys for r in [record(k)]}
    assert set(records) == set(bodies)
    s3 = client("s3")
    for body, answer in zip(bodies, answers, strict=True):
        key, found = records[body]
        assert set(found) == {"captureData", "eventMetadata", "eventVersion"}
        assert found["eventVersion"] == "0"
        assert found["captureData"] == {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                              "data": body, "encoding": "CSV"},
            "endpointOutput": {"observedContentType": "text/csv; charset=utf-8",
                               "mode": "OUTPUT", "data": answer, "encoding": "CSV"}}
        metadata = found["eventMetadata"]
        uuid.UUID(metadata["eventId"])
        when = datetime.strptime(metadata["inferenceTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        match = CAPTURE_KEY.match(key)
        assert match, key
        assert match.groups() == (f"{when:%Y}", f"{when:%m}", f"{when:%d}", f"{when:%H}")
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", serving.key_arn)
    assert records[bodies[0]][1]["eventMetadata"]["inferenceId"] == "request-1"
    assert "inferenceId" not in records[bodies[1]][1]["eventMetadata"]


def test_nothing_is_captured_at_zero_percent(serving: Serving) -> None:
    serving.deploy(percent=0.0)
    for i in range(20):
        invoke(csv(ROWS), InferenceId=f"request-{i}")
    assert captures() == []


def test_sampling_follows_the_inference_id(serving: Serving) -> None:
    ids = [f"request-{i}" for i in range(40)]
    chosen = {i for i in ids if moto_patches.sampled(i, 30)}
    assert 0 < len(chosen) < len(ids)
    serving.deploy(percent=30.0)
    for i in ids:
        invoke(csv(ROWS[:1]), InferenceId=i)
    captured = {record(k)["eventMetadata"]["inferenceId"] for k in captures()}
    assert captured == chosen


def test_input_only_capture_has_no_output(serving: Serving) -> None:
    serving.deploy(modes=("Input",))
    invoke(csv(ROWS))
    [key] = captures()
    assert set(record(key)["captureData"]) == {"endpointInput"}


def test_output_only_capture_has_no_input(serving: Serving) -> None:
    serving.deploy(modes=("Output",))
    answer = invoke(csv(ROWS))["Body"]
    [key] = captures()
    assert record(key)["captureData"] == {"endpointOutput": {
        "observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": answer,
        "encoding": "CSV"}}


def test_content_types_not_listed_are_captured_in_base64(serving: Serving) -> None:
    serving.deploy(headers={})  # no CaptureContentTypeHeader: SageMaker base64-encodes
    body = csv(ROWS)
    answer = invoke(body)["Body"]
    [key] = captures()
    data = record(key)["captureData"]
    assert data["endpointInput"]["encoding"] == data["endpointOutput"]["encoding"] == "BASE64"
    assert base64.b64decode(data["endpointInput"]["data"]).decode() == body
    assert base64.b64decode(data["endpointOutput"]["data"]).decode() == answer


def test_capture_keys_follow_sagemakers_layout() -> None:
    now = datetime(2024, 3, 11, 12, 32, 18, 648123, tzinfo=UTC)
    bucket, key = moto_patches.capture_key("s3://bkt/datacapture/churn/", "ep", "AllTraffic", now)
    assert bucket == "bkt"
    assert re.fullmatch(r"datacapture/churn/ep/AllTraffic/2024/03/11/12/32-18-648-[0-9a-f-]{36}"
                        r"\.jsonl", key), key
    assert moto_patches.capture_key("s3://bkt", "ep", "v", now)[1].startswith("ep/v/2024/")


def test_sampling_bounds() -> None:
    ids = [str(uuid.uuid4()) for _ in range(200)]
    assert all(moto_patches.sampled(i, 100) for i in ids)
    assert not any(moto_patches.sampled(i, 0) for i in ids)


def test_the_serving_patches_are_removed_after_the_block() -> None:
    from moto.sagemaker.responses import SageMakerResponse
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    before = (SageMakerResponse.create_model, SageMakerResponse.create_endpoint,
              SageMakerRuntimeResponse.invoke_endpoint)
    with moto_patches.installed():
        assert hasattr(SageMakerResponse, "update_endpoint")
        assert SageMakerRuntimeResponse.invoke_endpoint is not before[2]
    assert (SageMakerResponse.create_model, SageMakerResponse.create_endpoint,
            SageMakerRuntimeResponse.invoke_endpoint) == before
    assert not hasattr(SageMakerResponse, "update_endpoint")


# --- server mode --------------------------------------------------------------------------------

@pytest.fixture
def server() -> Iterator[str]:
    """The sandbox's moto server with its patches, in a thread of this process."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with moto_patches.installed():
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        moto.start()
        url = f"http://127.0.0.1:{port}"
        try:
            yield url
        finally:
            urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
            moto.stop()


@pytest.mark.slow
def test_the_sandbox_server_answers_invocations(server: str) -> None:
    def remote(service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=server,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    model = booster()
    s3, sm = remote("s3"), remote("sagemaker")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key=ARTIFACT, Body=packed(model))
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={
        "Image": XGBOOST_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{ARTIFACT}"})
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}], DataCaptureConfig={
        "EnableCapture": True, "InitialSamplingPercentage": 100,
        "DestinationS3Uri": f"s3://{BUCKET}/{CAPTURE_PREFIX}",
        "CaptureOptions": [{"CaptureMode": "Input"}]})
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="c")
    answer = remote("sagemaker-runtime").invoke_endpoint(
        EndpointName=ENDPOINT, Body=csv(ROWS).encode(), ContentType="text/csv")
    assert answer["Body"].read().decode() == scores(model, ROWS)
    [capture] = s3.list_objects_v2(Bucket=BUCKET, Prefix=CAPTURE_PREFIX)["Contents"]
    assert CAPTURE_KEY.match(capture["Key"])
    with pytest.raises(ClientError, match="ValidationError"):
        remote("sagemaker-runtime").invoke_endpoint(EndpointName="nope", Body=b"1",
                                                    ContentType="text/csv")
