"""One environment of the platform, composed top to bottom."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi

from common import tokens
from infra.components.encryption import Encryption, EncryptionArgs
from infra.components.feature_store import FeatureStore, FeatureStoreArgs
from infra.components.iam import Iam, IamArgs
from infra.components.kubernetes_serving import KubernetesServing, KubernetesServingArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.pipelines import Pipelines, PipelinesArgs
from infra.components.registry import Registry, RegistryArgs
from infra.components.retraining import Retraining, RetrainingArgs
from infra.components.serving import Serving, ServingArgs
from infra.components.storage import LOGS, Storage, StorageArgs
from infra.config import Settings
from infra.naming import Naming
from infra.projects.monitoring import MonitoringPlan
from infra.projects.serving import NotServed, ServingPlan
from infra.projects.stack import ProjectPipeline


@dataclass(frozen=True)
class PlatformInputs:
    settings: Settings
    naming: Naming
    projects: list[ProjectPipeline] = field(default_factory=list)
    serving: list[ServingPlan] = field(default_factory=list)
    not_served: list[NotServed] = field(default_factory=list)
    monitoring: list[MonitoringPlan] = field(default_factory=list)
    drift_definitions: dict[str, Callable[[str], str]] = field(default_factory=dict)


class MlopsPlatform(pulumi.ComponentResource):
    """Everything one environment gets: key, buckets, role, registry, monitoring, and per ML
    project its feature groups, pipeline, schedule and alarm, and an endpoint for the version
    the stack pins (SageMaker, or a Deployment on the stack's Kubernetes cluster)."""

    def __init__(
        self, name: str, inputs: PlatformInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.PLATFORM, name, None, opts)
        s, naming = inputs.settings, inputs.naming
        protect = s.is_prod
        child = pulumi.ResourceOptions(parent=self)

        self.encryption = Encryption(
            "encryption",
            EncryptionArgs(
                naming=naming,
                deletion_window_days=s.kms_deletion_window_days,
                platform_role_names=[naming.execution_role],
                protect=protect,
            ),
            opts=child,
        )
        key_arn = self.encryption.key.arn

        self.storage = Storage(
            "storage",
            StorageArgs(
                naming=naming,
                key_arn=key_arn,
                noncurrent_version_expiry_days=s.noncurrent_version_expiry_days,
                abort_multipart_days=s.abort_multipart_days,
                log_retention_days=s.retention_days,
                protect=protect,
            ),
            opts=child,
        )
        data_buckets = [naming.bucket_arn(p) for p in self.storage.buckets if p != LOGS]

        self.iam = Iam(
            "iam",
            IamArgs(
                naming=naming,
                bucket_arns=data_buckets,
                key_arn=key_arn,
                permissions_boundary_arn=s.permissions_boundary_arn,
            ),
            opts=child,
        )

        readers = s.promotion.target_accounts if s.account_mode == "per-stack" else []
        self.registry = Registry(
            "registry",
            RegistryArgs(naming=naming, reader_accounts=readers, protect=protect,
                         projects=sorted({p.project.manifest.package_group
                                          for p in inputs.projects})),
            opts=child,
        )

        self.monitoring = Monitoring(
            "monitoring",
            MonitoringArgs(
                naming=naming,
                key_arn=key_arn,
                emails=s.alarm_recipients.emails,
                https_endpoints=s.alarm_recipients.https_endpoints,
                dashboard=s.dashboard,
            ),
            opts=child,
        )
        self.feature_store = FeatureStore(
            "featurestore",
            FeatureStoreArgs(
                naming=naming,
                projects=[p.project for p in inputs.projects],
                key_arn=key_arn,
                role_arn=self.iam.role.arn,
                online_enabled=s.online_feature_store,
                protect=protect,
                depends_on=[self.iam, self.storage],
            ),
            opts=child,
        )

        self.pipelines = Pipelines(
            "pipelines",
            PipelinesArgs(
                naming=naming,
                pipelines=inputs.projects,
                role_arn=self.iam.role.arn,
                key_arn=key_arn,
                topic_arn=self.monitoring.topic.arn,
                workspace_bucket=self.storage.buckets["pipeline-workspace"].bucket,
                dashboard=s.dashboard,
                depends_on=[self.iam, self.registry, self.feature_store],
            ),
            opts=child,
        )

        owners = {p.project.name: p.project.manifest.owner for p in inputs.projects}
        on_sagemaker = [p for p in inputs.serving if p.kubernetes is None]
        on_kubernetes = [p for p in inputs.serving if p.kubernetes is not None]
        self.serving = Serving(
            "serving",
            ServingArgs(
                naming=naming,
                plans=on_sagemaker,
                role_arn=self.iam.role.arn,
                key_arn=key_arn,
                topic_arn=self.monitoring.topic.arn,
                capture_bucket=self.storage.buckets["raw-data"].bucket,
                network=s.network,
                dashboard=s.dashboard,
                tags={p.project: {"mlops:project": p.project, "mlops:owner": owners[p.project]}
                      for p in on_sagemaker},
                depends_on=[self.iam, self.registry],
            ),
            opts=child,
        )

        # Only stacks that serve a project on Kubernetes get a provider for a cluster.
        self.kubernetes_serving: KubernetesServing | None = None
        if on_kubernetes:
            assert s.kubernetes is not None  # serving_plans refuses Kubernetes without a cluster
            self.kubernetes_serving = KubernetesServing(
                "kubernetes-serving",
                KubernetesServingArgs(
                    naming=naming,
                    cluster=s.kubernetes,
                    plans=on_kubernetes,
                    key_arn=key_arn,
                    capture_bucket=self.storage.buckets["raw-data"].bucket,
                    permissions_boundary_arn=s.permissions_boundary_arn,
                    tags={p.project: {"mlops:project": p.project,
                                      "mlops:owner": owners[p.project]} for p in on_kubernetes},
                    depends_on=[self.storage],
                ),
                opts=child,
            )
        kubernetes_models = self.kubernetes_serving.models if self.kubernetes_serving else {}

        self.retraining = Retraining(
            "retraining",
            RetrainingArgs(
                naming=naming,
                plans=inputs.monitoring,
                drift_definitions=inputs.drift_definitions,
                role_arn=self.iam.role.arn,
                key_arn=key_arn,
                topic_arn=self.monitoring.topic.arn,
                raw_data_bucket=self.storage.buckets["raw-data"].bucket,
                training_pipeline_arns={p: pl.arn for p, pl in self.pipelines.pipelines.items()},
                tags={p.project: {"mlops:project": p.project, "mlops:owner": owners[p.project]}
                      for p in inputs.monitoring},
                depends_on=[self.iam, self.serving],
            ),
            opts=child,
        )

        self.outputs = {
            "buckets": {p: b.bucket for p, b in self.storage.buckets.items()},
            "keyArn": key_arn,
            "roleArn": self.iam.role.arn,
            "topicArn": self.monitoring.topic.arn,
            "modelPackageGroups": {
                p: g.model_package_group_name for p, g in self.registry.groups.items()
            },
            "featureGroups": {
                k: g.feature_group_name for k, g in self.feature_store.groups.items()
            },
            "pipelines": {p: pl.pipeline_name for p, pl in self.pipelines.pipelines.items()},
            "endpoints": {p: e.endpoint.name for p, e in self.serving.endpoints.items()},
            "kubernetesDeployments": {
                p: pulumi.Output.concat(m.deployment.metadata.namespace, "/",
                                        m.deployment.metadata.name)
                for p, m in kubernetes_models.items()},
            "notServed": {n.project: n.reason for n in inputs.not_served},
            "driftPipelines": {p: r.drift_pipeline.pipeline_name
                               for p, r in self.retraining.projects.items()},
            "driftAlarms": {p: r.alarm.name for p, r in self.retraining.projects.items()},
        }
        self.register_outputs(self.outputs)
