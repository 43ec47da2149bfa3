"""The feature store: one SageMaker feature group per project feature group.

Offline stores are Iceberg tables in the environment's feature-store bucket, encrypted with the
environment key and registered in the Glue Data Catalog; online stores (with the key and an
optional TTL) exist only where the stack enables them. Feature groups are stateful: protected
and retained in prod.

The AWS provider replaces a feature group when most of its inputs change (the replacement
guard in ``infra/projects/loader.py`` refuses those changes of a project). Two inputs are made
harmless here: feature definitions are registered sorted by name, so reordering features in
project.yaml changes nothing, and description edits are ignored after creation.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from common import tokens
from infra.naming import Naming
from infra.projects.loader import (
    FEATURE_STORE_DATABASE,
    Project,
    feature_group_name,
    glue_table,
    offline_store_uri,
)


@dataclass(frozen=True)
class FeatureStoreArgs:
    naming: Naming
    projects: list[Project]
    key_arn: pulumi.Input[str]
    role_arn: pulumi.Input[str]
    online_enabled: bool
    protect: bool = False
    depends_on: list[pulumi.Resource] | None = None


class FeatureStore(pulumi.ComponentResource):
    """Feature groups of every project, keyed ``<project>/<group>``."""

    groups: dict[str, aws.sagemaker.FeatureGroup]

    def __init__(
        self, name: str, args: FeatureStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.FEATURE_STORE, name, None, opts)
        naming = args.naming
        self.groups = {}
        for project in args.projects:
            m = project.manifest
            for spec in m.feature_groups:
                online = spec.online and args.online_enabled
                online_config = None
                if online:
                    online_config = aws.sagemaker.FeatureGroupOnlineStoreConfigArgs(
                        enable_online_store=True,
                        security_config=aws.sagemaker.FeatureGroupOnlineStoreConfigSecurityConfigArgs(
                            kms_key_id=args.key_arn),
                        ttl_duration=aws.sagemaker.FeatureGroupOnlineStoreConfigTtlDurationArgs(
                            value=spec.ttl.value, unit=spec.ttl.unit) if spec.ttl else None,
                    )
                group = aws.sagemaker.FeatureGroup(
                    f"{name}-{project.name}-{spec.name}",
                    feature_group_name=feature_group_name(naming, project.name, spec.name),
                    description=spec.description or f"{spec.name} of {project.name}",
                    record_identifier_feature_name=spec.record_identifier,
                    event_time_feature_name=spec.event_time,
                    role_arn=args.role_arn,
                    feature_definitions=[
                        aws.sagemaker.FeatureGroupFeatureDefinitionArgs(
                            feature_name=f.name, feature_type=f.type)
                        for f in sorted(spec.features, key=lambda f: f.name)
                    ],
                    offline_store_config=aws.sagemaker.FeatureGroupOfflineStoreConfigArgs(
                        s3_storage_config=aws.sagemaker.FeatureGroupOfflineStoreConfigS3StorageConfigArgs(
                            s3_uri=offline_store_uri(naming, project.name, spec.name),
                            kms_key_id=args.key_arn,
                        ),
                        table_format="Iceberg",
                        disable_glue_table_creation=False,
                        data_catalog_config=aws.sagemaker.FeatureGroupOfflineStoreConfigDataCatalogConfigArgs(
                            catalog="AwsDataCatalog",
                            database=FEATURE_STORE_DATABASE,
                            table_name=glue_table(naming, project.name, spec.name),
                        ),
                    ),
                    online_store_config=online_config,
                    tags={"mlops:project": project.name, "mlops:owner": m.owner,
                          "mlops:feature-group": spec.name},
                    opts=pulumi.ResourceOptions(
                        parent=self, protect=args.protect, retain_on_delete=args.protect,
                        depends_on=args.depends_on or [],
                        ignore_changes=["description"],
                    ),
                )
                self.groups[f"{project.name}/{spec.name}"] = group
        self.register_outputs(
            {key: g.feature_group_name for key, g in self.groups.items()}
        )
