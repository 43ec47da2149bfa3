"""KubernetesServing as the offline Plan shows it: the pinned version behind a hardened
Deployment on the stack's cluster, with its own provider, namespace, policies and AWS role."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from common import tokens
from infra.components.kubernetes_serving import (
    LOADER_SCRIPT,
    KubernetesServing,
    KubernetesServingArgs,
)
from infra.config import Kubeconfig, KubernetesCluster
from infra.naming import Naming
from infra.projects.errors import ProjectError
from infra.projects.loader import load_project
from infra.projects.serving import ServingPlan, serving_for
from mlops.offline.cloud import Cloud
from mlops.offline.fakes import FakeCloud
from mlops.offline.plan import Plan, PlanResource
from mlops.offline.runtime import load_settings, record
from mlops.policy.evaluate import check_plan
from tests.conftest import ROOT, run_cli
from tests.k8s_stack import (
    ACCOUNT,
    ARTIFACT,
    CLUSTER,
    CLUSTER_SETTINGS,
    IMAGE,
    INGRESS,
    LOADER,
    NAMESPACE,
    PACKAGE,
    PIN,
    REGION,
    SERVING,
    SHA,
    STACK,
    STACK_FILE,
    kubernetes_root,
)

KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def one(plan: Plan, token: str, name: str | None = None) -> PlanResource:
    found = [r for r in plan.of_type(token) if name is None or r.inputs["metadata"]["name"] == name]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def pod(plan: Plan) -> dict[str, Any]:
    return one(plan, tokens.K8S_DEPLOYMENT).inputs["spec"]["template"]["spec"]


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"]}


# --- the Plan of the k8s-dev stack --------------------------------------------------------------


def test_churn_is_served_on_kubernetes_and_not_by_sagemaker(kubernetes_plan: Plan) -> None:
    plan = kubernetes_plan
    assert not plan.of_type(tokens.SAGEMAKER_ENDPOINT) and not plan.of_type(tokens.SAGEMAKER_MODEL)
    assert plan.outputs["endpoints"] == {}
    assert plan.outputs["kubernetesDeployments"] == {"churn": f"{NAMESPACE}/churn"}
    counts = {t: len(plan.of_type(t)) for t in (
        tokens.K8S_NAMESPACE, tokens.K8S_SERVICE_ACCOUNT, tokens.K8S_DEPLOYMENT,
        tokens.K8S_SERVICE, tokens.K8S_HPA, tokens.K8S_PDB, tokens.K8S_NETWORK_POLICY,
        tokens.EKS_POD_IDENTITY_ASSOCIATION)}
    assert counts == {tokens.K8S_NAMESPACE: 1, tokens.K8S_SERVICE_ACCOUNT: 1,
                      tokens.K8S_DEPLOYMENT: 1, tokens.K8S_SERVICE: 1, tokens.K8S_HPA: 1,
                      tokens.K8S_PDB: 1, tokens.K8S_NETWORK_POLICY: 3,
                      tokens.EKS_POD_IDENTITY_ASSOCIATION: 1}
    components = {r.urn: r.type for r in plan.resources if not r.custom}
    for r in plan.resources:
        if tokens.is_kubernetes(r.type):
            assert components[r.parent or ""] in (tokens.KUBERNETES_SERVING,
                                                  tokens.KUBERNETES_MODEL), r.name


def test_every_object_goes_through_the_stacks_own_provider(kubernetes_plan: Plan) -> None:
    [provider] = [r for r in kubernetes_plan.resources if r.type == tokens.K8S_PROVIDER]
    objects = [r for r in kubernetes_plan.resources if tokens.is_kubernetes(r.type)]
    assert {r.provider for r in objects} == {f"{provider.urn}::{provider.name}-id"}
    assert provider.inputs["clusterIdentifier"] == CLUSTER
    assert provider.inputs["namespace"] == NAMESPACE
    kubeconfig = json.loads(provider.inputs["kubeconfig"])  # built from DescribeCluster
    (cluster,) = kubeconfig["clusters"]
    assert cluster["cluster"]["server"].endswith(f".gr7.{REGION}.eks.amazonaws.com")
    assert cluster["cluster"]["certificate-authority-data"]
    (user,) = kubeconfig["users"]
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"] == ["eks", "get-token", "--cluster-name", CLUSTER,
                                            "--region", REGION, "--output", "json"]


def test_the_namespace_enforces_the_restricted_standard(kubernetes_plan: Plan) -> None:
    namespace = one(kubernetes_plan, tokens.K8S_NAMESPACE)
    labels = namespace.inputs["metadata"]["labels"]
    assert namespace.inputs["metadata"]["name"] == NAMESPACE
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    for r in kubernetes_plan.resources:
        if tokens.is_kubernetes(r.type) and r.type != tokens.K8S_NAMESPACE:
            assert r.inputs["metadata"]["namespace"] == NAMESPACE, r.name


def test_the_pod_is_hardened(kubernetes_plan: Plan) -> None:
    spec = pod(kubernetes_plan)
    assert spec["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001,
                                       "runAsGroup": 10001, "fsGroup": 10001,
                                       "seccompProfile": {"type": "RuntimeDefault"}}
    assert spec["automountServiceAccountToken"] is False
    assert spec["serviceAccountName"] == "churn"
    assert (spec["hostNetwork"], spec["hostPID"], spec["hostIPC"]) == (False, False, False)
    assert spec["enableServiceLinks"] is False
    containers = [*spec["initContainers"], *spec["containers"]]
    assert [c["name"] for c in containers] == ["model-loader", "model-server"]
    for c in containers:
        assert c["securityContext"] == {
            "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
            "allowPrivilegeEscalation": False, "privileged": False,
            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}, c["name"]
        assert c["resources"]["requests"] == c["resources"]["limits"], c["name"]
        assert set(c["resources"]["limits"]) == {"cpu", "memory"}
        assert "@sha256:" in c["image"] and c["imagePullPolicy"] == "Always"
    loader, server = containers
    assert (loader["image"], server["image"]) == (LOADER, IMAGE)
    assert server["resources"]["limits"] == {"cpu": "500m", "memory": "1Gi"}
    assert server["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    for probe, path in (("startupProbe", "/ping"), ("readinessProbe", "/ping"),
                        ("livenessProbe", "/ping")):
        assert server[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    assert server["startupProbe"]["failureThreshold"] * server["startupProbe"][
        "periodSeconds"] >= 300  # five minutes to load a model before liveness counts
    volumes = by_name(spec["volumes"])
    assert volumes == {"model": {"name": "model", "emptyDir": {"sizeLimit": "2Gi"}},
                       "scratch": {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}}
    assert by_name(server["volumeMounts"])["model"]["readOnly"] is True
    assert "readOnly" not in by_name(loader["volumeMounts"])["model"]
    assert by_name(server["volumeMounts"])["scratch"]["mountPath"] == "/tmp"
    zone, host = spec["topologySpreadConstraints"]
    assert (zone["topologyKey"], zone["maxSkew"], zone["whenUnsatisfiable"]) == (
        "topology.kubernetes.io/zone", 1, "ScheduleAnyway")  # dev tier; DoNotSchedule in prod
    assert host["topologyKey"] == "kubernetes.io/hostname"
    assert zone["labelSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "churn", "app.kubernetes.io/instance": f"mlops-{STACK}-churn"}


def test_the_deployment_rolls_out_without_losing_capacity(kubernetes_plan: Plan) -> None:
    deployment = one(kubernetes_plan, tokens.K8S_DEPLOYMENT)
    spec = deployment.inputs["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    assert "replicas" not in spec  # the autoscaler owns the count
    template = spec["template"]["metadata"]
    assert template["labels"]["app.kubernetes.io/version"] == "v3"
    assert template["annotations"] == {"mlops.platform/model-package": PACKAGE,
                                       "mlops.platform/artifact-sha256": SHA}
    sa = one(kubernetes_plan, tokens.K8S_SERVICE_ACCOUNT)
    association = one(kubernetes_plan, tokens.EKS_POD_IDENTITY_ASSOCIATION)
    assert sa.urn in deployment.dependencies and association.urn in deployment.dependencies


def test_the_loader_copies_the_pinned_artifact_and_the_server_gets_the_capture_target(
        kubernetes_plan: Plan) -> None:
    spec = pod(kubernetes_plan)
    loader, server = spec["initContainers"][0], spec["containers"][0]
    assert loader["command"] == ["/bin/sh", "-c", LOADER_SCRIPT]
    assert env(loader)["MODEL_S3_URI"] == ARTIFACT and env(loader)["MODEL_SHA256"] == SHA
    assert env(loader)["HOME"] == "/tmp"  # the CLI writes nowhere on the read-only root
    raw = next(b.inputs["bucket"] for b in kubernetes_plan.of_type(tokens.S3_BUCKET)
               if "raw-data" in b.inputs["bucket"])
    key = one(kubernetes_plan, tokens.KMS_KEY)
    values = env(server)
    assert values["CAPTURE_S3_URI"] == f"s3://{raw}/datacapture/churn"
    assert values["CAPTURE_KMS_KEY_ARN"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    assert (values["MODEL_VERSION"], values["MODEL_PACKAGE_ARN"]) == ("3", PACKAGE)
    assert values["MODEL_DIR"] == "/opt/ml/model" and values["PORT"] == "8080"
    assert key.urn in one(kubernetes_plan, tokens.K8S_DEPLOYMENT).dependencies


def test_service_autoscaler_and_disruption_budget(kubernetes_plan: Plan) -> None:
    service = one(kubernetes_plan, tokens.K8S_SERVICE).inputs["spec"]
    selector = {"app.kubernetes.io/name": "churn", "app.kubernetes.io/instance": f"mlops-{STACK}-churn"}
    assert service == {"type": "ClusterIP", "selector": selector, "ports": [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]}
    hpa = one(kubernetes_plan, tokens.K8S_HPA).inputs
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "churn"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert hpa["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]
    pdb = one(kubernetes_plan, tokens.K8S_PDB).inputs["spec"]
    assert pdb == {"maxUnavailable": 1, "selector": {"matchLabels": selector},
                   "unhealthyPodEvictionPolicy": "AlwaysAllow"}


def test_network_policies_deny_by_default_and_allow_only_what_serving_needs(
        kubernetes_plan: Plan) -> None:
    deny = one(kubernetes_plan, tokens.K8S_NETWORK_POLICY, "default-deny-all").inputs["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    egress = one(kubernetes_plan, tokens.K8S_NETWORK_POLICY, "allow-dns-https-egress").inputs["spec"]
    assert egress["policyTypes"] == ["Egress"] and "ingress" not in egress
    dns, https, agent = egress["egress"]
    assert dns["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert dns["to"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert https["ports"] == [{"port": 443, "protocol": "TCP"}]
    # EKS Pod Identity's agent listens on the node's link-local address, port 80.
    assert agent == {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}},
                            {"ipBlock": {"cidr": "fd00:ec2::23/128"}}],
                     "ports": [{"port": 80, "protocol": "TCP"}]}
    ingress = one(kubernetes_plan, tokens.K8S_NETWORK_POLICY, "churn-allow-ingress").inputs["spec"]
    assert ingress["policyTypes"] == ["Ingress"]
    (rule,) = ingress["ingress"]
    assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert rule["from"] == [{"namespaceSelector": {"matchExpressions": [{
        "key": "kubernetes.io/metadata.name", "operator": "In", "values": sorted(INGRESS)}]}}]


def test_pods_assume_a_least_privilege_role_through_pod_identity(kubernetes_plan: Plan) -> None:
    role = next(r for r in kubernetes_plan.of_type(tokens.IAM_ROLE)
                if r.inputs["name"] == f"mlops-{STACK}-churn-k8s-serving")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert trust["Condition"] == {"StringEquals": {
        "aws:RequestTag/eks-cluster-arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        "aws:RequestTag/kubernetes-namespace": NAMESPACE,
        "aws:RequestTag/kubernetes-service-account": "churn"}}
    policy = next(r for r in kubernetes_plan.of_type(tokens.IAM_ROLE_POLICY)
                  if role.urn in r.property_dependencies.get("role", []))
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    raw = next(b.inputs["bucket"] for b in kubernetes_plan.of_type(tokens.S3_BUCKET)
               if "raw-data" in b.inputs["bucket"])
    key = one(kubernetes_plan, tokens.KMS_KEY)
    assert statements["ReadPinnedArtifact"]["Action"] == "s3:GetObject"
    assert statements["ReadPinnedArtifact"]["Resource"] == "arn:aws:s3:::" + ARTIFACT[5:]
    assert statements["WriteCaptureRecords"] == {
        "Sid": "WriteCaptureRecords", "Effect": "Allow", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{raw}/datacapture/churn/*"}
    use = statements["UseKeyThroughS3"]
    assert use["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert use["Resource"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    assert key.urn in policy.dependencies
    assert use["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
    for statement in statements.values():
        for action in [statement["Action"]] if isinstance(statement["Action"], str) \
                else statement["Action"]:
            assert "*" not in action
    association = one(kubernetes_plan, tokens.EKS_POD_IDENTITY_ASSOCIATION).inputs
    assert {k: association[k] for k in ("clusterName", "namespace", "serviceAccount", "roleArn",
                                        "disableSessionTags")} == {
        "clusterName": CLUSTER, "namespace": NAMESPACE, "serviceAccount": "churn",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/mlops-{STACK}-churn-k8s-serving",
        "disableSessionTags": False}
    sa = one(kubernetes_plan, tokens.K8S_SERVICE_ACCOUNT).inputs
    assert sa["automountServiceAccountToken"] is False
    assert "annotations" not in sa["metadata"]  # no IRSA annotation with Pod Identity


@pytest.mark.parametrize("tier", ["dev", "prod"])
def test_the_policy_pack_finds_nothing_to_fault_in_kubernetes_serving(
        kubernetes_plan: Plan, tier: str) -> None:
    report = check_plan(ROOT, STACK, tier, kubernetes_plan)
    objects = [r for r in kubernetes_plan.resources if tokens.is_kubernetes(r.type)]
    aws_side = [r for r in kubernetes_plan.custom_resources()
                if r.type in (tokens.IAM_ROLE, tokens.IAM_ROLE_POLICY,
                              tokens.EKS_POD_IDENTITY_ASSOCIATION)
                and r.name.startswith("kubernetes-serving-")]
    assert len(objects) == 9 and len(aws_side) == 3
    ours = {r.urn for r in [*objects, *aws_side]}
    # Not one violation, and nothing the rules could not evaluate.
    assert [(r.rule.id, r.name, r.message) for r in report.results if r.urn in ours] == []
    assert not [r for r in report.results if r.rule.area == "kubernetes"]


# --- the component alone: provider and AWS-access variants ---------------------------------------


@pytest.fixture(scope="module")
def churn_on_kubernetes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ServingPlan]:
    root = kubernetes_root(tmp_path_factory.mktemp("k8s-component"))
    settings, _ = load_settings(root, STACK)
    plan = serving_for(load_project(root, "churn"), settings, naming())
    assert isinstance(plan, ServingPlan) and plan.kubernetes is not None
    return root, plan


def naming(stack: str = STACK) -> Naming:
    return Naming(prefix="mlops", stack=stack, account_id=ACCOUNT, region=REGION)


def component_plan(plan: ServingPlan, cluster: KubernetesCluster,
                   config: dict[str, Any] | None = None) -> Plan:
    class Built:
        outputs: dict[str, Any] = {}

    def program() -> Built:
        KubernetesServing("ks", KubernetesServingArgs(
            naming=naming(), cluster=cluster, plans=[plan], key_arn=KEY_ARN,
            capture_bucket="raw-bucket"))
        return Built()

    return record(program, stack=STACK, config=config or {},
                  fakes=FakeCloud(Cloud(account_id=ACCOUNT, region=REGION)))


def provider_of(plan: Plan) -> PlanResource:
    [provider] = [r for r in plan.resources if r.type == tokens.K8S_PROVIDER]
    return provider


def test_a_kubeconfig_file_and_context_are_passed_as_given(churn_on_kubernetes) -> None:
    _, plan = churn_on_kubernetes
    cluster = KubernetesCluster(eks_cluster_name=CLUSTER, kubeconfig=Kubeconfig(
        path="/etc/mlops/kubeconfig", context="team-a"))
    provider = provider_of(component_plan(plan, cluster))
    assert provider.inputs == {"kubeconfig": "/etc/mlops/kubeconfig", "context": "team-a",
                               "clusterIdentifier": CLUSTER, "namespace": NAMESPACE}


def test_a_kubeconfig_secret_comes_from_the_stack_config(churn_on_kubernetes) -> None:
    _, plan = churn_on_kubernetes
    cluster = KubernetesCluster(eks_cluster_name=CLUSTER, kubeconfig=Kubeconfig(
        secret_config_key="team-a:kubeconfig"))
    built = component_plan(plan, cluster, {"team-a:kubeconfig": "apiVersion: v1\nkind: Config\n"})
    assert provider_of(built).inputs["kubeconfig"] == "apiVersion: v1\nkind: Config\n"


def test_irsa_trusts_the_clusters_oidc_issuer_for_one_service_account(churn_on_kubernetes) -> None:
    _, plan = churn_on_kubernetes
    built = component_plan(plan, KubernetesCluster(eks_cluster_name=CLUSTER, aws_access="irsa"))
    assert not built.of_type(tokens.EKS_POD_IDENTITY_ASSOCIATION)
    [role] = built.of_type(tokens.IAM_ROLE)
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    issuer = trust["Principal"]["Federated"].split("oidc-provider/", 1)[1]
    assert issuer.startswith(f"oidc.eks.{REGION}.amazonaws.com/id/")  # from DescribeCluster
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {"StringEquals": {
        f"{issuer}:sub": f"system:serviceaccount:{NAMESPACE}:churn",
        f"{issuer}:aud": "sts.amazonaws.com"}}
    sa = one(built, tokens.K8S_SERVICE_ACCOUNT).inputs["metadata"]
    assert sa["annotations"] == {"eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/"
                                                               f"mlops-{STACK}-churn-k8s-serving"}
    egress = one(built, tokens.K8S_NETWORK_POLICY, "allow-dns-https-egress").inputs["spec"]
    assert len(egress["egress"]) == 2  # DNS and HTTPS (STS); no Pod Identity agent


def test_irsa_on_a_cluster_named_only_by_its_issuer(churn_on_kubernetes) -> None:
    _, plan = churn_on_kubernetes
    cluster = KubernetesCluster(kubeconfig=Kubeconfig(path="/k"), aws_access="irsa",
                                oidc_issuer="https://oidc.example.com/clusters/a")
    [role] = component_plan(plan, cluster).of_type(tokens.IAM_ROLE)
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"]["Federated"] == (f"arn:aws:iam::{ACCOUNT}:oidc-provider/"
                                               "oidc.example.com/clusters/a")


def test_without_ingress_namespaces_nothing_may_call_the_model(churn_on_kubernetes) -> None:
    _, plan = churn_on_kubernetes
    built = component_plan(plan, KubernetesCluster(eks_cluster_name=CLUSTER))
    names = {r.inputs["metadata"]["name"] for r in built.of_type(tokens.K8S_NETWORK_POLICY)}
    assert names == {"default-deny-all", "allow-dns-https-egress"}


def test_fixed_replicas_without_an_autoscaler(tmp_path: Path) -> None:
    root = kubernetes_root(tmp_path)
    path = root / "pipelines" / "churn" / "project.yaml"
    path.write_text(path.read_text().replace(
        f"    autoscaling:\n      {STACK}: {{min: 2, max: 6, targetCpuUtilization: 70}}\n", ""))
    settings, _ = load_settings(root, STACK)
    plan = serving_for(load_project(root, "churn"), settings, naming())
    assert isinstance(plan, ServingPlan)
    built = component_plan(plan, KubernetesCluster(eks_cluster_name=CLUSTER))
    assert not built.of_type(tokens.K8S_HPA)
    assert one(built, tokens.K8S_DEPLOYMENT).inputs["spec"]["replicas"] == 2  # replicas: {dev: 2}


def test_requests_per_second_scales_on_a_pods_metric(tmp_path: Path) -> None:
    root = kubernetes_root(tmp_path)
    path = root / "pipelines" / "churn" / "project.yaml"
    path.write_text(path.read_text().replace("targetCpuUtilization: 70",
                                             "targetRequestsPerSecond: 40"))
    settings, _ = load_settings(root, STACK)
    plan = serving_for(load_project(root, "churn"), settings, naming())
    assert isinstance(plan, ServingPlan)
    hpa = one(component_plan(plan, KubernetesCluster(eks_cluster_name=CLUSTER)), tokens.K8S_HPA)
    assert hpa.inputs["spec"]["metrics"] == [{"type": "Pods", "pods": {
        "metric": {"name": "http_requests_per_second"},
        "target": {"type": "AverageValue", "averageValue": "40"}}}]


# --- the loader script, run as the init container would ---------------------------------------


def _fake_aws(bin_dir: Path, artifact: Path) -> None:
    """An `aws` on PATH whose `s3 cp SRC DEST` copies ``artifact`` to DEST."""
    script = bin_dir / "aws"
    script.write_text(f'#!/bin/sh\n[ "$1 $2" = "s3 cp" ] || exit 9\ncp "{artifact}" "$5"\n')
    script.chmod(0o755)


def _run_loader(tmp_path: Path, artifact: Path, sha: str, uri: str) -> subprocess.CompletedProcess:
    bin_dir, model_dir = tmp_path / "bin", tmp_path / "model"
    bin_dir.mkdir(exist_ok=True)
    model_dir.mkdir(exist_ok=True)
    _fake_aws(bin_dir, artifact)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "MODEL_DIR": str(model_dir),
           "MODEL_S3_URI": uri, "MODEL_SHA256": sha}
    return subprocess.run(["/bin/sh", "-c", LOADER_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.skipif(not all(shutil.which(t) for t in ("sha256sum", "tar")),
                    reason="needs sha256sum and tar")
def test_the_loader_unpacks_only_an_artifact_with_the_pinned_checksum(tmp_path: Path) -> None:
    import hashlib

    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"booster"
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    ok = _run_loader(tmp_path, archive, sha, "s3://b/models/churn/x/model.tar.gz")
    assert ok.returncode == 0, ok.stderr
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["xgboost-model"]
    assert (tmp_path / "model" / "xgboost-model").read_bytes() == b"booster"

    shutil.rmtree(tmp_path / "model")
    altered = _run_loader(tmp_path, archive, "0" * 64, "s3://b/models/churn/x/model.tar.gz")
    assert altered.returncode != 0 and "FAILED" in altered.stdout + altered.stderr
    assert not (tmp_path / "model" / "xgboost-model").exists()


# --- what a stack or project gets wrong -------------------------------------------------------


def _preview(monkeypatch, capsys, root: Path) -> tuple[int, str]:
    code, out, err = run_cli(monkeypatch, capsys, root, "preview", "--stack", STACK)
    assert out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return code, lines[0]


def test_kubernetes_serving_without_a_cluster_is_a_settings_error(tmp_path, monkeypatch,
                                                                   capsys) -> None:
    root = kubernetes_root(tmp_path, STACK_FILE.replace(CLUSTER_SETTINGS, ""))
    code, line = _preview(monkeypatch, capsys, root)
    assert code == 2
    assert line.startswith(f"error: stacks/Pulumi.{STACK}.yaml: mlops:kubernetes: churn serves "
                           "on Kubernetes in this stack (pipelines/churn/project.yaml: "
                           f"serving.target.{STACK}) but the stack names no cluster"), line


def test_a_cluster_setting_naming_nothing_is_a_settings_error(tmp_path, monkeypatch,
                                                              capsys) -> None:
    settings = "  mlops:kubernetes:\n    namespace: x\n"
    root = kubernetes_root(tmp_path, STACK_FILE.replace(CLUSTER_SETTINGS, settings))
    code, line = _preview(monkeypatch, capsys, root)
    assert (code, line) == (2, f"error: stacks/Pulumi.{STACK}.yaml: mlops:kubernetes: names no "
                               "cluster: set eksClusterName (an EKS cluster) or kubeconfig (path "
                               "or secretConfigKey)")


def test_a_pin_without_its_artifact_is_a_settings_error(tmp_path, monkeypatch, capsys) -> None:
    pin = PIN.split("      artifactUri:")[0]
    root = kubernetes_root(tmp_path, STACK_FILE.replace(PIN, pin))
    code, line = _preview(monkeypatch, capsys, root)
    assert code == 2
    assert line.startswith(f"error: stacks/Pulumi.{STACK}.yaml: mlops:models.churn.artifactUri: "
                           "Kubernetes serving loads the pinned artifact itself"), line


def test_an_image_by_tag_names_the_key(tmp_path, monkeypatch, capsys) -> None:
    root = kubernetes_root(tmp_path)
    path = root / "pipelines" / "churn" / "project.yaml"
    path.write_text(path.read_text().replace(IMAGE, "churn-server:1.4"))
    code, line = _preview(monkeypatch, capsys, root)
    assert code == 2
    assert ": serving.kubernetes.image: must be an image pinned by digest: " in line, line
    assert line.startswith("error: pipelines/churn/project.yaml:"), line


def test_prod_serves_from_two_replicas_at_least(tmp_path: Path) -> None:
    root = kubernetes_root(tmp_path)
    path = root / "pipelines" / "churn" / "project.yaml"
    path.write_text(path.read_text().replace(SERVING, SERVING.replace(
        f"target: {{{STACK}: kubernetes}}", "target: {prod: kubernetes}").replace(
        "replicas: {dev: 2}", "replicas: {prod: 1}")))
    prod = root / "stacks" / "Pulumi.prod.yaml"
    prod.write_text(prod.read_text() + CLUSTER_SETTINGS + PIN)
    settings, _ = load_settings(root, "prod")
    with pytest.raises(ProjectError, match=r"serving\.kubernetes\.replicas\.prod: prod serves "
                                           r"from at least 2 replicas"):
        serving_for(load_project(root, "churn"), settings, naming("prod"))
    path.write_text(path.read_text().replace(
        "replicas: {prod: 1}", "replicas: {prod: 3}"))
    plan = serving_for(load_project(root, "churn"), settings, naming("prod"))
    assert isinstance(plan, ServingPlan) and plan.kubernetes is not None
    assert plan.kubernetes.zone_spread == "DoNotSchedule"
    assert plan.kubernetes.min_replicas == 3
