"""Every Pulumi type token the project names, defined once.

``infra`` (component tokens), ``mlops`` (specs, sandbox, exports), ``policies`` (rule subjects)
and the tests import these names; no other module spells a token. A resource type's behaviour
lives in its spec (``mlops/specs/<service>.py``); this module only names it.
"""

from __future__ import annotations

# --- Pulumi's own -------------------------------------------------------------------------------
STACK = "pulumi:pulumi:Stack"
PROVIDER_PREFIX = "pulumi:providers:"

# --- this project's components (infra/components, infra/platform.py) -------------------------
PLATFORM = "mlops:platform:MlopsPlatform"
ENCRYPTION = "mlops:encryption:Encryption"
STORAGE = "mlops:storage:Storage"
SECURE_BUCKET = "mlops:storage:SecureBucket"
IDENTITY = "mlops:iam:Iam"
FEATURE_STORE = "mlops:featurestore:FeatureStore"
REGISTRY = "mlops:registry:Registry"
PIPELINES = "mlops:pipelines:Pipelines"
MONITORING = "mlops:monitoring:Monitoring"
SERVING = "mlops:serving:Serving"
PROJECT_ENDPOINT = "mlops:serving:ProjectEndpoint"
KUBERNETES_SERVING = "mlops:serving:KubernetesServing"
KUBERNETES_MODEL = "mlops:serving:KubernetesModel"
RETRAINING = "mlops:retraining:Retraining"
PROJECT_RETRAINING = "mlops:retraining:ProjectRetraining"
# The CI identity program (bootstrap/ci/): GitHub OIDC provider, deploy roles, state backend.
CI_IDENTITY = "mlops:ci:CiIdentity"

# --- AWS: S3 ----------------------------------------------------------------------------------
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
S3_BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
S3_BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
S3_BUCKET_NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
S3_BUCKET_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
S3_BUCKET_OBJECT_V1 = "aws:s3/bucketObject:BucketObject"
S3_BUCKET_OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_BUCKET_SSE = ("aws:s3/bucketServerSideEncryptionConfiguration:"
                 "BucketServerSideEncryptionConfiguration")
S3_BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"

# Deprecated pulumi-aws classes: the same Terraform resources as the current ones.
S3_BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
S3_BUCKET_ACL_V2 = "aws:s3/bucketAclV2:BucketAclV2"
S3_BUCKET_LIFECYCLE_V2 = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
S3_BUCKET_LOGGING_V2 = "aws:s3/bucketLoggingV2:BucketLoggingV2"
S3_BUCKET_SSE_V2 = ("aws:s3/bucketServerSideEncryptionConfigurationV2:"
                    "BucketServerSideEncryptionConfigurationV2")
S3_BUCKET_VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
DEPRECATED_ALIASES = {
    S3_BUCKET_V2: S3_BUCKET,
    S3_BUCKET_ACL_V2: S3_BUCKET_ACL,
    S3_BUCKET_LIFECYCLE_V2: S3_BUCKET_LIFECYCLE,
    S3_BUCKET_LOGGING_V2: S3_BUCKET_LOGGING,
    S3_BUCKET_SSE_V2: S3_BUCKET_SSE,
    S3_BUCKET_VERSIONING_V2: S3_BUCKET_VERSIONING,
}

# --- AWS: KMS ---------------------------------------------------------------------------------
KMS_KEY = "aws:kms/key:Key"
KMS_ALIAS = "aws:kms/alias:Alias"

# --- AWS: IAM ---------------------------------------------------------------------------------
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_USER_POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_GROUP_POLICY_ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
IAM_OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"

# --- AWS: SNS and SQS -------------------------------------------------------------------------
SNS_TOPIC = "aws:sns/topic:Topic"
SNS_TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SNS_TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"

# --- AWS: EventBridge, CloudWatch, CloudWatch Logs (pulumi-aws's `cloudwatch` module) ------
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

# --- AWS: EventBridge Scheduler ---------------------------------------------------------------
SCHEDULE = "aws:scheduler/schedule:Schedule"

# --- AWS: SageMaker ---------------------------------------------------------------------------
SAGEMAKER_FEATURE_GROUP = "aws:sagemaker/featureGroup:FeatureGroup"
SAGEMAKER_PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SAGEMAKER_MODEL_PACKAGE_GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
SAGEMAKER_MODEL_PACKAGE_GROUP_POLICY = ("aws:sagemaker/modelPackageGroupPolicy:"
                                        "ModelPackageGroupPolicy")
SAGEMAKER_MODEL = "aws:sagemaker/model:Model"
SAGEMAKER_ENDPOINT_CONFIGURATION = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
SAGEMAKER_ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
SAGEMAKER_NOTEBOOK_INSTANCE = "aws:sagemaker/notebookInstance:NotebookInstance"
SAGEMAKER_DATA_QUALITY_JOB_DEFINITION = ("aws:sagemaker/dataQualityJobDefinition:"
                                         "DataQualityJobDefinition")
SAGEMAKER_MONITORING_SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"

# --- AWS: Application Auto Scaling -----------------------------------------------------------
AUTOSCALING_TARGET = "aws:appautoscaling/target:Target"
AUTOSCALING_POLICY = "aws:appautoscaling/policy:Policy"

# --- AWS: EKS (the cluster Kubernetes serving runs on is the team's; only the association is ours)
EKS_POD_IDENTITY_ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"

# --- Kubernetes (pulumi-kubernetes 4): what Kubernetes serving creates, and the other workload
# kinds the policy rules judge ----------------------------------------------------------------
K8S_PROVIDER = "pulumi:providers:kubernetes"
K8S_NAMESPACE = "kubernetes:core/v1:Namespace"
K8S_SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
K8S_SERVICE = "kubernetes:core/v1:Service"
K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
K8S_PDB = "kubernetes:policy/v1:PodDisruptionBudget"
K8S_NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
K8S_POD = "kubernetes:core/v1:Pod"
K8S_STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
K8S_DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
K8S_REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
K8S_JOB = "kubernetes:batch/v1:Job"
K8S_CRON_JOB = "kubernetes:batch/v1:CronJob"
K8S_PREFIX = "kubernetes:"

# --- AWS: others the policy tests name -------------------------------------------------------
LAMBDA_FUNCTION = "aws:lambda/function:Function"
EC2_VPC = "aws:ec2/vpc:Vpc"

# --- AWS data sources the program invokes (faked offline) ------------------------------------
GET_CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"
GET_REGION = "aws:index/getRegion:getRegion"
GET_PARTITION = "aws:index/getPartition:getPartition"
GET_EKS_CLUSTER = "aws:eks/getCluster:getCluster"


def is_kubernetes(token: str) -> bool:
    """A pulumi-kubernetes resource type (``kubernetes:apps/v1:Deployment``)."""
    return token.startswith(K8S_PREFIX)


def is_provider(token: str) -> bool:
    """A provider instance (``pulumi:providers:aws``), not a cloud resource."""
    return token.startswith(PROVIDER_PREFIX)
