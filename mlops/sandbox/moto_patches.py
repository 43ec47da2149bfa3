"""The one place the sandbox adjusts moto's behaviour: the sandbox server installs the patches for
its whole life; in-process tests take them for one test (:func:`installed`), so both modes behave
the same and the rest of the test process sees plain moto.

Bucket policies. moto evaluates them without a request context: it knows no
``aws:SecureTransport`` or ``s3:x-amz-server-side-encryption`` value, and treats every condition
operator other than ``StringEquals`` as satisfied. The platform's TLS-only and KMS-only deny
statements would then deny every object read and write, even a correct ``PutObject`` with
``aws:kms`` over TLS. With this patch a Deny statement whose condition keys the request does not
supply does not apply: the sandbox stores the bucket policies exactly as deployed, but does not
enforce conditional denies it cannot evaluate.

Feature groups. moto's CreateFeatureGroup drops ``OnlineStoreConfig`` and ``Description`` and
replaces a requested Glue table with one of its own naming; it has no ListFeatureGroups, and
DescribeFeatureGroup of an unknown group is a server error. With this patch a group reads back
as it was created (online store and its KMS key included), can be listed, and an unknown group
is ``ResourceNotFound`` as in AWS.

Models. moto's CreateModel drops ``EnableNetworkIsolation`` (DescribeModel always says false)
and reads an absent ``VpcConfig`` back as ``{}``. With this patch both read back as created.

Endpoints. moto's CreateEndpoint drops ``DeploymentConfig`` and it has no UpdateEndpoint. With
this patch DescribeEndpoint returns the deployment configuration as ``LastDeploymentConfig`` (as
AWS does), and UpdateEndpoint switches the endpoint to the new configuration at once, status
``InService``: the variants (instance counts and weights kept with ``RetainAllVariantProperties``
unless excluded) and the data capture of the new configuration, the new ``DeploymentConfig`` (or
the last one with ``RetainDeploymentConfig``). A blue/green update whose configuration renames
the variants is refused. No traffic is shifted, baked or rolled back.

Invocations. moto's InvokeEndpoint returns canned answers. With this patch an endpoint of the
sandbox answers for real: endpoint -> its configuration's variant (``TargetVariant``, or chosen
by weight) -> the variant's model -> its container's ``ModelPackageName`` (the package's first
inference container) or ``ModelDataUrl`` -> that ``model.tar.gz`` in moto's S3, whose
``xgboost-model`` is loaded with the xgboost package (once per artifact version) and scores the
``text/csv`` rows of the request, answered as the built-in XGBoost container answers a real-time
request. An unknown endpoint is AWS's ``ValidationError``; what the container would refuse
(another content type, rows that are not numbers, an artifact that is not an XGBoost model) is a
``ModelError`` carrying the container's status code. Each invocation is captured when the
configuration's data capture is enabled, as SageMaker writes it: one JSON Lines record under
``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm>-<ss>-<mmm>-<uuid>.jsonl``, SSE-KMS
with the capture's ``KmsKeyId``. Whether an invocation is captured is decided by its inference
id (or, without one, its event id): captured when ``sha256(id)`` read as a fraction in [0, 1)
times 100 is below ``InitialSamplingPercentage``, so 100 captures everything, 0 nothing, and a
test can compute the outcome for any inference id (:func:`sampled`).

Retraining triggers (:mod:`mlops.sandbox.events`). moto never evaluates an alarm, runs no alarm
actions, puts no alarm state change events on EventBridge, raises for a SageMaker pipeline target,
delivers to disabled rules, and routes S3 events to every bus in its own shape. With these patches
PutMetricData evaluates the alarms on the metrics it writes (M of N periods, TreatMissingData), a
state change (or SetAlarmState) runs the SNS actions and puts the "CloudWatch Alarm State Change"
event on the default bus, enabled matching rules start their pipeline targets (failures to the
target's dead-letter queue), and S3 puts AWS's "Object Created" event on the default bus. See
docs/sandbox.md.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import io
import json
import tarfile
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any
from urllib.parse import unquote

_KEPT = {"OnlineStoreConfig": "online_store_config", "Description": "description",
         "ThroughputConfig": "throughput_config"}
_ABSENT = object()  # an attribute a patch adds (moto has no ListFeatureGroups)
# (owner, attribute, original value) of every attribute a patch replaced, in install order.
_REPLACED: list[tuple[Any, str, Any]] = []


def _replace(owner: Any, attribute: str, value: Any) -> None:
    _REPLACED.append((owner, attribute, owner.__dict__.get(attribute, _ABSENT)))
    setattr(owner, attribute, value)


def install() -> None:
    """Install every patch (the sandbox server does, for its whole life); idempotent."""
    if not _REPLACED:
        _install_policy_conditions()
        _install_feature_groups()
        _install_models()
        _install_endpoints()
        _install_invocations()
        _install_events()


def uninstall() -> None:
    """Put moto back as it was (and forget the pipeline deliveries and their callbacks)."""
    from mlops.sandbox import events

    events.reset()
    while _REPLACED:
        owner, attribute, original = _REPLACED.pop()
        if original is _ABSENT:
            delattr(owner, attribute)
        else:
            setattr(owner, attribute, original)


@contextmanager
def installed() -> Iterator[None]:
    """The patches for the duration of a block (tests); moto is restored afterwards."""
    already = bool(_REPLACED)
    install()
    try:
        yield
    finally:
        if not already:
            uninstall()


def _install_policy_conditions() -> None:
    from moto.iam import access_control as ac

    statement_cls: Any = ac.IAMPolicyStatement
    original = statement_cls.is_action_permitted

    def is_action_permitted(self: Any, action: str, resource: str = "*",
                            principal: str | None = None,
                            incoming_condition_values: dict[str, str] | None = None) -> Any:
        statement = self._statement
        condition = statement.get("Condition")
        if condition and statement.get("Effect") == "Deny":
            keys = {key for values in condition.values() for key in values}
            if not keys <= set(incoming_condition_values or {}):
                return ac.PermissionResult.NEUTRAL
        return original(self, action, resource, principal, incoming_condition_values)

    _replace(statement_cls, "is_action_permitted", is_action_permitted)


def _install_feature_groups() -> None:
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ResourceNotFound
    from moto.sagemaker.models import FeatureGroup, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    response_cls: Any = SageMakerResponse
    create, describe = response_cls.create_feature_group, FeatureGroup.describe

    def create_feature_group(self: Any) -> Any:
        requested = copy.deepcopy(self._get_param("OfflineStoreConfig") or {})
        result = create(self)
        group = _group(self.sagemaker_backend, self._get_param("FeatureGroupName"))
        for param, attribute in _KEPT.items():
            setattr(group, attribute, self._get_param(param))
        if requested.get("DataCatalogConfig"):
            group.offline_store_config["DataCatalogConfig"] = requested["DataCatalogConfig"]
        return result

    def describe_group(self: Any) -> dict[str, Any]:
        out = describe(self)
        for param, attribute in _KEPT.items():
            if getattr(self, attribute, None):
                out[param] = getattr(self, attribute)
        return out

    def describe_feature_group(backend: Any, feature_group_name: str) -> dict[str, Any]:
        return _group(backend, feature_group_name).describe()

    def list_feature_groups(self: Any) -> Any:
        contains = self._get_param("NameContains") or ""
        groups = sorted(self.sagemaker_backend.feature_groups.values(),
                        key=lambda g: g.creation_time, reverse=True)
        return ActionResult({"FeatureGroupSummaries": [
            {"FeatureGroupName": g.feature_group_name, "FeatureGroupArn": g.arn,
             "CreationTime": g.creation_time, "FeatureGroupStatus": "Created",
             "OfflineStoreStatus": {"Status": "Active"}}
            for g in groups if contains in g.feature_group_name]})

    def _group(backend: Any, name: str) -> Any:
        for group in backend.feature_groups.values():
            if name in (group.feature_group_name, group.arn):
                return group
        raise ResourceNotFound(f"Resource Not Found: FeatureGroup {name} does not exist.")

    _replace(response_cls, "create_feature_group", create_feature_group)
    _replace(response_cls, "list_feature_groups", list_feature_groups)
    _replace(FeatureGroup, "describe", describe_group)
    _replace(SageMakerModelBackend, "describe_feature_group", describe_feature_group)


def _install_models() -> None:
    from moto.sagemaker.responses import SageMakerResponse

    response_cls: Any = SageMakerResponse
    create = response_cls.create_model

    def create_model(self: Any) -> Any:
        result = create(self)
        model = self.sagemaker_backend._models[self._get_param("ModelName")]
        model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation"))
        model.vpc_config = self._get_param("VpcConfig") or None  # None: left out of DescribeModel
        return result

    _replace(response_cls, "create_model", create_model)


# UpdateEndpoint's RetainAllVariantProperties: property type -> what it keeps of a variant.
_RETAINED = {"DesiredInstanceCount": ("CurrentInstanceCount", "DesiredInstanceCount"),
             "DesiredWeight": ("CurrentWeight", "DesiredWeight")}


def _install_endpoints() -> None:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.responses import SageMakerResponse

    response_cls: Any = SageMakerResponse
    create = response_cls.create_endpoint

    def create_endpoint(self: Any) -> Any:
        result = create(self)
        endpoint = self.sagemaker_backend.endpoints[self._get_param("EndpointName")]
        endpoint.last_deployment_config = self._get_param("DeploymentConfig")
        return result

    def update_endpoint(self: Any) -> Any:
        backend = self.sagemaker_backend
        name = self._get_param("EndpointName")
        if name not in backend.endpoints:
            backend.describe_endpoint(name)  # moto's "Could not find endpoint" ValidationException
        endpoint = backend.endpoints[name]
        config = backend.describe_endpoint_config(self._get_param("EndpointConfigName"))
        deployment = self._get_param("DeploymentConfig")
        if deployment is None and self._get_param("RetainDeploymentConfig"):
            deployment = endpoint.last_deployment_config
        renamed = _renamed_variants(endpoint, config)
        if deployment and deployment.get("BlueGreenUpdatePolicy") and renamed:
            raise ValidationError(f"A blue/green deployment keeps the endpoint's variant names; "
                                  f"{config['EndpointConfigName']} changes them ({renamed})")
        excluded = {p.get("VariantPropertyType")
                    for p in self._get_param("ExcludeRetainedVariantProperties") or []}
        retain = bool(self._get_param("RetainAllVariantProperties"))
        _switch(endpoint, config, excluded if retain else set(_RETAINED) | {"DataCaptureConfig"})
        endpoint.last_deployment_config = deployment
        endpoint.endpoint_status = "InService"
        endpoint.last_modified_time = utcnow()
        return ActionResult({"EndpointArn": endpoint.arn})

    _replace(response_cls, "create_endpoint", create_endpoint)
    _replace(response_cls, "update_endpoint", update_endpoint)


def _renamed_variants(endpoint: Any, config: Mapping[str, Any]) -> str:
    """'' when the configuration has the endpoint's variant names, else both lists."""
    old = sorted(v["VariantName"] for v in endpoint.production_variants)
    new = sorted(v["VariantName"] for v in config["ProductionVariants"])
    return "" if old == new else f"{', '.join(old)} -> {', '.join(new)}"


def _switch(endpoint: Any, config: Mapping[str, Any], replaced: set[str]) -> None:
    """Point ``endpoint`` at ``config``; the variant properties not in ``replaced`` are kept."""
    current = {v["VariantName"]: v for v in endpoint.production_variants}
    variants = endpoint._process_production_variants(config["ProductionVariants"])
    for variant in variants:
        kept = current.get(variant["VariantName"], {})
        for prop, keys in _RETAINED.items():
            if prop not in replaced:
                variant.update({k: kept[k] for k in keys if k in kept})
    endpoint.endpoint_config_name = config["EndpointConfigName"]
    endpoint.production_variants = variants
    if "DataCaptureConfig" in replaced:
        endpoint.data_capture_config = config.get("DataCaptureConfig") or {}


# --- InvokeEndpoint --------------------------------------------------------------------------

CSV = "text/csv"
# The built-in XGBoost container's answer type (Flask adds the charset), as data capture records it.
ANSWER_TYPE = "text/csv; charset=utf-8"
CONTAINER_TYPES = ("text/csv", "text/libsvm", "text/x-libsvm", "application/x-recordio-protobuf")
_BOOSTERS: dict[str, tuple[str, Any]] = {}  # artifact URI -> (its ETag, its booster)
# xgboost's predict is not thread safe (the container loads one booster per worker process).
_XGBOOST_LOCK = threading.Lock()


def sampled(identifier: str, percentage: float) -> bool:
    """Whether data capture records the invocation whose inference id (or event id) this is."""
    return _fraction(identifier) * 100 < percentage


def _fraction(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:13], 16) / 16 ** 13


@functools.cache
def _error_class() -> type[Exception]:
    from moto.core.exceptions import ServiceException

    # Defined outside moto's packages, so moto finds the error shape in the service answering.
    class SandboxError(ServiceException):
        pass

    return SandboxError


def _error(code: str, message: str, **attributes: Any) -> Exception:
    """An error moto serializes as ``code`` of the service answering, with these members."""
    error = _error_class()(code, message)
    for name, value in attributes.items():
        setattr(error, name, value)
    return error


def _container_error(status: int, message: str, endpoint: str, account: str, region: str
                     ) -> Exception:
    """The ModelError SageMaker answers when the model container answers ``status``."""
    kind = "client" if status < 500 else "server"
    stream = (f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{endpoint}")
    return _error("ModelError", f'Received {kind} error ({status}) from primary with message '
                                f'"{message}". See {stream} in account {account} for more '
                                "information.",
                  original_status_code=status, original_message=message, log_stream_arn=stream)


class _Invocation:
    """One InvokeEndpoint request, answered from moto's SageMaker and S3 backends."""

    def __init__(self, response: Any) -> None:
        from moto.s3.models import s3_backends
        from moto.sagemaker.models import sagemaker_backends
        from moto.utilities.utils import get_partition

        self.account, self.region = response.current_account, response.region
        self.sagemaker = sagemaker_backends[self.account][self.region]
        self.s3 = s3_backends[self.account][get_partition(self.region)]
        headers = {k.lower(): v for k, v in response.headers.items()}
        self.name = unquote(response.path.split("/")[2])  # /endpoints/<name>/invocations
        body = response.body
        self.body: bytes = body.encode() if isinstance(body, str) else bytes(body or b"")
        self.content_type = str(headers.get("content-type") or CSV)
        self.inference_id = headers.get("x-amzn-sagemaker-inference-id")
        self.target_variant = headers.get("x-amzn-sagemaker-target-variant")
        self.event_id = str(uuid.uuid4())

    def answer(self) -> tuple[int, dict[str, str], str]:
        from moto.core.utils import utcnow

        endpoint = self.sagemaker.endpoints.get(self.name)
        if endpoint is None:
            raise _error("ValidationError",
                         f"Endpoint {self.name} of account {self.account} not found.")
        variant = self._variant(endpoint)
        model = self._model(endpoint, variant)
        predictions = self._predict(self._booster(self._artifact(model)))
        self._capture(endpoint, variant, predictions, utcnow())
        return 200, {"Content-Type": ANSWER_TYPE,
                     "x-Amzn-Invoked-Production-Variant": variant}, predictions

    def _fail(self, status: int, message: str) -> Exception:
        return _container_error(status, message, self.name, self.account, self.region)

    def _variant(self, endpoint: Any) -> str:
        """The variant that answers: the one asked for, or one chosen by weight."""
        variants = endpoint.production_variants
        names = [v["VariantName"] for v in variants]
        if self.target_variant is not None:
            if self.target_variant not in names:
                raise _error("ValidationError", f"Variant {self.target_variant} not found for "
                                                f"endpoint {self.name}.")
            return str(self.target_variant)
        weights = [float(v.get("CurrentWeight", 1.0)) for v in variants]
        point = _fraction(f"variant/{self.event_id}") * sum(weights)
        for name, weight in zip(names, weights, strict=True):
            point -= weight
            if point < 0:
                return str(name)
        return str(names[-1])

    def _model(self, endpoint: Any, variant: str) -> Any:
        config = self.sagemaker.endpoint_configs.get(endpoint.endpoint_config_name)
        if config is None:
            raise self._fail(500, f"endpoint configuration {endpoint.endpoint_config_name} was "
                                  "deleted: the sandbox finds the model through it")
        chosen = next((v for v in config.production_variants if v["VariantName"] == variant), {})
        name = str(chosen.get("ModelName"))
        model = self.sagemaker._models.get(name)
        if model is None:
            raise self._fail(500, f"Unable to load model: model {name} does not exist")
        return model

    def _artifact(self, model: Any) -> str:
        """The model.tar.gz the container would load, resolved as SageMaker resolves it."""
        container = model.primary_container or (model.containers or [{}])[0]
        package_name = container.get("ModelPackageName")
        if package_name:
            package = self.sagemaker.model_packages.get(
                self.sagemaker.model_package_name_mapping.get(package_name, package_name))
            if package is None:
                raise self._fail(500, f"Unable to load model: model package {package_name} "
                                      "does not exist")
            containers = (package.inference_specification or {}).get("Containers") or [{}]
            container = containers[0]
        uri = container.get("ModelDataUrl")
        if not uri:
            raise self._fail(500, f"Unable to load model: model {model.model_name} names no "
                                  "ModelDataUrl (the sandbox serves model.tar.gz artifacts)")
        return str(uri)

    def _booster(self, uri: str) -> Any:
        from moto.s3.exceptions import MissingBucket

        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            stored = self.s3.get_object(bucket, key)
        except MissingBucket:
            stored = None
        if stored is None:
            raise self._fail(500, f"Unable to load model: {uri} does not exist")
        with _XGBOOST_LOCK:
            etag, booster = _BOOSTERS.get(uri, ("", None))
            if etag != stored.etag:  # first use, or the artifact was written again
                booster = self._load(uri, stored.value)
                _BOOSTERS[uri] = (str(stored.etag), booster)
            return booster

    def _load(self, uri: str, artifact: bytes) -> Any:
        import xgboost as xgb

        from mlops.local.training import MODEL_FILE

        try:
            with tarfile.open(fileobj=io.BytesIO(artifact)) as tar:
                member = tar.extractfile(MODEL_FILE)
                if member is None:
                    raise KeyError(MODEL_FILE)
                raw = member.read()
            booster = xgb.Booster()
            booster.load_model(bytearray(raw))  # from bytes, so XGBoost detects the format
        except (tarfile.TarError, KeyError, xgb.core.XGBoostError) as exc:
            raise self._fail(500, f"Unable to load model: {uri} is not an XGBoost model "
                                  f"artifact (a model.tar.gz holding {MODEL_FILE}): "
                                  f"{type(exc).__name__}: {exc}") from None
        return booster

    def _predict(self, booster: Any) -> str:
        """The scores as the built-in XGBoost container writes a real-time text/csv answer:
        each as a batch transform writes it (mlops.local.transform_filters), joined by commas
        (the container's real-time answer, unlike its batch one, is one line)."""
        import numpy as np
        import xgboost as xgb

        from mlops.local.transform_filters import TransformFilterError, transform_lines

        kind = self.content_type.split(";")[0].strip().lower()
        if kind != CSV:
            hint = ("the sandbox scores text/csv only" if kind in CONTAINER_TYPES else
                    f"Supported content-type is {', '.join(CONTAINER_TYPES)}")
            raise self._fail(415, f"Content-type {kind} not supported. {hint}")

        def predict(rows: list[list[float]]) -> list[float]:
            with _XGBOOST_LOCK:
                return [float(s) for s in
                        booster.predict(xgb.DMatrix(np.asarray(rows, dtype=float)))]

        try:
            lines = transform_lines(self.body.decode("utf-8").splitlines(), CSV, None, predict)
        except (TransformFilterError, UnicodeDecodeError) as exc:
            raise self._fail(400, f"Unable to evaluate payload provided: {exc}") from None
        return ",".join(lines)

    def _capture(self, endpoint: Any, variant: str, answer: str, now: datetime) -> None:
        """Write the invocation where data capture would, when the configuration captures it."""
        from moto.s3.exceptions import MissingBucket

        config = endpoint.data_capture_config or {}
        if not config or config.get("EnableCapture") is False:
            return
        if not sampled(self.inference_id or self.event_id,
                       float(config.get("InitialSamplingPercentage", 0))):
            return
        record = _capture_record(config, self.body, self.content_type, answer.encode(),
                                 ANSWER_TYPE, self._metadata(now))
        bucket, key = capture_key(config["DestinationS3Uri"], self.name, variant, now)
        kms = config.get("KmsKeyId")
        with suppress(MissingBucket):  # SageMaker drops what it cannot deliver
            self.s3.put_object(bucket, key, (json.dumps(record) + "\n").encode(),
                               encryption="aws:kms" if kms else None, kms_key_id=kms)

    def _metadata(self, now: datetime) -> dict[str, str]:
        metadata = {"eventId": self.event_id}
        if self.inference_id:
            metadata["inferenceId"] = self.inference_id
        metadata["inferenceTime"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        return metadata


def capture_key(destination: str, endpoint: str, variant: str, now: datetime
                ) -> tuple[str, str]:
    """(bucket, key) of one capture file, as SageMaker names them:
    ``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm>-<ss>-<mmm>-<uuid>.jsonl``."""
    bucket, _, prefix = destination.removeprefix("s3://").partition("/")
    name = f"{now:%M-%S}-{now.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
    parts = [prefix.strip("/"), endpoint, variant, f"{now:%Y/%m/%d/%H}", name]
    return bucket, "/".join(p for p in parts if p)


def _capture_record(config: Mapping[str, Any], request: bytes, request_type: str,
                    answer: bytes, answer_type: str, metadata: dict[str, str]) -> dict[str, Any]:
    modes = {o.get("CaptureMode") for o in config.get("CaptureOptions") or []}
    headers = config.get("CaptureContentTypeHeader") or {}
    data: dict[str, Any] = {}
    if modes & {"Input", "InputAndOutput"}:
        data["endpointInput"] = _captured("INPUT", request, request_type, headers)
    if modes & {"Output", "InputAndOutput"}:
        data["endpointOutput"] = _captured("OUTPUT", answer, answer_type, headers)
    return {"captureData": data, "eventMetadata": metadata, "eventVersion": "0"}


def _captured(mode: str, payload: bytes, content_type: str, headers: Mapping[str, Any]
              ) -> dict[str, str]:
    """One side of a capture record: CSV or JSON as text when the configuration lists the
    content type, base64 otherwise (SageMaker's default without CaptureContentTypeHeader)."""
    kind = content_type.split(";")[0].strip().lower()
    encoding = ("CSV" if kind in _lower(headers.get("CsvContentTypes")) else
                "JSON" if kind in _lower(headers.get("JsonContentTypes")) else "BASE64")
    text = (base64.b64encode(payload).decode() if encoding == "BASE64" else
            payload.decode("utf-8", errors="replace"))
    return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": encoding}


def _lower(values: Any) -> set[str]:
    return {str(v).lower() for v in values or []}


def _install_events() -> None:
    from mlops.sandbox import events

    events.install_patches(_replace)


def _install_invocations() -> None:
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    def invoke_endpoint(self: Any) -> Any:
        return _Invocation(self).answer()

    _replace(SageMakerRuntimeResponse, "invoke_endpoint", invoke_endpoint)
