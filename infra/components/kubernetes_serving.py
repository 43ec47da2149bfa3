"""Serving on the stack's Kubernetes cluster: the pinned version behind a hardened Deployment.

For the environment (:class:`KubernetesServing`): its own ``k8s.Provider`` (the stack's
kubeconfig file or secret, or a kubeconfig built from the EKS cluster; never the ambient
one), a namespace labelled for the ``restricted`` Pod Security Standard, and NetworkPolicies
that deny everything but DNS and HTTPS egress (plus the node's EKS Pod Identity agent).

Per served project (:class:`KubernetesModel`): a ServiceAccount; an IAM role the pods assume
through EKS Pod Identity (or IRSA) that may read the pinned artifact, decrypt with the
environment key and write capture records, nothing else; a Deployment whose init container
copies the pinned artifact from S3 and checks its SHA-256 before the server starts (non-root,
read-only root filesystem, no privilege escalation, ALL capabilities dropped, RuntimeDefault
seccomp, requests = limits, startup/readiness/liveness probes, spread across zones, rolled out
with ``maxUnavailable: 0``); a ClusterIP Service; a HorizontalPodAutoscaler where the project
asks for one; a PodDisruptionBudget; and a NetworkPolicy letting the stack's ingress namespaces
reach the serving port.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from common import tokens
from infra.components.serving import capture_uri
from infra.config import KubernetesCluster
from infra.naming import Naming
from infra.projects.serving import KubernetesPlan, ServingPlan

MODEL_DIR = "/opt/ml/model"  # where SageMaker-style servers read the model
SCRATCH_DIR = "/tmp"
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
# The EKS Pod Identity agent answers on the node's link-local addresses, port 80.
POD_IDENTITY_AGENT = ("169.254.170.23/32", "fd00:ec2::23/128")
LOADER_RESOURCES = {"cpu": "250m", "memory": "256Mi"}
PART_OF = "mlops-platform"
PACKAGE_ANNOTATION = "mlops.platform/model-package"  # the pod template's model package
VERSION_LABEL = "app.kubernetes.io/version"  # the pod template's model version (v<N>)
# Runs in the loader image (/bin/sh, the AWS CLI v2, sha256sum, tar): copy the pinned artifact
# into the model volume, refuse it unless it has the pinned SHA-256, unpack a tarball.
LOADER_SCRIPT = """\
set -eu
archive="$MODEL_DIR/.artifact"
aws s3 cp --only-show-errors "$MODEL_S3_URI" "$archive"
echo "$MODEL_SHA256  $archive" | sha256sum -c -
case "$MODEL_S3_URI" in
  *.tar.gz|*.tgz) tar -xzf "$archive" -C "$MODEL_DIR" && rm -f "$archive" ;;
  *) mv "$archive" "$MODEL_DIR/${MODEL_S3_URI##*/}" ;;
esac
"""


@dataclass(frozen=True)
class KubernetesServingArgs:
    naming: Naming
    cluster: KubernetesCluster
    plans: list[ServingPlan]  # those with target kubernetes
    key_arn: pulumi.Input[str]
    capture_bucket: pulumi.Input[str]  # the raw-data bucket
    permissions_boundary_arn: str | None = None
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # project -> tags
    depends_on: list[pulumi.Resource] = field(default_factory=list)


def _k8s(plan: ServingPlan) -> KubernetesPlan:
    if plan.kubernetes is None:
        raise ValueError(f"{plan.project}: not served on Kubernetes")
    return plan.kubernetes


def selector_labels(plan: ServingPlan) -> dict[str, str]:
    """The labels that pick one project's pods (stable across versions: selectors are
    immutable)."""
    return {"app.kubernetes.io/name": _k8s(plan).name,
            "app.kubernetes.io/instance": plan.endpoint_name}


def labels(plan: ServingPlan) -> dict[str, str]:
    return {**selector_labels(plan), "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/managed-by": "pulumi",
            VERSION_LABEL: f"v{plan.pinned.version}"}


def namespace_labels(name: str) -> dict[str, str]:
    """The restricted Pod Security Standard, enforced, audited and warned about."""
    return {"kubernetes.io/metadata.name": name, "app.kubernetes.io/part-of": PART_OF,
            **{f"pod-security.kubernetes.io/{mode}": "restricted"
               for mode in ("enforce", "audit", "warn")},
            "pod-security.kubernetes.io/enforce-version": "latest"}


def eks_cluster_arn(naming: Naming, cluster: str) -> str:
    """The cluster's ARN: Pod Identity associations live in the stack's account and region."""
    return f"arn:{naming.partition}:eks:{naming.region}:{naming.account_id}:cluster/{cluster}"


def pod_identity_trust(naming: Naming, cluster: str, namespace: str, service_account: str
                       ) -> dict[str, Any]:
    """EKS Pod Identity assumes the role (with session tags) only for this cluster, namespace
    and service account: the tags it sets are the documented way to scope the trust."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "EksPodIdentity", "Effect": "Allow",
        "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/eks-cluster-arn": eks_cluster_arn(naming, cluster),
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": service_account,
        }},
    }]}


def irsa_trust(naming: Naming, issuer: str, namespace: str, service_account: str
               ) -> dict[str, Any]:
    """IRSA: the cluster's OIDC provider, for this namespace's service account only."""
    host = issuer.removeprefix("https://")
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "IrsaWebIdentity", "Effect": "Allow",
        "Principal": {"Federated": f"arn:{naming.partition}:iam::{naming.account_id}:"
                                   f"oidc-provider/{host}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
            f"{host}:aud": "sts.amazonaws.com"}},
    }]}


def access_policy(naming: Naming, plan: ServingPlan, key_arn: str, capture_bucket: str
                  ) -> dict[str, Any]:
    """Least privilege: read the pinned artifact, decrypt it, write capture records."""
    k = _k8s(plan)
    artifact = k.artifact_uri.removeprefix("s3://")
    capture = capture_uri(capture_bucket, plan.project).removeprefix("s3://")
    via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{naming.region}.amazonaws.com"}}
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadPinnedArtifact", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": f"arn:{naming.partition}:s3:::{artifact}"},
        {"Sid": "WriteCaptureRecords", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": f"arn:{naming.partition}:s3:::{capture}/*"},
        {"Sid": "UseKeyThroughS3", "Effect": "Allow",
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arn,
         "Condition": via_s3},
    ]}


def eks_kubeconfig(name: str, endpoint: str, certificate_authority: str, region: str
                   ) -> dict[str, Any]:
    """A kubeconfig for an EKS cluster that authenticates with ``aws eks get-token``."""
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": {
            "server": endpoint, "certificate-authority-data": certificate_authority}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "users": [{"name": name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", name, "--region", region,
                     "--output", "json"]}}}],
    }


def cluster_provider(name: str, cluster: KubernetesCluster, naming: Naming, namespace: str,
                     opts: pulumi.ResourceOptions) -> k8s.Provider:
    """The stack's own provider: its kubeconfig file or secret, else one built from the EKS
    cluster. ``cluster_identifier`` keeps a credentials change from replacing every object."""
    identity = cluster.eks_cluster_name
    kubeconfig: pulumi.Input[str]
    context = None
    if cluster.kubeconfig is not None and cluster.kubeconfig.path is not None:
        kubeconfig, context = cluster.kubeconfig.path, cluster.kubeconfig.context
        identity = identity or context or cluster.kubeconfig.path
    elif cluster.kubeconfig is not None and cluster.kubeconfig.secret_config_key is not None:
        config_ns, key = cluster.kubeconfig.secret_config_key.split(":", 1)
        kubeconfig = pulumi.Config(config_ns).require_secret(key)
        context = cluster.kubeconfig.context
        identity = identity or context or cluster.kubeconfig.secret_config_key
    else:
        assert cluster.eks_cluster_name is not None  # settings require a cluster
        found = aws.eks.get_cluster_output(name=cluster.eks_cluster_name)
        kubeconfig = pulumi.Output.json_dumps(found.apply(lambda c: eks_kubeconfig(
            c.name, c.endpoint, c.certificate_authorities[0].data, naming.region)))
    return k8s.Provider(name, kubeconfig=kubeconfig, context=context,
                        cluster_identifier=identity, namespace=namespace, opts=opts)


def _meta(name: str, namespace: pulumi.Input[str], plan: ServingPlan | None = None,
          annotations: dict[str, pulumi.Input[str]] | None = None) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(
        name=name, namespace=namespace,
        labels=labels(plan) if plan else {"app.kubernetes.io/part-of": PART_OF,
                                          "app.kubernetes.io/managed-by": "pulumi"},
        annotations=annotations)


def container_security(run_as: int) -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        run_as_non_root=True, run_as_user=run_as, run_as_group=run_as,
        allow_privilege_escalation=False, privileged=False, read_only_root_filesystem=True,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"))


def _resources(cpu: str, memory: str) -> k8s.core.v1.ResourceRequirementsArgs:
    """Requests equal limits: the pod gets the Guaranteed QoS class."""
    both = {"cpu": cpu, "memory": memory}
    return k8s.core.v1.ResourceRequirementsArgs(requests=both, limits=dict(both))


def _probe(path: str, *, period: int, failures: int) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port="http"),
        period_seconds=period, timeout_seconds=2, failure_threshold=failures)


def _env(values: dict[str, pulumi.Input[str]]) -> list[k8s.core.v1.EnvVarArgs]:
    return [k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in values.items()]


def pod_spec(plan: ServingPlan, naming: Naming, key_arn: pulumi.Input[str],
             capture_bucket: pulumi.Input[str]) -> k8s.core.v1.PodSpecArgs:
    """The hardened pod: the loader fills the model volume, then the server serves it."""
    k = _k8s(plan)
    uid = k.run_as_user
    volumes = [
        k8s.core.v1.VolumeArgs(name="model", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
            size_limit=k.model_volume_size)),
        k8s.core.v1.VolumeArgs(name="scratch", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
            size_limit=k.scratch_size)),
    ]
    scratch = k8s.core.v1.VolumeMountArgs(name="scratch", mount_path=SCRATCH_DIR)
    common_env: dict[str, pulumi.Input[str]] = {
        "AWS_REGION": naming.region, "AWS_STS_REGIONAL_ENDPOINTS": "regional",
        "HOME": SCRATCH_DIR, "TMPDIR": SCRATCH_DIR, "MODEL_DIR": MODEL_DIR}
    loader = k8s.core.v1.ContainerArgs(
        name="model-loader", image=k.loader_image, image_pull_policy="Always",
        command=["/bin/sh", "-c", LOADER_SCRIPT],
        env=_env({**common_env, "MODEL_S3_URI": k.artifact_uri,
                  "MODEL_SHA256": k.artifact_sha256}),
        resources=_resources(**LOADER_RESOURCES),
        security_context=container_security(uid),
        volume_mounts=[k8s.core.v1.VolumeMountArgs(name="model", mount_path=MODEL_DIR), scratch],
    )
    capture = pulumi.Output.from_input(capture_bucket).apply(
        lambda bucket: capture_uri(bucket, plan.project))
    server = k8s.core.v1.ContainerArgs(
        name="model-server", image=k.image, image_pull_policy="Always",
        ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=k.port,
                                             protocol="TCP")],
        env=_env({**common_env, "PORT": str(k.port), "MODEL_VERSION": str(plan.pinned.version),
                  "MODEL_PACKAGE_ARN": plan.pinned.package_arn,
                  "CAPTURE_S3_URI": capture, "CAPTURE_PERCENT": str(plan.capture_percent),
                  "CAPTURE_KMS_KEY_ARN": key_arn, "ENDPOINT_NAME": plan.endpoint_name,
                  "VARIANT_NAME": plan.variant_name}),
        resources=_resources(k.resources.cpu, k.resources.memory),
        security_context=container_security(uid),
        startup_probe=_probe(k.health.startup, period=5, failures=60),
        readiness_probe=_probe(k.health.readiness, period=10, failures=3),
        liveness_probe=_probe(k.health.liveness, period=20, failures=3),
        volume_mounts=[k8s.core.v1.VolumeMountArgs(name="model", mount_path=MODEL_DIR,
                                                   read_only=True), scratch],
    )
    spread = [k8s.core.v1.TopologySpreadConstraintArgs(
        max_skew=1, topology_key=key, when_unsatisfiable=when,
        label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector_labels(plan)))
        for key, when in (("topology.kubernetes.io/zone", k.zone_spread),
                          ("kubernetes.io/hostname", "ScheduleAnyway"))]
    return k8s.core.v1.PodSpecArgs(
        service_account_name=k.name,
        # Pod Identity and IRSA inject their own projected token; the API token is not needed.
        automount_service_account_token=False,
        enable_service_links=False, host_network=False, host_pid=False, host_ipc=False,
        security_context=k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True, run_as_user=uid, run_as_group=uid, fs_group=uid,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")),
        init_containers=[loader], containers=[server], volumes=volumes,
        topology_spread_constraints=spread, termination_grace_period_seconds=30,
        node_selector={"kubernetes.io/os": "linux"},
    )


class KubernetesModel(pulumi.ComponentResource):
    """One project's service account, AWS role, Deployment, Service, HPA, PDB and ingress
    NetworkPolicy."""

    service_account: k8s.core.v1.ServiceAccount
    role: aws.iam.Role
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    autoscaler: k8s.autoscaling.v2.HorizontalPodAutoscaler | None
    disruption_budget: k8s.policy.v1.PodDisruptionBudget
    ingress_policy: k8s.networking.v1.NetworkPolicy | None
    association: aws.eks.PodIdentityAssociation | None

    def __init__(self, name: str, plan: ServingPlan, args: KubernetesServingArgs,
                 namespace: pulumi.Input[str], provider: k8s.Provider,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.KUBERNETES_MODEL, name, None, opts)
        k = _k8s(plan)
        naming, cluster = args.naming, args.cluster
        tags = args.tags.get(plan.project, {})
        aws_child = pulumi.ResourceOptions(parent=self, depends_on=args.depends_on)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=provider)

        self.role = aws.iam.Role(
            f"{name}-role", name=f"{plan.endpoint_name}-k8s-serving",
            description=f"{k.namespace}/{k.name} on Kubernetes: reads v{plan.pinned.version}'s "
                        "artifact, writes capture records",
            assume_role_policy=self._trust(plan, naming, cluster),
            permissions_boundary=args.permissions_boundary_arn,
            tags=tags, opts=aws_child)
        aws.iam.RolePolicy(
            f"{name}-access", role=self.role.id, name="serving-access",
            policy=pulumi.Output.all(args.key_arn, args.capture_bucket).apply(
                lambda v: json.dumps(access_policy(naming, plan, v[0], v[1]))),
            opts=pulumi.ResourceOptions(parent=self))
        annotations: dict[str, pulumi.Input[str]] | None = None
        if cluster.aws_access == "irsa":
            annotations = {"eks.amazonaws.com/role-arn": self.role.arn}
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=_meta(k.name, namespace, plan, annotations),
            automount_service_account_token=False, opts=on_cluster)
        self.association = None
        if cluster.aws_access == "pod-identity":
            assert cluster.eks_cluster_name is not None  # settings require it
            self.association = aws.eks.PodIdentityAssociation(
                f"{name}-pod-identity", cluster_name=cluster.eks_cluster_name,
                namespace=k.namespace, service_account=k.name, role_arn=self.role.arn,
                disable_session_tags=False,  # the trust policy is scoped by the session tags
                tags=tags, opts=pulumi.ResourceOptions(parent=self,
                                                       depends_on=[self.service_account]))
        ready = [self.service_account, *([self.association] if self.association else [])]
        self.deployment = k8s.apps.v1.Deployment(
            name, metadata=_meta(k.name, namespace, plan),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # With an autoscaler the HPA owns the replica count; a value here would reset it.
                replicas=None if k.autoscaling else k.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector_labels(plan)),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate", rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                        max_unavailable=0, max_surge=1)),
                min_ready_seconds=10, progress_deadline_seconds=600, revision_history_limit=5,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=labels(plan),
                        annotations={PACKAGE_ANNOTATION: plan.pinned.package_arn,
                                     "mlops.platform/artifact-sha256": k.artifact_sha256}),
                    spec=pod_spec(plan, naming, args.key_arn, args.capture_bucket))),
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=ready))
        self.service = k8s.core.v1.Service(
            f"{name}-service", metadata=_meta(k.name, namespace, plan),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP", selector=selector_labels(plan),
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=k.port, target_port="http",
                                                   protocol="TCP")]),
            opts=on_cluster)
        self.autoscaler = self._autoscaler(name, plan, namespace, on_cluster)
        self.disruption_budget = k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb", metadata=_meta(k.name, namespace, plan),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector_labels(plan)),
                unhealthy_pod_eviction_policy="AlwaysAllow"),
            opts=on_cluster)
        self.ingress_policy = None
        if cluster.ingress_namespaces:
            self.ingress_policy = k8s.networking.v1.NetworkPolicy(
                f"{name}-ingress", metadata=_meta(f"{k.name}-allow-ingress", namespace, plan),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector_labels(plan)),
                    policy_types=["Ingress"],
                    ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[k8s.networking.v1.NetworkPolicyPeerArgs(
                            namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_expressions=[
                                k8s.meta.v1.LabelSelectorRequirementArgs(
                                    key="kubernetes.io/metadata.name", operator="In",
                                    values=sorted(cluster.ingress_namespaces))]))],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=k.port,
                                                                       protocol="TCP")])]),
                opts=on_cluster)
        self.register_outputs({"deployment": self.deployment.metadata.name,
                               "service": self.service.metadata.name,
                               "roleArn": self.role.arn})

    @staticmethod
    def _trust(plan: ServingPlan, naming: Naming, cluster: KubernetesCluster
               ) -> pulumi.Input[str]:
        k = _k8s(plan)
        if cluster.aws_access == "pod-identity":
            assert cluster.eks_cluster_name is not None
            return pulumi.Output.json_dumps(
                pod_identity_trust(naming, cluster.eks_cluster_name, k.namespace, k.name))
        issuer: pulumi.Input[str]
        if cluster.oidc_issuer is not None:
            issuer = cluster.oidc_issuer
        else:
            assert cluster.eks_cluster_name is not None  # settings require one of them
            issuer = aws.eks.get_cluster_output(name=cluster.eks_cluster_name).identities.apply(
                lambda ids: ids[0].oidcs[0].issuer)
        return pulumi.Output.from_input(issuer).apply(
            lambda i: json.dumps(irsa_trust(naming, i, k.namespace, k.name)))

    def _autoscaler(self, name: str, plan: ServingPlan, namespace: pulumi.Input[str],
                    opts: pulumi.ResourceOptions
                    ) -> k8s.autoscaling.v2.HorizontalPodAutoscaler | None:
        k = _k8s(plan)
        scaling = k.autoscaling
        if scaling is None:
            return None
        v2 = k8s.autoscaling.v2
        if scaling.target_cpu_utilization is not None:
            metric = v2.MetricSpecArgs(type="Resource", resource=v2.ResourceMetricSourceArgs(
                name="cpu", target=v2.MetricTargetArgs(
                    type="Utilization", average_utilization=scaling.target_cpu_utilization)))
        else:
            metric = v2.MetricSpecArgs(type="Pods", pods=v2.PodsMetricSourceArgs(
                metric=v2.MetricIdentifierArgs(name=scaling.requests_per_second_metric),
                target=v2.MetricTargetArgs(type="AverageValue",
                                           average_value=str(scaling.target_requests_per_second))))
        return v2.HorizontalPodAutoscaler(
            f"{name}-hpa", metadata=_meta(k.name, namespace, plan),
            spec=v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind="Deployment", name=k.name),
                min_replicas=scaling.min, max_replicas=scaling.max, metrics=[metric],
                behavior=v2.HorizontalPodAutoscalerBehaviorArgs(scale_down=v2.HPAScalingRulesArgs(
                    stabilization_window_seconds=scaling.scale_down_stabilization_seconds))),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                depends_on=[self.deployment])))


class KubernetesServing(pulumi.ComponentResource):
    """The stack's provider, serving namespace and namespace-wide NetworkPolicies, and a
    :class:`KubernetesModel` per project served on Kubernetes."""

    provider: k8s.Provider | None
    namespace: k8s.core.v1.Namespace | None
    models: dict[str, KubernetesModel]

    def __init__(self, name: str, args: KubernetesServingArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.KUBERNETES_SERVING, name, None, opts)
        self.models = {}
        self.provider = self.namespace = None
        if not args.plans:  # no cluster is touched by a stack that serves nothing on one
            self.register_outputs({})
            return
        namespace = args.cluster.namespace_for(args.naming.stem)
        self.provider = cluster_provider(f"{name}-provider", args.cluster, args.naming, namespace,
                                         pulumi.ResourceOptions(parent=self))
        on_cluster = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=k8s.meta.v1.ObjectMetaArgs(
                name=namespace, labels=namespace_labels(namespace)),
            opts=on_cluster)
        ns = self.namespace.metadata.name
        in_namespace = pulumi.ResourceOptions(parent=self, provider=self.provider,
                                              depends_on=[self.namespace])
        self._network_policies(name, ns, args.cluster, in_namespace)
        self.models = {
            plan.project: KubernetesModel(f"{name}-{plan.project}", plan, args, ns, self.provider,
                                          opts=in_namespace)
            for plan in args.plans}
        self.register_outputs({"namespace": ns,
                               **{p: m.deployment.metadata.name for p, m in self.models.items()}})

    @staticmethod
    def _network_policies(name: str, namespace: pulumi.Input[str], cluster: KubernetesCluster,
                          opts: pulumi.ResourceOptions) -> None:
        """Deny every ingress and egress; then allow DNS to kube-dns, HTTPS (S3, STS) and, with
        Pod Identity, the node's agent."""
        net, meta = k8s.networking.v1, k8s.meta.v1
        everything = meta.LabelSelectorArgs()
        net.NetworkPolicy(
            f"{name}-default-deny", metadata=_meta("default-deny-all", namespace),
            spec=net.NetworkPolicySpecArgs(pod_selector=everything,
                                           policy_types=["Ingress", "Egress"]),
            opts=opts)
        dns = net.NetworkPolicyEgressRuleArgs(
            to=[net.NetworkPolicyPeerArgs(
                namespace_selector=meta.LabelSelectorArgs(
                    match_labels={"kubernetes.io/metadata.name": "kube-system"}),
                pod_selector=meta.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}))],
            ports=[net.NetworkPolicyPortArgs(port=53, protocol=p) for p in ("UDP", "TCP")])
        https = net.NetworkPolicyEgressRuleArgs(
            to=[net.NetworkPolicyPeerArgs(ip_block=net.IPBlockArgs(cidr=c))
                for c in ("0.0.0.0/0", "::/0")],
            ports=[net.NetworkPolicyPortArgs(port=443, protocol="TCP")])
        rules = [dns, https]
        if cluster.aws_access == "pod-identity":
            rules.append(net.NetworkPolicyEgressRuleArgs(
                to=[net.NetworkPolicyPeerArgs(ip_block=net.IPBlockArgs(cidr=c))
                    for c in POD_IDENTITY_AGENT],
                ports=[net.NetworkPolicyPortArgs(port=80, protocol="TCP")]))
        net.NetworkPolicy(
            f"{name}-allow-egress", metadata=_meta("allow-dns-https-egress", namespace),
            spec=net.NetworkPolicySpecArgs(pod_selector=everything, policy_types=["Egress"],
                                           egress=rules),
            opts=opts)
