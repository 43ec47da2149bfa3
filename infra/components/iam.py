"""The SageMaker execution role of an environment, scoped to that environment's resources."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from common import tokens
from infra.naming import Naming
from infra.projects.monitoring import drift_namespace

# Actions AWS cannot scope to a resource ARN; the only statements with "Resource": "*":
# - ecr:GetAuthorizationToken: account-level token for pulling the SageMaker images.
# - cloudwatch:PutMetricData: has no resource type (scoped by namespace condition instead).
# - sagemaker:Search, sagemaker:ListFeatureGroups: list/search APIs without a resource type.
UNSCOPABLE_ACTIONS = [
    "cloudwatch:PutMetricData",
    "ecr:GetAuthorizationToken",
    "sagemaker:ListFeatureGroups",
    "sagemaker:Search",
]


@dataclass(frozen=True)
class IamArgs:
    naming: Naming
    bucket_arns: list[str]
    key_arn: pulumi.Input[str]
    permissions_boundary_arn: str | None = None


def trust_policy(naming: Naming) -> dict:
    """SageMaker may assume the role, only on behalf of this account."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "SageMakerAssumesForThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": naming.account_id}},
        }],
    }


def execution_policy(naming: Naming, bucket_arns: list[str], key_arn: str) -> dict:
    """What pipeline steps, feature groups and registry calls need, in this environment only."""
    sm = naming.sagemaker_arn
    stem = naming.stem
    region, account, part = naming.region, naming.account_id, naming.partition
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListEnvironmentBuckets",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                "Resource": bucket_arns,
            },
            {
                "Sid": "ReadWriteEnvironmentObjects",
                "Effect": "Allow",
                "Action": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject",
                           "s3:PutObject"],
                "Resource": [f"{arn}/*" for arn in bucket_arns],
            },
            {
                "Sid": "UseEnvironmentKey",
                "Effect": "Allow",
                "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt",
                           "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
                           "kms:ReEncryptFrom", "kms:ReEncryptTo"],
                "Resource": [key_arn],
            },
            {
                "Sid": "FeatureGroups",
                "Effect": "Allow",
                "Action": ["sagemaker:DescribeFeatureGroup", "sagemaker:GetRecord",
                           "sagemaker:PutRecord", "sagemaker:BatchGetRecord"],
                "Resource": [sm("feature-group", f"{stem}-*")],
            },
            {
                "Sid": "ModelRegistry",
                "Effect": "Allow",
                "Action": ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage",
                           "sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages",
                           "sagemaker:UpdateModelPackage"],
                "Resource": [sm("model-package-group", f"{stem}-*"),
                             sm("model-package", f"{stem}-*/*")],
            },
            {
                "Sid": "PipelinesOfThisEnvironment",
                "Effect": "Allow",
                "Action": ["sagemaker:DescribePipeline", "sagemaker:DescribePipelineExecution",
                           "sagemaker:ListPipelineExecutionSteps",
                           "sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution",
                           "sagemaker:SendPipelineExecutionStepSuccess",
                           "sagemaker:SendPipelineExecutionStepFailure"],
                "Resource": [sm("pipeline", f"{stem}-*"), sm("pipeline", f"{stem}-*/execution/*")],
            },
            {
                # Jobs started by SageMaker Pipelines are named "pipelines-<execution>-<step>".
                "Sid": "PipelineJobs",
                "Effect": "Allow",
                "Action": ["sagemaker:AddTags", "sagemaker:CreateModel",
                           "sagemaker:CreateProcessingJob", "sagemaker:CreateTrainingJob",
                           "sagemaker:CreateTransformJob", "sagemaker:DescribeModel",
                           "sagemaker:DescribeProcessingJob", "sagemaker:DescribeTrainingJob",
                           "sagemaker:DescribeTransformJob", "sagemaker:StopProcessingJob",
                           "sagemaker:StopTrainingJob", "sagemaker:StopTransformJob"],
                "Resource": [sm("processing-job", "pipelines-*"), sm("training-job", "pipelines-*"),
                             sm("transform-job", "pipelines-*"), sm("model", "pipelines-*")],
            },
            {
                # The drift check resolves what an endpoint serves (endpoint -> configuration
                # -> model -> package) to read that version's baseline.
                "Sid": "ReadWhatEndpointsServe",
                "Effect": "Allow",
                "Action": ["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig",
                           "sagemaker:DescribeModel"],
                "Resource": [sm("endpoint", f"{stem}-*"), sm("endpoint-config", f"{stem}-*"),
                             sm("model", f"{stem}-*")],
            },
            {
                # The retraining trigger step records the drift alarm's state as evidence.
                "Sid": "ReadDriftAlarms",
                "Effect": "Allow",
                "Action": ["cloudwatch:DescribeAlarms"],
                "Resource": [f"arn:{part}:cloudwatch:{region}:{account}:alarm:{stem}-*"],
            },
            {
                # PutMetricData has no resource type: scoped to the stack's drift namespace.
                "Sid": "PublishDriftMetrics",
                "Effect": "Allow",
                "Action": ["cloudwatch:PutMetricData"],
                "Resource": ["*"],
                "Condition": {"StringEquals": {"cloudwatch:namespace": drift_namespace(naming.stack)}},
            },
            {
                "Sid": "PassOnlyThisRoleToSageMaker",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": [naming.role_arn(naming.execution_role)],
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            },
            {
                "Sid": "SageMakerJobLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams",
                           "logs:PutLogEvents"],
                "Resource": [f"arn:{part}:logs:{region}:{account}:log-group:/aws/sagemaker/*"],
            },
            {
                "Sid": "PullSageMakerImages",
                "Effect": "Allow",
                "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                           "ecr:GetDownloadUrlForLayer"],
                "Resource": [f"arn:{part}:ecr:{region}:*:repository/*"],
            },
            {
                # Offline feature store: Glue Data Catalog tables the feature groups register.
                "Sid": "FeatureStoreCatalog",
                "Effect": "Allow",
                "Action": ["glue:CreateTable", "glue:GetTable", "glue:UpdateTable",
                           "glue:GetDatabase", "glue:CreateDatabase"],
                "Resource": [f"arn:{part}:glue:{region}:{account}:catalog",
                             f"arn:{part}:glue:{region}:{account}:database/sagemaker_featurestore",
                             f"arn:{part}:glue:{region}:{account}:table/sagemaker_featurestore/*"],
            },
            {
                "Sid": "UnscopableActions",
                "Effect": "Allow",
                "Action": UNSCOPABLE_ACTIONS,
                "Resource": "*",
            },
        ],
    }


class Iam(pulumi.ComponentResource):
    """The SageMaker execution role with inline policies scoped to this environment."""

    role: aws.iam.Role

    def __init__(self, name: str, args: IamArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.IDENTITY, name, None, opts)
        naming = args.naming
        self.role = aws.iam.Role(
            f"{name}-sagemaker-execution",
            name=naming.execution_role,
            description=f"SageMaker execution role for {naming.stem}",
            assume_role_policy=pulumi.Output.json_dumps(trust_policy(naming)),
            permissions_boundary=args.permissions_boundary_arn,
            max_session_duration=3600,
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = pulumi.Output.from_input(args.key_arn).apply(
            lambda key_arn: execution_policy(naming, args.bucket_arns, key_arn)
        )
        aws.iam.RolePolicy(
            f"{name}-sagemaker-execution-policy",
            name="environment-scoped-access",
            role=self.role.id,
            policy=pulumi.Output.json_dumps(policy),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_arn = self.role.arn
        self.register_outputs({"roleArn": self.role.arn})
