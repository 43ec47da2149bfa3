"""Kubernetes rules: the pod hardening Checkov's CKV_K8S checks judge (no root, no privilege,
no escalation, read-only root filesystem, capabilities dropped, seccomp, resources, probes,
images by digest, host namespaces, service account tokens, not the default namespace), and the
platform's own: restricted namespaces, a default-deny NetworkPolicy for every workload's
namespace, ingress only from named sources, Services inside the cluster.

Props are the objects' own camelCase fields (``spec.template.spec.containers``), as
pulumi-kubernetes registers them and as `mlops export k8s` writes them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from common import tokens
from policies.core import (
    CannotEvaluate,
    Finding,
    Resource,
    ResourceCheck,
    Severity,
    as_list,
    get,
    is_unknown,
    iter_findings,
    known,
    of_type,
    resource_rule,
    stack_rule,
    truthy,
)

# Where each workload kind keeps its pod spec.
POD_SPECS = {
    tokens.K8S_POD: "spec",
    tokens.K8S_DEPLOYMENT: "spec.template.spec",
    tokens.K8S_STATEFUL_SET: "spec.template.spec",
    tokens.K8S_DAEMON_SET: "spec.template.spec",
    tokens.K8S_REPLICA_SET: "spec.template.spec",
    tokens.K8S_JOB: "spec.template.spec",
    tokens.K8S_CRON_JOB: "spec.jobTemplate.spec.template.spec",
}
WORKLOADS = tuple(POD_SPECS)
NAMESPACED = (*WORKLOADS, tokens.K8S_SERVICE, tokens.K8S_SERVICE_ACCOUNT, tokens.K8S_HPA,
              tokens.K8S_PDB, tokens.K8S_NETWORK_POLICY)
IMAGE_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
HIGH_UID = 10000
SECCOMP_OK = ("RuntimeDefault", "Localhost")
RESTRICTED = "restricted"
OPEN_CIDRS = ("0.0.0.0/0", "::/0")


# --- helpers ----------------------------------------------------------------------------------


def pod_spec(resource: Resource) -> Mapping[str, Any]:
    """The workload's pod spec (empty when absent)."""
    spec = get(resource.props, POD_SPECS[resource.type], {})
    return spec if isinstance(spec, Mapping) else {}


def containers(spec: Mapping[str, Any], *, init: bool = True
               ) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(label, container) of every container of a pod spec, init containers first."""
    kinds = ("initContainers", "containers") if init else ("containers",)
    for kind in kinds:
        listed = known(spec.get(kind) or [], kind)
        for i, container in enumerate(as_list(listed)):
            if isinstance(container, Mapping):
                yield f"{kind}[{container.get('name') or i}]", container


def effective(spec: Mapping[str, Any], container: Mapping[str, Any], field: str) -> Any:
    """A security context field as the kubelet applies it: the container's, else the pod's."""
    value = get(container, f"securityContext.{field}")
    return get(spec, f"securityContext.{field}") if value is None else value


def _workload_rule(id: str, *, severity: Severity, description: str, remediation: str,
                   references: Sequence[str],
                   config_schema: Mapping[str, Mapping[str, Any]] | None = None
                   ) -> Callable[[ResourceCheck], ResourceCheck]:
    """A resource rule judging the pod spec of every workload kind."""
    return resource_rule(id, area="kubernetes", severity=severity, types=list(WORKLOADS),
                         description=description, remediation=remediation,
                         references=references, config_schema=config_schema)


# --- the pod ------------------------------------------------------------------------------------


@_workload_rule(
    "k8s-run-as-non-root", severity=Severity.HIGH,
    description="Every container (init containers too) runs as a non-root user: runAsNonRoot "
                "true or a non-zero runAsUser, in its own securityContext or the pod's, and "
                "never runAsUser 0.",
    remediation="Set securityContext.runAsNonRoot: true and runAsUser to a non-root UID on the "
                "pod (and do not override it with 0 on a container).",
    references=["CKV_K8S_23", "CKV_K8S_6"],
)
def k8s_run_as_non_root(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    spec = pod_spec(resource)
    for label, container in containers(spec):
        uid = effective(spec, container, "runAsUser")
        if uid is not None and int(uid) == 0:
            yield f"{label} runs as root (runAsUser 0)"
        elif not truthy(effective(spec, container, "runAsNonRoot")) and uid is None:
            yield f"{label} may run as root (neither runAsNonRoot: true nor a runAsUser)"


@_workload_rule(
    "k8s-high-uid", severity=Severity.MEDIUM,
    description=f"Containers run as a UID of {HIGH_UID} or above, clear of the host's users "
                "(or in a user namespace, hostUsers: false).",
    remediation=f"Set securityContext.runAsUser to {HIGH_UID + 1} or another UID >= {HIGH_UID}.",
    references=["CKV_K8S_40"],
)
def k8s_high_uid(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    spec = pod_spec(resource)
    if get(spec, "hostUsers") is False:
        return
    for label, container in containers(spec):
        uid = effective(spec, container, "runAsUser")
        if uid is None:
            yield f"{label} has no runAsUser (the image's user applies)"
        elif int(uid) < HIGH_UID:
            yield f"{label} runs as UID {uid} (below {HIGH_UID})"


@_workload_rule(
    "k8s-no-privileged", severity=Severity.CRITICAL,
    description="No container is privileged.",
    remediation="Remove securityContext.privileged: true (or set it to false).",
    references=["CKV_K8S_16", "CKV_K8S_2"],
)
def k8s_no_privileged(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    for label, container in containers(pod_spec(resource)):
        if truthy(get(container, "securityContext.privileged", False)):
            yield f"{label} is privileged"


@_workload_rule(
    "k8s-no-privilege-escalation", severity=Severity.HIGH,
    description="Every container sets allowPrivilegeEscalation: false (the default lets a "
                "process gain more privileges than its parent).",
    remediation="Set securityContext.allowPrivilegeEscalation: false on every container.",
    references=["CKV_K8S_20", "CKV_K8S_5"],
)
def k8s_no_privilege_escalation(resource: Resource, config: Mapping[str, Any]
                                ) -> Iterator[str]:
    for label, container in containers(pod_spec(resource)):
        if get(container, "securityContext.allowPrivilegeEscalation") is not False:
            yield f"{label} does not set allowPrivilegeEscalation: false"


@_workload_rule(
    "k8s-read-only-root-filesystem", severity=Severity.HIGH,
    description="Every container has a read-only root filesystem (scratch space comes from an "
                "emptyDir).",
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where "
                "the process writes (/tmp).",
    references=["CKV_K8S_22"],
)
def k8s_read_only_root_filesystem(resource: Resource, config: Mapping[str, Any]
                                  ) -> Iterator[str]:
    for label, container in containers(pod_spec(resource)):
        if not truthy(get(container, "securityContext.readOnlyRootFilesystem", False)):
            yield f"{label} has a writable root filesystem"


@_workload_rule(
    "k8s-drop-all-capabilities", severity=Severity.HIGH,
    description="Every container drops ALL Linux capabilities and adds none back (NET_RAW and "
                "SYS_ADMIN included).",
    remediation="Set securityContext.capabilities: {drop: [ALL]} and remove capabilities.add.",
    references=["CKV_K8S_37", "CKV_K8S_28", "CKV_K8S_25", "CKV_K8S_39"],
)
def k8s_drop_all_capabilities(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    for label, container in containers(pod_spec(resource)):
        dropped = {str(c).upper() for c in as_list(get(container, "securityContext.capabilities."
                                                                  "drop"))}
        added = [str(c) for c in as_list(get(container, "securityContext.capabilities.add"))]
        if "ALL" not in dropped:
            yield f"{label} does not drop ALL capabilities"
        if added:
            yield f"{label} adds capabilities {', '.join(added)}"


@_workload_rule(
    "k8s-seccomp-runtime-default", severity=Severity.HIGH,
    description="Every container runs under the RuntimeDefault seccomp profile (or a Localhost "
                "profile), set on the pod and not overridden as Unconfined.",
    remediation="Set securityContext.seccompProfile: {type: RuntimeDefault} on the pod (and on "
                "each container).",
    references=["CKV_K8S_31"],
)
def k8s_seccomp_runtime_default(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    spec = pod_spec(resource)
    for label, container in containers(spec):
        profile = effective(spec, container, "seccompProfile.type")
        if profile is None:
            yield f"{label} has no seccomp profile (Unconfined unless the kubelet defaults one)"
        elif profile not in SECCOMP_OK:
            yield f"{label} runs with seccomp profile {profile}"


@_workload_rule(
    "k8s-resources-set", severity=Severity.MEDIUM,
    description="Every container requests and limits CPU and memory; with requestsEqualLimits "
                "(the platform's default) requests equal limits, so pods get the Guaranteed "
                "QoS class.",
    remediation="Set resources.requests and resources.limits for cpu and memory, to the same "
                "values.",
    references=["CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"],
    config_schema={"requestsEqualLimits": {
        "type": "boolean", "default": True,
        "description": "Requests must equal limits (Guaranteed QoS)."}},
)
def k8s_resources_set(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    equal = config.get("requestsEqualLimits", True)
    for label, container in containers(pod_spec(resource)):
        for resource_name in ("cpu", "memory"):
            request = get(container, f"resources.requests.{resource_name}")
            limit = get(container, f"resources.limits.{resource_name}")
            if request is None:
                yield f"{label} has no {resource_name} request"
            if limit is None:
                yield f"{label} has no {resource_name} limit"
            if equal and request is not None and limit is not None and str(request) != str(limit):
                yield f"{label} requests {resource_name} {request} but limits it to {limit}"


@_workload_rule(
    "k8s-probes", severity=Severity.MEDIUM,
    description="Every container (not init containers) has a readiness and a liveness probe.",
    remediation="Add readinessProbe and livenessProbe (and a startupProbe for slow starts) to "
                "every container.",
    references=["CKV_K8S_8", "CKV_K8S_9"],
)
def k8s_probes(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    for label, container in containers(pod_spec(resource), init=False):
        for probe in ("readinessProbe", "livenessProbe"):
            if not get(container, probe):
                yield f"{label} has no {probe}"


@_workload_rule(
    "k8s-image-digest", severity=Severity.HIGH,
    description="Every container image is pinned by digest (<repository>@sha256:<64 hex>), so "
                "what runs is exactly what was reviewed; never a bare or latest tag.",
    remediation="Reference images as <repository>@sha256:<digest> (serving.kubernetes.image and "
                "loaderImage in project.yaml).",
    references=["CKV_K8S_43", "CKV_K8S_14"],
)
def k8s_image_digest(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    for label, container in containers(pod_spec(resource)):
        image = get(container, "image")
        if not isinstance(image, str) or not IMAGE_DIGEST.search(image):
            yield f"{label} image {image!r} is not pinned by digest"


@_workload_rule(
    "k8s-no-host-namespaces", severity=Severity.CRITICAL,
    description="Pods share neither the host's network, process nor IPC namespace.",
    remediation="Remove hostNetwork, hostPID and hostIPC (or set them to false).",
    references=["CKV_K8S_19", "CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_4", "CKV_K8S_1", "CKV_K8S_3"],
)
def k8s_no_host_namespaces(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    spec = pod_spec(resource)
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if truthy(get(spec, field, False)):
            yield f"pod sets {field}: true"


@_workload_rule(
    "k8s-service-account-token", severity=Severity.MEDIUM,
    description="Pods do not mount a Kubernetes API token (automountServiceAccountToken: false); "
                "EKS Pod Identity and IRSA inject their own projected token.",
    remediation="Set automountServiceAccountToken: false on the pod spec (and the service "
                "account).",
    references=["CKV_K8S_38"],
)
def k8s_service_account_token(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if get(pod_spec(resource), "automountServiceAccountToken") is not False:
        yield "the pod mounts a service account token (automountServiceAccountToken is not false)"


# --- namespaces, services, network policies -----------------------------------------------------


@resource_rule(
    "k8s-not-default-namespace", area="kubernetes", severity=Severity.MEDIUM,
    types=list(NAMESPACED),
    description="Namespaced objects name their namespace, and it is not 'default'.",
    remediation="Set metadata.namespace to the stack's serving namespace "
                "(mlops:kubernetes.namespace).",
    references=["CKV_K8S_21"],
)
def k8s_not_default_namespace(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    namespace = get(resource.props, "metadata.namespace")
    if not namespace:
        yield "metadata.namespace is not set (the provider's or kubeconfig's default applies)"
    elif namespace == "default":
        yield "in the default namespace"


@resource_rule(
    "k8s-namespace-restricted", area="kubernetes", severity=Severity.HIGH,
    types=[tokens.K8S_NAMESPACE],
    description="Namespaces enforce the restricted Pod Security Standard "
                "(pod-security.kubernetes.io/enforce: restricted), so the API server refuses a "
                "pod that is not hardened.",
    remediation="Label the namespace pod-security.kubernetes.io/enforce: restricted (and audit, "
                "warn).",
    references=["Kubernetes Pod Security Standards (restricted)"],
)
def k8s_namespace_restricted(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    labels = get(resource.props, "metadata.labels", {})
    level = labels.get("pod-security.kubernetes.io/enforce") if isinstance(labels, Mapping) \
        else None
    if is_unknown(level):
        raise CannotEvaluate("metadata.labels")
    if level != RESTRICTED:
        yield f"pod-security.kubernetes.io/enforce is {level or 'unset'}, not {RESTRICTED}"


@resource_rule(
    "k8s-service-cluster-ip", area="kubernetes", severity=Severity.MEDIUM,
    types=[tokens.K8S_SERVICE],
    description="Services stay inside the cluster (type ClusterIP, no externalIPs): callers in "
                "the allowed namespaces reach the model, nothing outside does.",
    remediation="Use type ClusterIP and expose the model through the team's gateway in an "
                "ingress namespace (mlops:kubernetes.ingressNamespaces).",
    references=["Polaris/kube-score: no NodePort or LoadBalancer for internal services"],
)
def k8s_service_cluster_ip(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    kind = get(resource.props, "spec.type", "ClusterIP")
    if kind != "ClusterIP":
        yield f"type is {kind}, not ClusterIP"
    if as_list(get(resource.props, "spec.externalIPs")):
        yield "sets externalIPs"


def _selects_everything(value: Any) -> bool:
    return isinstance(value, Mapping) and not value.get("matchLabels") \
        and not value.get("matchExpressions")


@resource_rule(
    "k8s-ingress-from-named-sources", area="kubernetes", severity=Severity.HIGH,
    types=[tokens.K8S_NETWORK_POLICY],
    description="NetworkPolicy ingress rules name their sources: no rule without 'from', no "
                "namespaceSelector that matches every namespace, no ipBlock open to the "
                "internet.",
    remediation="Allow ingress from a namespaceSelector on kubernetes.io/metadata.name In "
                "[the stack's ingressNamespaces], on the serving port.",
    references=["CIS Kubernetes 5.3.2"],
)
def k8s_ingress_from_named_sources(resource: Resource, config: Mapping[str, Any]
                                   ) -> Iterator[str]:
    for i, rule in enumerate(as_list(get(resource.props, "spec.ingress"))):
        if not isinstance(rule, Mapping):
            continue
        peers = as_list(known(rule.get("from"), f"spec.ingress[{i}].from"))
        if not peers:
            yield f"ingress[{i}] allows every source (no 'from')"
        for peer in peers:
            if not isinstance(peer, Mapping):
                continue
            if "namespaceSelector" in peer and _selects_everything(peer["namespaceSelector"]):
                yield f"ingress[{i}] allows every namespace (empty namespaceSelector)"
            if str(get(peer, "ipBlock.cidr", "")) in OPEN_CIDRS:
                yield f"ingress[{i}] allows {peer['ipBlock']['cidr']}"


def _is_default_deny(policy: Resource) -> bool:
    spec = get(policy.props, "spec", {})
    if not isinstance(spec, Mapping):
        return False
    types = {str(t) for t in as_list(spec.get("policyTypes"))}
    return _selects_everything(spec.get("podSelector")) and {"Ingress", "Egress"} <= types \
        and not spec.get("ingress") and not spec.get("egress")


@stack_rule(
    "k8s-network-policy-default-deny", area="kubernetes", severity=Severity.HIGH,
    types=list(WORKLOADS),
    description="Every workload's namespace has a default-deny NetworkPolicy (podSelector {}, "
                "policyTypes Ingress and Egress, no rules) in the same stack, so only what a "
                "policy allows reaches or leaves a pod.",
    remediation="Add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress] to "
                "the namespace (the KubernetesServing component does), then allow what the pods "
                "need.",
    references=["CKV2_K8S_6", "CIS Kubernetes 5.3.2"],
)
def k8s_network_policy_default_deny(resources: Sequence[Resource], config: Mapping[str, Any]
                                    ) -> Iterator[Finding]:
    denied: set[str] = set()
    unknown = False
    for policy in of_type(resources, tokens.K8S_NETWORK_POLICY):
        namespace = policy.props.get("metadata", {}).get("namespace") \
            if isinstance(policy.props.get("metadata"), Mapping) else None
        if is_unknown(namespace):
            unknown = True
        elif namespace and _is_default_deny(policy):
            denied.add(str(namespace))

    def check(workload: Resource) -> Iterator[str]:
        namespace = get(workload.props, "metadata.namespace")
        if str(namespace) in denied:
            return
        if unknown:
            raise CannotEvaluate("NetworkPolicy metadata.namespace")
        yield (f"namespace {namespace or '(unset)'} has no default-deny NetworkPolicy in this "
               "stack")

    yield from iter_findings(of_type(resources, *WORKLOADS), check)
