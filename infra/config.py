"""Typed stack settings.

Every setting the platform reads lives in ``stacks/Pulumi.<stack>.yaml`` under the ``mlops:``
namespace (plus ``aws:region`` and ``aws:defaultTags``). The same model validates the values the
Pulumi engine hands the program and the values the offline tools read from the file, so a bad
setting fails the same way everywhere: one line naming the stack file and the key, before any
resource is registered.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from infra.validation import describe

NAMESPACE = "mlops"
STACKS_DIR = "stacks"

ACCOUNT_ID = r"^\d{12}$"
EMAIL = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
HTTPS_URL = r"^https://[A-Za-z0-9.-]+(:\d+)?(/\S*)?$"
BOUNDARY_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:policy/[\w+=,.@/-]+$"
INSTANCE_TYPE = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
STACK_NAME = r"^[a-z][a-z0-9-]*$"
S3_OBJECT_URI = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+$"
SHA256 = r"^[0-9a-f]{64}$"
# Kubernetes names: a DNS-1123 label (namespaces, service accounts), at most 63 characters.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
EKS_CLUSTER_NAME = r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$"
# A Pulumi config key outside the mlops namespace (`team-a:kubeconfig`): mlops: keys are settings.
CONFIG_KEY = r"^[A-Za-z][A-Za-z0-9_.-]*:[A-Za-z][A-Za-z0-9_.-]*$"
OIDC_ISSUER = r"^https://[A-Za-z0-9.-]+(/[A-Za-z0-9._~-]+)*$"
# Namespaces a serving namespace must not be: the default one and the system ones.
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

# The longest bucket purpose: names are "<prefix>-<stack>-<purpose>-<account>-<region>".
LONGEST_BUCKET_PURPOSE = "pipeline-workspace"
BUCKET_NAME_MAX = 63


def stack_file(stack: str) -> str:
    """Path (relative to the project root) of a stack's settings file."""
    return f"{STACKS_DIR}/Pulumi.{stack}.yaml"


class SettingsError(Exception):
    """A stack setting is missing or invalid. ``str()`` is the one-line message for people."""

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class AlarmRecipients(_Model):
    """Who hears about alarms and pipeline failures (SNS subscriptions)."""

    emails: list[str] = Field(default_factory=list)
    https_endpoints: list[str] = Field(default_factory=list)

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for i, email in enumerate(value):
            if not re.match(EMAIL, email):
                raise _ItemError(i, f"not an email address (got {email!r})")
        return value

    @field_validator("https_endpoints")
    @classmethod
    def _https(cls, value: list[str]) -> list[str]:
        for i, url in enumerate(value):
            if not re.match(HTTPS_URL, url):
                raise _ItemError(i, f"not an https:// URL (got {url!r})")
        return value


class Promotion(_Model):
    """Which environments may promote into this one, and the accounts on either side."""

    allow_from: list[str] = Field(default_factory=list)
    source_accounts: list[str] = Field(default_factory=list)
    target_accounts: list[str] = Field(default_factory=list)
    # A promoted package starts PendingManualApproval unless this is true (never in prod by
    # default; see docs/settings.md).
    auto_approve: bool = False

    @field_validator("allow_from")
    @classmethod
    def _stacks(cls, value: list[str]) -> list[str]:
        for i, name in enumerate(value):
            if not re.match(STACK_NAME, name):
                raise _ItemError(i, f"not a stack name (got {name!r})")
        return value

    @field_validator("source_accounts", "target_accounts")
    @classmethod
    def _accounts(cls, value: list[str]) -> list[str]:
        for i, account in enumerate(value):
            if not re.match(ACCOUNT_ID, str(account)):
                raise _ItemError(i, f"not a 12-digit AWS account id (got {account!r})")
        return value


class Network(_Model):
    """The VPC the environment's SageMaker models run in (endpoints without it run in
    SageMaker's own network, isolated: network isolation is always on)."""

    subnet_ids: list[str] = Field(min_length=1)
    security_group_ids: list[str] = Field(min_length=1)

    @field_validator("subnet_ids")
    @classmethod
    def _subnets(cls, value: list[str]) -> list[str]:
        for i, subnet in enumerate(value):
            if not re.match(r"^subnet-[0-9a-f]{8,17}$", subnet):
                raise _ItemError(i, f"not a subnet id like subnet-0abc1234 (got {subnet!r})")
        return value

    @field_validator("security_group_ids")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        for i, group in enumerate(value):
            if not re.match(r"^sg-[0-9a-f]{8,17}$", group):
                raise _ItemError(i, f"not a security group id like sg-0abc1234 (got {group!r})")
        return value


class PinnedModel(_Model):
    """A model version promoted into this stack (written by `mlops models promote`).

    ``artifactUri`` and ``artifactSha256`` name the package's artifact (its ModelDataUrl in this
    environment) and checksum: Kubernetes serving loads that object itself, so it needs both.
    """

    version: int = Field(ge=1)
    package_arn: str
    artifact_uri: str | None = None
    artifact_sha256: str | None = None

    @field_validator("artifact_uri")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        if value is not None and not re.match(S3_OBJECT_URI, value):
            raise ValueError(f"not an s3://bucket/key URI (got {value!r})")
        return value

    @field_validator("artifact_sha256")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not re.match(SHA256, value):
            raise ValueError(f"not a SHA-256 digest (64 lowercase hex digits; got {value!r})")
        return value


class Kubeconfig(_Model):
    """How Pulumi reaches the cluster's API server: a kubeconfig file (and context), or the
    kubeconfig text in a Pulumi secret config key. Never the ambient ~/.kube/config."""

    path: str | None = Field(default=None, min_length=1)
    secret_config_key: str | None = Field(default=None, pattern=CONFIG_KEY)
    context: str | None = Field(default=None, min_length=1)

    @field_validator("secret_config_key")
    @classmethod
    def _not_a_setting(cls, value: str | None) -> str | None:
        if value is not None and value.startswith(f"{NAMESPACE}:"):
            raise ValueError(f"must be a config key outside the {NAMESPACE}: namespace (those are "
                             f"settings), like team-a:kubeconfig (got {value!r})")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Kubeconfig:
        if (self.path is None) == (self.secret_config_key is None):
            raise _KeyError("kubernetes.kubeconfig",
                            "give exactly one of path (a kubeconfig file) or secretConfigKey "
                            "(a Pulumi secret config key holding the kubeconfig)")
        return self


class KubernetesCluster(_Model):
    """The cluster projects serving on Kubernetes deploy to (docs/kubernetes.md).

    ``eksClusterName`` names an EKS cluster: its Pod Identity associations (or IRSA issuer), and
    without ``kubeconfig`` the API endpoint too (a kubeconfig built from DescribeCluster that
    authenticates with ``aws eks get-token``).
    """

    eks_cluster_name: str | None = Field(default=None, pattern=EKS_CLUSTER_NAME)
    kubeconfig: Kubeconfig | None = None
    namespace: str | None = Field(default=None, pattern=DNS_LABEL)
    ingress_namespaces: list[str] = Field(default_factory=list)
    aws_access: Literal["pod-identity", "irsa"] = "pod-identity"
    oidc_issuer: str | None = Field(default=None, pattern=OIDC_ISSUER)

    @field_validator("namespace")
    @classmethod
    def _not_reserved(cls, value: str | None) -> str | None:
        if value in RESERVED_NAMESPACES:
            raise ValueError(f"must be a namespace of its own, not {value!r}")
        return value

    @field_validator("ingress_namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        for i, name in enumerate(value):
            if not re.match(DNS_LABEL, name):
                raise _ItemError(i, f"not a namespace name (lowercase letters, digits and '-'; "
                                    f"got {name!r})")
        return value

    @model_validator(mode="after")
    def _reachable(self) -> KubernetesCluster:
        if self.eks_cluster_name is None and self.kubeconfig is None:
            raise _KeyError("kubernetes", "names no cluster: set eksClusterName (an EKS cluster) "
                                          "or kubeconfig (path or secretConfigKey)")
        if self.aws_access == "pod-identity" and self.eks_cluster_name is None:
            raise _KeyError("kubernetes.eksClusterName",
                            "EKS Pod Identity associates the serving role in an EKS cluster: "
                            "name it, or set awsAccess: irsa with oidcIssuer")
        if self.aws_access == "irsa" and self.eks_cluster_name is None \
                and self.oidc_issuer is None:
            raise _KeyError("kubernetes.oidcIssuer",
                            "IRSA trusts the cluster's OIDC issuer: set eksClusterName (the "
                            "issuer is read from the cluster) or oidcIssuer")
        return self

    def namespace_for(self, stem: str) -> str:
        """The serving namespace: the configured one, else ``<prefix>-<stack>-serving``."""
        return self.namespace or f"{stem}-serving"


class _ItemError(ValueError):
    """A list item is invalid; carries its index so the message can name `key[i]`."""

    def __init__(self, index: int, problem: str) -> None:
        super().__init__(problem)
        self.index = index
        self.problem = problem


class Settings(_Model):
    """Everything one stack configures. Field aliases are the camelCase keys under ``mlops:``."""

    environment: Literal["dev", "staging", "prod"]
    name_prefix: str = Field(default="mlops", pattern=r"^[a-z][a-z0-9-]{0,14}$")
    account_mode: Literal["single", "per-stack"] = "single"
    account_id: str | None = Field(default=None, pattern=ACCOUNT_ID)
    retention_days: int = Field(default=90, ge=1, le=3653)
    noncurrent_version_expiry_days: int = Field(default=30, ge=1, le=3653)
    abort_multipart_days: int = Field(default=7, ge=1, le=365)
    kms_deletion_window_days: int = Field(default=30, ge=7, le=30)
    allowed_instance_types: list[str] = Field(min_length=1)
    max_runtime_seconds: int = Field(default=86400, ge=60, le=2419200)
    alarm_recipients: AlarmRecipients = Field(default_factory=AlarmRecipients)
    promotion: Promotion = Field(default_factory=Promotion)
    permissions_boundary_arn: str | None = Field(default=None, pattern=BOUNDARY_ARN)
    online_feature_store: bool = False
    allow_direct_submit: bool = False
    dashboard: bool = True
    models: dict[str, PinnedModel] = Field(default_factory=dict)
    network: Network | None = None
    kubernetes: KubernetesCluster | None = None

    # Not under mlops: but validated with the rest.
    region: str = Field(pattern=REGION)
    default_tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("allowed_instance_types")
    @classmethod
    def _instance_types(cls, value: list[str]) -> list[str]:
        for i, itype in enumerate(value):
            if not re.match(INSTANCE_TYPE, itype):
                raise _ItemError(i, f"not a SageMaker instance type like ml.m5.xlarge (got {itype!r})")
        return value

    @model_validator(mode="after")
    def _tier_rules(self) -> Settings:
        if self.environment == "prod" and self.kms_deletion_window_days != 30:
            raise _KeyError(
                "kmsDeletionWindowDays",
                f"must be 30 in prod (got {self.kms_deletion_window_days})",
            )
        if self.account_mode == "single" and (
            self.promotion.source_accounts or self.promotion.target_accounts
        ):
            raise _KeyError(
                "promotion",
                "sourceAccounts/targetAccounts need accountMode: per-stack "
                "(single-account stacks promote inside one account)",
            )
        if self.environment == "prod" and self.allow_direct_submit:
            raise _KeyError(
                "allowDirectSubmit", "must be false in prod (deployments go through pulumi up)"
            )
        return self

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"


class _KeyError(ValueError):
    """A cross-field rule failed; names the key it blames."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


_TOP_LEVEL = {"aws:region": "region", "aws:defaultTags": "defaultTags"}
_FIELD_ALIASES = {f.alias or name: name for name, f in Settings.model_fields.items()}


def _decode(value: Any) -> Any:
    """Pulumi hands structured config to the program as JSON strings; decode those."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _key_path(loc: tuple[int | str, ...]) -> str:
    head, *rest = loc
    alias = str(head)
    key = next((k for k, v in _TOP_LEVEL.items() if v == alias), f"{NAMESPACE}:{alias}")
    if alias == "defaultTags":
        key = "aws:defaultTags.tags"
    out = key
    for part in rest:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _unknown_key_message(key: str) -> str:
    name = key.split(":", 1)[1]
    close = difflib.get_close_matches(name, list(_FIELD_ALIASES), n=1)
    hint = f"; did you mean {NAMESPACE}:{close[0]}?" if close else ""
    return f"unknown setting{hint}"


def parse_settings(config: Mapping[str, Any], source: str) -> Settings:
    """Validate a stack's config map (``{"mlops:retentionDays": 30, "aws:region": ...}``).

    ``source`` names the stack file in messages. Raises SettingsError on the first problem, in
    the order the keys appear in the file.
    """
    raw: dict[str, Any] = {}
    for key, value in config.items():
        if key in _TOP_LEVEL:
            raw[_TOP_LEVEL[key]] = _decode(value)
        elif key.startswith(f"{NAMESPACE}:"):
            name = key.split(":", 1)[1]
            if name not in _FIELD_ALIASES or name in ("region", "defaultTags"):
                raise SettingsError(source, key, _unknown_key_message(key))
            raw[name] = _decode(value)
    tags = raw.get("defaultTags")
    if isinstance(tags, Mapping):
        # aws:defaultTags is `{tags: {...}}` in the provider's shape.
        if set(tags) - {"tags"}:
            raise SettingsError(source, "aws:defaultTags", "only the key `tags` is allowed")
        raw["defaultTags"] = tags.get("tags") or {}
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise _first_error(exc, source, list(raw)) from None
    secret = settings.kubernetes.kubeconfig.secret_config_key \
        if settings.kubernetes and settings.kubernetes.kubeconfig else None
    if secret is not None and secret not in config:
        raise SettingsError(source, f"{NAMESPACE}:kubernetes.kubeconfig.secretConfigKey",
                            f"{secret} is not set in this stack file (pulumi config set --secret "
                            f"{secret} \"$(cat kubeconfig)\" --stack <stack>)")
    return settings


def _first_error(exc: ValidationError, source: str, order: list[str]) -> SettingsError:
    def rank(err: Any) -> int:
        head = str(err["loc"][0]) if err["loc"] else ""
        return order.index(head) if head in order else len(order)

    errors = sorted(exc.errors(), key=rank)
    err = errors[0]
    loc = tuple(err["loc"])
    original = (err.get("ctx") or {}).get("error")
    if isinstance(original, _KeyError):
        return SettingsError(source, f"{NAMESPACE}:{original.key}", original.problem)
    if isinstance(original, _ItemError):
        loc = (*loc, original.index)
    if not loc:
        return SettingsError(source, None, describe(err, noun="setting"))
    return SettingsError(source, _key_path(loc), describe(err, noun="setting"))
