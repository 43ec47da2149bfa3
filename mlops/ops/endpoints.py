"""What each served project's endpoint actually serves, and requests to it.

The version an endpoint serves is read the way SageMaker resolves it: DescribeEndpoint's
configuration -> that configuration's variant -> its model -> the model package the model was
created from -> that package's version. It is compared with the version the stack file pins:
the pulumi-aws provider can report a successful apply after SageMaker rolled a deployment back,
and this is where that shows.

A project served on Kubernetes in the stack (``serving.target``) is read from its Deployment
through the cluster API (:mod:`mlops.ops.cluster`): the version label of its pod template and
whether the rollout completed. When the cluster cannot be reached, its state says so and what
the stack would run there (image, replicas, version, namespace), resolved the way the program
resolves it; that counts as a disagreement (exit 1), as an unreachable SageMaker API does.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from infra.components.kubernetes_serving import PACKAGE_ANNOTATION, VERSION_LABEL
from infra.config import Settings
from infra.naming import Naming
from infra.projects.discover import project_names
from infra.projects.serving import KubernetesPlan, ServingPlan, serving_for
from mlops.errors import UsageError
from mlops.ops.aws import AwsClients, OpsError, is_not_found
from mlops.ops.cluster import ClusterUnreachable, Kubectl, connect
from mlops.ops.environment import Env, environment, load_project

IN_SERVICE = "InService"
AVAILABLE = "Available"  # a Deployment whose rollout completed
INVOKE_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class EndpointState:
    """One served project's endpoint in one stack."""

    project: str
    endpoint: str  # the SageMaker endpoint, or <namespace>/<deployment> on Kubernetes
    status: str  # the endpoint's status, "absent"; on Kubernetes also "unreachable"
    pinned: int | None  # the version the stack file pins
    serving: int | None  # the version the endpoint's model was created from
    config: str | None
    detail: str
    target: str = "sagemaker"
    would_run: dict[str, Any] | None = None  # Kubernetes: what the stack deploys there

    @property
    def agrees(self) -> bool:
        """Pinned and served agree: both absent, or the pinned version in service."""
        if self.pinned is None:
            return self.status == "absent"
        return self.status in (IN_SERVICE, AVAILABLE) and self.serving == self.pinned

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


def _offline_naming(settings: Settings, stack: str) -> Naming:
    """Names for resolving Kubernetes serving without AWS (they do not involve the account)."""
    return Naming(prefix=settings.name_prefix, stack=stack,
                  account_id=settings.account_id or "000000000000", region=settings.region)


def kubernetes_serving(root: Path, project: str, stack: str, settings: Settings
                       ) -> ServingPlan | None:
    """The project's Kubernetes serving in ``stack``, resolved as the program resolves it; None
    when nothing is pinned."""
    from infra.projects.loader import load_projects

    [loaded] = load_projects(root, [project])
    plan = serving_for(loaded, settings, _offline_naming(settings, stack))
    return plan if isinstance(plan, ServingPlan) else None


def would_run(plan: ServingPlan) -> dict[str, Any]:
    """What the stack deploys on the cluster for ``plan``."""
    k = plan.kubernetes
    assert k is not None
    replicas = f"{k.autoscaling.min}-{k.autoscaling.max}" if k.autoscaling else str(k.replicas)
    return {"namespace": k.namespace, "deployment": k.name, "image": k.image,
            "replicas": replicas, "version": plan.pinned.version, "artifact": k.artifact_uri}


def _describe_would_run(run: dict[str, Any]) -> str:
    return (f"would run {run['image']} x{run['replicas']} (v{run['version']}) in namespace "
            f"{run['namespace']}")


def deployment_state(deployment: dict[str, Any]) -> tuple[str, int | None]:
    """(status, version) of a Deployment: Available once the rollout completed, Failed when it
    exceeded its progress deadline, else Progressing; the version from its pod template label."""
    meta, spec = deployment.get("metadata") or {}, deployment.get("spec") or {}
    status = deployment.get("status") or {}
    label = str(((spec.get("template") or {}).get("metadata") or {}).get("labels", {}).get(
        VERSION_LABEL, ""))
    version = int(label[1:]) if label.startswith("v") and label[1:].isdigit() else None
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if (conditions.get("Progressing") or {}).get("reason") == "ProgressDeadlineExceeded":
        return "Failed", version
    wanted = int(spec.get("replicas", 1))
    done = (int(status.get("observedGeneration", 0)) >= int(meta.get("generation", 0))
            and int(status.get("updatedReplicas", 0)) >= wanted
            and int(status.get("availableReplicas", 0)) >= wanted
            and int(status.get("replicas", 0)) == int(status.get("updatedReplicas", 0)))
    return (AVAILABLE if done else "Progressing"), version


def kubernetes_state(root: Path, project: str, stack: str, settings: Settings, *,
                     kubeconfig: Path | None = None, aws: AwsClients | None = None
                     ) -> EndpointState:
    """One project served on Kubernetes: its Deployment as the cluster reports it, or what
    would run there when the cluster cannot be reached."""
    plan = kubernetes_serving(root, project, stack, settings)
    if plan is None:
        return EndpointState(project, "-", "absent", None, None, None,
                             "no Deployment: nothing is pinned", target="kubernetes")
    assert plan.kubernetes is not None and settings.kubernetes is not None
    k, run = plan.kubernetes, would_run(plan)
    where = f"{k.namespace}/{k.name}"

    def state(status: str, serving: int | None, detail: str) -> EndpointState:
        return EndpointState(project, where, status, plan.pinned.version, serving, k.image,
                             detail, target="kubernetes", would_run=run)

    try:
        with connect(settings.kubernetes, settings.region, kubeconfig=kubeconfig,
                     aws=aws) as kubectl:
            found = kubectl.get("deployment", k.namespace, k.name)
    except ClusterUnreachable as exc:
        return state("unreachable", None, f"cluster not reachable ({exc}); "
                                          f"{_describe_would_run(run)}")
    if found is None:
        return state("absent", None, f"v{plan.pinned.version} is pinned but there is no "
                                     f"Deployment {where} (run: mlops up --stack {stack})")
    status, version = deployment_state(found)
    template = (found.get("spec") or {}).get("template") or {}
    package = ((template.get("metadata") or {}).get("annotations") or {}).get(
        PACKAGE_ANNOTATION, "no model package annotation")
    return state(status, version, f"{where} <- {package}")


def endpoint_states(root: Path, stack: str, aws: AwsClients | None = None, *,
                    kubeconfig: Path | None = None) -> list[EndpointState]:
    """Every project with a serving section: its endpoint, what it serves and what is pinned."""
    from mlops.offline.runtime import load_settings

    settings, _ = load_settings(root, stack)
    env: Env | None = None
    states = []
    for name in project_names(root):
        manifest = load_project(root, name)
        if manifest.serving is None:
            continue
        if manifest.serving.target_for(stack, settings.environment) == "kubernetes":
            states.append(kubernetes_state(root, name, stack, settings, kubeconfig=kubeconfig,
                                           aws=aws))
            continue
        env = env or environment(root, stack, aws)
        sm = env.client("sagemaker")
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
           aws: AwsClients | None = None, *, kubeconfig: Path | None = None
           ) -> tuple[str, bytes]:
    """Send ``body`` to the project's endpoint; (content type, body) of the answer."""
    from mlops.offline.runtime import load_settings

    manifest = load_project(root, project)
    if manifest.serving is None:
        raise UsageError(f"pipelines/{project}/project.yaml: no serving section (the project "
                         "has no endpoint)")
    settings, _ = load_settings(root, stack)
    if manifest.serving.target_for(stack, settings.environment) == "kubernetes":
        return invoke_on_kubernetes(root, project, stack, settings, body, content_type,
                                    kubeconfig=kubeconfig, aws=aws)
    env = environment(root, stack, aws)
    answer = env.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=f"{env.naming.stem}-{project}", Body=body, ContentType=content_type)
    return str(answer.get("ContentType", "")), bytes(answer["Body"].read())


def _post(kubectl: Kubectl, k: KubernetesPlan, body: bytes, content_type: str
          ) -> tuple[str, bytes]:
    with kubectl.port_forward(k.namespace, k.name, k.port) as port:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{k.invocation_path}",
                                         data=body, method="POST",
                                         headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT_SECONDS) as answer:
                return str(answer.headers.get("Content-Type", "")), bytes(answer.read())
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", errors="replace").strip()[:300]
            raise OpsError(f"{k.namespace}/{k.name} answered HTTP {exc.code}: {text}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ClusterUnreachable(f"no answer through the port-forward: {exc}") from None


def invoke_on_kubernetes(root: Path, project: str, stack: str, settings: Settings, body: bytes,
                         content_type: str, *, kubeconfig: Path | None = None,
                         aws: AwsClients | None = None) -> tuple[str, bytes]:
    """POST ``body`` to the project's Service (its invocation path) through a port-forward."""
    plan = kubernetes_serving(root, project, stack, settings)
    if plan is None or plan.kubernetes is None or settings.kubernetes is None:
        raise UsageError(f"{project} is not served in stack {stack} (nothing is pinned there)")
    k = plan.kubernetes
    try:
        with connect(settings.kubernetes, settings.region, kubeconfig=kubeconfig,
                     aws=aws) as kubectl:
            return _post(kubectl, k, body, content_type)
    except ClusterUnreachable as exc:
        raise OpsError(f"the cluster of stack {stack} is not reachable ({exc}); the request would "
                       f"go to service {k.name}.{k.namespace}:{k.port}{k.invocation_path}, "
                       f"{_describe_would_run(would_run(plan))}") from None
