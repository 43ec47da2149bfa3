"""What each served project's endpoint actually serves, and requests to it.

The version an endpoint serves is read the way SageMaker resolves it: DescribeEndpoint's
configuration -> that configuration's variant -> its model -> the model package the model was
created from -> that package's version. It is compared with the version the stack file pins:
the pulumi-aws provider can report a successful apply after SageMaker rolled a deployment back,
and this is where that shows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from infra.projects.discover import project_names
from mlops.errors import UsageError
from mlops.ops.aws import AwsClients, is_not_found
from mlops.ops.environment import Env, environment, load_project

IN_SERVICE = "InService"


@dataclass(frozen=True)
class EndpointState:
    """One served project's endpoint in one stack."""

    project: str
    endpoint: str
    status: str  # the endpoint's status, or "absent"
    pinned: int | None  # the version the stack file pins
    serving: int | None  # the version the endpoint's model was created from
    config: str | None
    detail: str

    @property
    def agrees(self) -> bool:
        """Pinned and served agree: both absent, or the pinned version in service."""
        if self.pinned is None:
            return self.status == "absent"
        return self.status == IN_SERVICE and self.serving == self.pinned

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "agrees": self.agrees}


def _describe(call: Any, **kwargs: Any) -> dict[str, Any] | None:
    try:
        return dict(call(**kwargs))
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise


def served_version(env: Env, endpoint: dict[str, Any], variant: str) -> tuple[int | None, str]:
    """(version, how it was found) of the model package behind the endpoint's variant."""
    sm = env.client("sagemaker")
    config = _describe(sm.describe_endpoint_config, EndpointConfigName=endpoint["EndpointConfigName"])
    if config is None:
        return None, f"configuration {endpoint['EndpointConfigName']} is gone"
    variants = config.get("ProductionVariants") or []
    chosen = next((v for v in variants if v.get("VariantName") == variant), variants[0] if variants
                  else None)
    if chosen is None:
        return None, f"configuration {config['EndpointConfigName']} has no variant"
    model = _describe(sm.describe_model, ModelName=chosen["ModelName"])
    if model is None:
        return None, f"model {chosen['ModelName']} is gone"
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    package_arn = container.get("ModelPackageName")
    if not package_arn:
        return None, f"model {chosen['ModelName']} is not created from a model package"
    package = _describe(sm.describe_model_package, ModelPackageName=package_arn)
    if package is None:
        return None, f"model package {package_arn} is gone"
    return int(package["ModelPackageVersion"]), f"{chosen['ModelName']} <- {package_arn}"


def endpoint_states(root: Path, stack: str, aws: AwsClients | None = None) -> list[EndpointState]:
    """Every project with a serving section: its endpoint, what it serves and what is pinned."""
    env = environment(root, stack, aws)
    sm = env.client("sagemaker")
    states = []
    for name in project_names(root):
        manifest = load_project(root, name)
        if manifest.serving is None:
            continue
        pin = env.settings.models.get(name)
        endpoint_name = f"{env.naming.stem}-{name}"
        endpoint = _describe(sm.describe_endpoint, EndpointName=endpoint_name)
        if endpoint is None:
            detail = ("no endpoint: nothing is pinned" if pin is None else
                      f"v{pin.version} is pinned but there is no endpoint (run: mlops up --stack "
                      f"{stack})")
            states.append(EndpointState(name, endpoint_name, "absent", pin.version if pin else None,
                                        None, None, detail))
            continue
        version, detail = served_version(env, endpoint, manifest.serving.variant_name)
        states.append(EndpointState(name, endpoint_name, str(endpoint.get("EndpointStatus")),
                                    pin.version if pin else None, version,
                                    str(endpoint.get("EndpointConfigName")), detail))
    return states


def invoke(root: Path, project: str, stack: str, body: bytes, content_type: str,
           aws: AwsClients | None = None) -> tuple[str, bytes]:
    """Send ``body`` to the project's endpoint; (content type, body) of the answer."""
    manifest = load_project(root, project)
    if manifest.serving is None:
        raise UsageError(f"pipelines/{project}/project.yaml: no serving section (the project "
                         "has no endpoint)")
    env = environment(root, stack, aws)
    answer = env.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=f"{env.naming.stem}-{project}", Body=body, ContentType=content_type)
    return str(answer.get("ContentType", "")), bytes(answer["Body"].read())
