"""Kubernetes rules: each passes a hardened object and fails the misconfiguration it names."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from common import tokens
from policies.rules import get_rule, rules_by_type
from tests.policies.helpers import UNKNOWN, res, unknowns, violations

DEPLOYMENT = tokens.K8S_DEPLOYMENT
NAMESPACE = "mlops-prod-serving"
DIGEST = "@sha256:" + "ab" * 32
SECURE = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
          "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
          "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
RESOURCES = {"requests": {"cpu": "500m", "memory": "1Gi"},
             "limits": {"cpu": "500m", "memory": "1Gi"}}
PROBE = {"httpGet": {"path": "/ping", "port": "http"}}


def pod_spec() -> dict[str, Any]:
    return {
        "automountServiceAccountToken": False, "serviceAccountName": "churn",
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "initContainers": [{"name": "model-loader", "image": f"ecr/loader{DIGEST}",
                            "securityContext": dict(SECURE), "resources": copy.deepcopy(RESOURCES)}],
        "containers": [{"name": "model-server", "image": f"ecr/server{DIGEST}",
                        "securityContext": dict(SECURE), "resources": copy.deepcopy(RESOURCES),
                        "readinessProbe": PROBE, "livenessProbe": PROBE}],
    }


def deployment(edit: Any = None, *, token: str = DEPLOYMENT, **metadata: Any):  # type: ignore[no-untyped-def]
    """A hardened workload; ``edit(pod_spec)`` breaks it."""
    spec = pod_spec()
    if edit is not None:
        edit(spec)
    if token == tokens.K8S_POD:
        body: dict[str, Any] = spec
    elif token == tokens.K8S_CRON_JOB:
        body = {"jobTemplate": {"spec": {"template": {"spec": spec}}}}
    else:
        body = {"template": {"spec": spec}}
    meta = {"name": "churn", "namespace": NAMESPACE, **metadata}
    return res(token, "churn", {"metadata": meta, "spec": body})


def server(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["containers"][0]


def loader(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["initContainers"][0]


def test_workload_rules_judge_every_workload_kind() -> None:
    judged = rules_by_type()
    for token in (tokens.K8S_POD, DEPLOYMENT, tokens.K8S_STATEFUL_SET, tokens.K8S_DAEMON_SET,
                  tokens.K8S_REPLICA_SET, tokens.K8S_JOB, tokens.K8S_CRON_JOB):
        assert "k8s-run-as-non-root" in judged[token] and "k8s-probes" in judged[token]


@pytest.mark.parametrize("token", [tokens.K8S_POD, tokens.K8S_CRON_JOB, tokens.K8S_STATEFUL_SET])
def test_the_pod_spec_is_found_where_each_kind_keeps_it(token: str) -> None:
    assert violations("k8s-run-as-non-root", [deployment(token=token)]) == []
    root = deployment(lambda s: server(s)["securityContext"].update(runAsUser=0), token=token)
    assert violations("k8s-run-as-non-root", [root]) == [
        "churn: containers[model-server] runs as root (runAsUser 0)"]


def test_k8s_run_as_non_root() -> None:
    assert violations("k8s-run-as-non-root", [deployment()]) == []

    def unset(spec: dict[str, Any]) -> None:
        spec["securityContext"] = {}
        for c in (server(spec), loader(spec)):
            c["securityContext"].pop("runAsNonRoot")
            c["securityContext"].pop("runAsUser")

    assert violations("k8s-run-as-non-root", [deployment(unset)]) == [
        "churn: initContainers[model-loader] may run as root (neither runAsNonRoot: true nor a "
        "runAsUser)",
        "churn: containers[model-server] may run as root (neither runAsNonRoot: true nor a "
        "runAsUser)"]

    def pod_level_only(spec: dict[str, Any]) -> None:
        for c in (server(spec), loader(spec)):
            c["securityContext"].pop("runAsNonRoot")
            c["securityContext"].pop("runAsUser")

    assert violations("k8s-run-as-non-root", [deployment(pod_level_only)]) == []  # inherited

    def uid_only(spec: dict[str, Any]) -> None:  # Checkov passes a non-zero runAsUser alone
        unset(spec)
        spec["securityContext"] = {"runAsUser": 1000}

    assert violations("k8s-run-as-non-root", [deployment(uid_only)]) == []


def test_k8s_high_uid() -> None:
    assert violations("k8s-high-uid", [deployment()]) == []
    low = deployment(lambda s: loader(s)["securityContext"].update(runAsUser=999))
    assert violations("k8s-high-uid", [low]) == [
        "churn: initContainers[model-loader] runs as UID 999 (below 10000)"]

    def none(spec: dict[str, Any]) -> None:
        spec["securityContext"].pop("runAsUser")
        server(spec)["securityContext"].pop("runAsUser")

    assert violations("k8s-high-uid", [deployment(none)]) == [
        "churn: containers[model-server] has no runAsUser (the image's user applies)"]

    def user_namespace(spec: dict[str, Any]) -> None:
        none(spec)
        spec["hostUsers"] = False

    assert violations("k8s-high-uid", [deployment(user_namespace)]) == []


def test_k8s_no_privileged() -> None:
    assert violations("k8s-no-privileged", [deployment()]) == []
    privileged = deployment(lambda s: server(s)["securityContext"].update(privileged=True))
    assert violations("k8s-no-privileged", [privileged]) == [
        "churn: containers[model-server] is privileged"]


def test_k8s_no_privilege_escalation() -> None:
    assert violations("k8s-no-privilege-escalation", [deployment()]) == []
    unset = deployment(lambda s: loader(s)["securityContext"].pop("allowPrivilegeEscalation"))
    allowed = deployment(lambda s: server(s)["securityContext"].update(
        allowPrivilegeEscalation=True))
    assert violations("k8s-no-privilege-escalation", [unset, allowed]) == [
        "churn: initContainers[model-loader] does not set allowPrivilegeEscalation: false",
        "churn: containers[model-server] does not set allowPrivilegeEscalation: false"]


def test_k8s_read_only_root_filesystem() -> None:
    assert violations("k8s-read-only-root-filesystem", [deployment()]) == []
    writable = deployment(lambda s: server(s)["securityContext"].update(
        readOnlyRootFilesystem=False))
    assert violations("k8s-read-only-root-filesystem", [writable]) == [
        "churn: containers[model-server] has a writable root filesystem"]


def test_k8s_drop_all_capabilities() -> None:
    assert violations("k8s-drop-all-capabilities", [deployment()]) == []
    net_raw_only = deployment(lambda s: server(s)["securityContext"].update(
        capabilities={"drop": ["NET_RAW"], "add": ["NET_BIND_SERVICE"]}))
    assert violations("k8s-drop-all-capabilities", [net_raw_only]) == [
        "churn: containers[model-server] does not drop ALL capabilities",
        "churn: containers[model-server] adds capabilities NET_BIND_SERVICE"]
    lower = deployment(lambda s: server(s)["securityContext"].update(capabilities={"drop": ["all"]}))
    assert violations("k8s-drop-all-capabilities", [lower]) == []


def test_k8s_seccomp_runtime_default() -> None:
    assert violations("k8s-seccomp-runtime-default", [deployment()]) == []

    def pod_only(spec: dict[str, Any]) -> None:
        for c in (server(spec), loader(spec)):
            c["securityContext"].pop("seccompProfile")

    assert violations("k8s-seccomp-runtime-default", [deployment(pod_only)]) == []

    def nowhere(spec: dict[str, Any]) -> None:
        pod_only(spec)
        spec["securityContext"].pop("seccompProfile")

    unconfined = deployment(lambda s: server(s)["securityContext"].update(
        seccompProfile={"type": "Unconfined"}))
    assert violations("k8s-seccomp-runtime-default", [deployment(nowhere), unconfined]) == [
        "churn: initContainers[model-loader] has no seccomp profile (Unconfined unless the "
        "kubelet defaults one)",
        "churn: containers[model-server] has no seccomp profile (Unconfined unless the kubelet "
        "defaults one)",
        "churn: containers[model-server] runs with seccomp profile Unconfined"]


def test_k8s_resources_set() -> None:
    assert violations("k8s-resources-set", [deployment()]) == []
    missing = deployment(lambda s: loader(s).update(resources={"limits": {"cpu": "1"}}))
    assert violations("k8s-resources-set", [missing]) == [
        "churn: initContainers[model-loader] has no cpu request",
        "churn: initContainers[model-loader] has no memory request",
        "churn: initContainers[model-loader] has no memory limit"]
    burstable = deployment(lambda s: server(s)["resources"]["limits"].update(memory="2Gi"))
    assert violations("k8s-resources-set", [burstable]) == [
        "churn: containers[model-server] requests memory 1Gi but limits it to 2Gi"]
    assert violations("k8s-resources-set", [burstable], {"requestsEqualLimits": False}) == []
    assert get_rule("k8s-resources-set").defaults == {"requestsEqualLimits": True}


def test_k8s_probes() -> None:
    assert violations("k8s-probes", [deployment()]) == []  # init containers need none
    unprobed = deployment(lambda s: server(s).pop("livenessProbe"))
    assert violations("k8s-probes", [unprobed]) == [
        "churn: containers[model-server] has no livenessProbe"]


def test_k8s_image_digest() -> None:
    assert violations("k8s-image-digest", [deployment()]) == []
    tagged = deployment(lambda s: server(s).update(image="ecr/server:latest"))
    short = deployment(lambda s: loader(s).update(image="ecr/loader@sha256:abc"))
    assert violations("k8s-image-digest", [tagged, short]) == [
        "churn: containers[model-server] image 'ecr/server:latest' is not pinned by digest",
        "churn: initContainers[model-loader] image 'ecr/loader@sha256:abc' is not pinned by "
        "digest"]


def test_k8s_no_host_namespaces() -> None:
    assert violations("k8s-no-host-namespaces", [deployment()]) == []
    host = deployment(lambda s: s.update(hostNetwork=True, hostPID=False, hostIPC=True))
    assert violations("k8s-no-host-namespaces", [host]) == [
        "churn: pod sets hostNetwork: true", "churn: pod sets hostIPC: true"]


def test_k8s_service_account_token() -> None:
    assert violations("k8s-service-account-token", [deployment()]) == []
    mounted = deployment(lambda s: s.pop("automountServiceAccountToken"))
    assert violations("k8s-service-account-token", [mounted]) == [
        "churn: the pod mounts a service account token (automountServiceAccountToken is not "
        "false)"]


def test_k8s_not_default_namespace() -> None:
    service = res(tokens.K8S_SERVICE, "svc", {"metadata": {"name": "churn", "namespace": NAMESPACE}})
    assert violations("k8s-not-default-namespace", [deployment(), service]) == []
    default = deployment(namespace="default")
    unset = res(tokens.K8S_HPA, "hpa", {"metadata": {"name": "churn"}})
    assert violations("k8s-not-default-namespace", [default, unset]) == [
        "churn: in the default namespace",
        "hpa: metadata.namespace is not set (the provider's or kubeconfig's default applies)"]


def test_k8s_namespace_restricted() -> None:
    def namespace(**labels: str):  # type: ignore[no-untyped-def]
        return res(tokens.K8S_NAMESPACE, "ns", {"metadata": {"name": NAMESPACE, "labels": labels}})

    restricted = namespace(**{"pod-security.kubernetes.io/enforce": "restricted"})
    assert violations("k8s-namespace-restricted", [restricted]) == []
    baseline = namespace(**{"pod-security.kubernetes.io/enforce": "baseline",
                            "pod-security.kubernetes.io/warn": "restricted"})
    assert violations("k8s-namespace-restricted", [baseline, namespace()]) == [
        "ns: pod-security.kubernetes.io/enforce is baseline, not restricted",
        "ns: pod-security.kubernetes.io/enforce is unset, not restricted"]
    assert unknowns("k8s-namespace-restricted", [namespace(
        **{"pod-security.kubernetes.io/enforce": UNKNOWN})]) != []


def test_k8s_service_cluster_ip() -> None:
    def service(**spec: Any):  # type: ignore[no-untyped-def]
        return res(tokens.K8S_SERVICE, "svc", {"metadata": {"namespace": NAMESPACE}, "spec": spec})

    assert violations("k8s-service-cluster-ip", [service(type="ClusterIP"), service()]) == []
    assert violations("k8s-service-cluster-ip", [
        service(type="LoadBalancer"), service(type="ClusterIP", externalIPs=["203.0.113.7"])]) == [
        "svc: type is LoadBalancer, not ClusterIP", "svc: sets externalIPs"]


def _ingress(*rules: dict[str, Any]):  # type: ignore[no-untyped-def]
    return res(tokens.K8S_NETWORK_POLICY, "allow", {
        "metadata": {"name": "churn-allow-ingress", "namespace": NAMESPACE},
        "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "churn"}},
                 "policyTypes": ["Ingress"], "ingress": list(rules)}})


def test_k8s_ingress_from_named_sources() -> None:
    named = {"from": [{"namespaceSelector": {"matchExpressions": [{
        "key": "kubernetes.io/metadata.name", "operator": "In", "values": ["gateway"]}]}}],
        "ports": [{"port": 8080, "protocol": "TCP"}]}
    assert violations("k8s-ingress-from-named-sources", [_ingress(named)]) == []
    anyone = {"ports": [{"port": 8080}]}
    all_namespaces = {"from": [{"namespaceSelector": {}}]}
    internet = {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}
    assert violations("k8s-ingress-from-named-sources", [
        _ingress(anyone, all_namespaces, internet)]) == [
        "allow: ingress[0] allows every source (no 'from')",
        "allow: ingress[1] allows every namespace (empty namespaceSelector)",
        "allow: ingress[2] allows 0.0.0.0/0"]


def _deny(namespace: str = NAMESPACE, **spec: Any):  # type: ignore[no-untyped-def]
    return res(tokens.K8S_NETWORK_POLICY, f"deny-{namespace}", {
        "metadata": {"name": "default-deny-all", "namespace": namespace},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], **spec}})


def test_k8s_network_policy_default_deny() -> None:
    assert violations("k8s-network-policy-default-deny", [deployment(), _deny()]) == []
    assert violations("k8s-network-policy-default-deny", [deployment()]) == [
        f"churn: namespace {NAMESPACE} has no default-deny NetworkPolicy in this stack"]
    # A deny in another namespace, one that denies only ingress, one that allows: none counts.
    ingress_only = _deny(policyTypes=["Ingress"])
    allowing = _deny(ingress=[{"from": [{"podSelector": {}}]}])
    assert violations("k8s-network-policy-default-deny", [
        deployment(), _deny("other"), ingress_only, allowing]) == [
        f"churn: namespace {NAMESPACE} has no default-deny NetworkPolicy in this stack"]
    unknown = res(tokens.K8S_NETWORK_POLICY, "deny", {
        "metadata": {"name": "default-deny-all", "namespace": UNKNOWN},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
    assert violations("k8s-network-policy-default-deny", [deployment(), unknown]) == []
    assert unknowns("k8s-network-policy-default-deny", [deployment(), unknown]) != []


def test_unknown_containers_cannot_be_evaluated_and_known_ones_are_still_judged() -> None:
    def pending(spec: dict[str, Any]) -> None:
        spec["containers"] = UNKNOWN
        loader(spec)["securityContext"]["readOnlyRootFilesystem"] = False

    assert violations("k8s-read-only-root-filesystem", [deployment(pending)]) == [
        "churn: initContainers[model-loader] has a writable root filesystem"]
    assert unknowns("k8s-read-only-root-filesystem", [deployment(pending)]) == [
        "value at containers is not known until deploy"]
