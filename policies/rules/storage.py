"""S3 rules. With pulumi-aws 7 a bucket's settings are companion resources joined on ``bucket``,
so most of these are stack rules that follow property dependencies from companion to bucket.

Where a finding lands follows the scanners security teams compare against: a bucket-level
property (encrypted, versioned, access block present, logged, lifecycle present) is reported on
the bucket; a setting of a companion that scanners judge on the companion itself (the four
access-block flags, the abort rule of a lifecycle configuration, object ownership) is reported
on the companion. A companion that joins no bucket of the stack is judged on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from common import tokens
from policies.core import (
    CannotEvaluate,
    Finding,
    Resource,
    Severity,
    allows,
    as_list,
    companions,
    get,
    is_public_principal,
    iter_findings,
    of_type,
    policy_document,
    refers_to,
    resource_rule,
    restricts_principal,
    stack_rule,
    statements,
    truthy,
)

OBJECTS = (tokens.S3_BUCKET_OBJECT, tokens.S3_BUCKET_OBJECT_V1)

PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
# The two flags without which a bucket can be made public (CKV2_AWS_6 judges the bucket on them).
PAB_BUCKET_FLAGS = ("blockPublicAcls", "blockPublicPolicy")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")

Messages = Callable[[Resource], list[str]]


def bucket_values(bucket: Resource) -> list[Any]:
    """Values a companion's ``bucket`` input may hold for this bucket: its name, id, ARN, URN,
    and its logical name when it has no physical name of its own."""
    name = bucket.props.get("bucket")
    values = [name, bucket.props.get("id"), bucket.props.get("arn"), bucket.urn,
              f"arn:aws:s3:::{name}" if isinstance(name, str) else None]
    if not bucket.props.get("bucket") and not bucket.props.get("bucketPrefix"):
        values.append(bucket.name)
    return values


def _buckets(resources: Sequence[Resource]) -> list[Resource]:
    return of_type(resources, tokens.S3_BUCKET)


def _companions(resources: Sequence[Resource], bucket: Resource, token: str) -> list[Resource]:
    buckets = _buckets(resources)
    return companions(resources, bucket, token, "bucket", bucket_values(bucket), buckets)


def _joined(resources: Sequence[Resource], companion: Resource, prop: str = "bucket") -> bool:
    """Whether a companion refers to some bucket of the stack (unknown counts as joined)."""
    buckets = _buckets(resources)
    for b in buckets:
        try:
            if refers_to(companion, prop, b, bucket_values(b), buckets):
                return True
        except CannotEvaluate:
            return True  # an unknown reference: the bucket is judged instead
    return False


def _bucket_rule(
    resources: Sequence[Resource], token: str, missing: str | None, *,
    bucket_level: Messages | None = None, companion_level: Messages | None = None,
    inline: Callable[[Resource], list[str] | None] | None = None,
    exempt: Callable[[Resource], bool] = lambda bucket: False,
) -> Iterator[Finding]:
    """Judge every bucket and every ``token`` companion.

    - a bucket without a companion: ``inline`` judges the deprecated inline form on the bucket
      (None: there is none), else ``missing`` (None: another rule reports it);
    - a bucket with companions: ``bucket_level`` on each; the bucket passes when one passes;
    - every companion: ``companion_level``; without one, a companion joined to no bucket of
      the stack is judged with ``bucket_level`` (there is no bucket to report on).
    """

    def judge_bucket(bucket: Resource) -> Iterator[str]:
        if exempt(bucket):
            return
        found = _companions(resources, bucket, token)
        if not found:
            verdict = inline(bucket) if inline is not None else None
            if verdict is not None:
                yield from verdict
            elif missing is not None:
                yield missing
            return
        if bucket_level is not None:
            verdicts = [bucket_level(c) for c in found]
            if all(verdicts):
                yield from verdicts[0]

    def judge_companion(companion: Resource) -> Iterator[str]:
        if companion_level is not None:
            yield from companion_level(companion)
        elif bucket_level is not None and not _joined(resources, companion):
            yield from bucket_level(companion)

    yield from iter_findings(_buckets(resources), judge_bucket)
    yield from iter_findings(of_type(resources, token), judge_companion)


def _sse_rules(props: Mapping[str, Any], *paths: str) -> list[Any]:
    """The encryption rules of an SSE configuration (``rules`` list or a single ``rule``)."""
    for path in paths:
        rules = as_list(get(props, path))
        if rules:
            return rules
    return []


def _algorithm(rule: Any) -> Any:
    return get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm")


def _kms_default(rules: Sequence[Any]) -> list[str]:
    if not rules:
        return ["no default encryption rule"]
    return [f"default encryption uses {_algorithm(r) or 'no algorithm'}, not aws:kms"
            for r in rules if _algorithm(r) not in KMS_ALGORITHMS]


def _customer_key(rules: Sequence[Any]) -> list[str]:
    out = []
    for rule in rules:
        algorithm = _algorithm(rule)
        if algorithm not in KMS_ALGORITHMS:
            continue  # not KMS at all: s3-encryption-kms reports it
        key = get(rule, "applyServerSideEncryptionByDefault.kmsMasterKeyId")
        if not key:
            out.append("SSE-KMS uses the AWS-managed key aws/s3 (no kmsMasterKeyId)")
        elif str(key).startswith("alias/aws/"):
            out.append(f"SSE-KMS uses the AWS-managed key {key}")
        if algorithm == "aws:kms" and not truthy(get(rule, "bucketKeyEnabled", False)):
            out.append("bucketKeyEnabled is off (every object request calls KMS)")
    return out


def _inline_sse(bucket: Resource) -> list[Any] | None:
    sse = get(bucket.props, "serverSideEncryptionConfiguration")
    if not sse:
        return None
    return _sse_rules(sse, "rule", "rules")


@stack_rule(
    "s3-encryption-kms", area="storage", severity=Severity.HIGH,
    types=[tokens.S3_BUCKET, tokens.S3_BUCKET_SSE],
    description="Every bucket has default encryption with SSE-KMS (aws:kms or aws:kms:dsse).",
    remediation="Add a BucketServerSideEncryptionConfiguration on the bucket with "
                "sse_algorithm 'aws:kms' and kms_master_key_id set to the environment key.",
    references=["CKV_AWS_145", "CKV_AWS_19", "Security Hub S3.17"],
)
def s3_encryption_kms(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    def inline(bucket: Resource) -> list[str] | None:
        rules = _inline_sse(bucket)
        return None if rules is None else _kms_default(rules)

    return _bucket_rule(
        resources, tokens.S3_BUCKET_SSE, "bucket has no BucketServerSideEncryptionConfiguration",
        bucket_level=lambda sse: _kms_default(_sse_rules(sse.props, "rules", "rule")),
        inline=inline)


@stack_rule(
    "s3-encryption-cmk", area="storage", severity=Severity.HIGH,
    types=[tokens.S3_BUCKET, tokens.S3_BUCKET_SSE],
    description="Buckets encrypted with SSE-KMS use a customer-managed key (not the AWS-managed "
                "aws/s3 key) and the S3 Bucket Key.",
    remediation="Set kms_master_key_id to the environment key ARN and bucket_key_enabled=True "
                "in the bucket's encryption rule.",
    references=["Security Hub S3.17"],
)
def s3_encryption_cmk(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    def inline(bucket: Resource) -> list[str] | None:
        rules = _inline_sse(bucket)
        return [] if rules is None else _customer_key(rules)

    return _bucket_rule(
        resources, tokens.S3_BUCKET_SSE, None,
        bucket_level=lambda sse: _customer_key(_sse_rules(sse.props, "rules", "rule")),
        inline=inline)


def _versioning(v: Resource) -> list[str]:
    status = get(v.props, "versioningConfiguration.status")
    return [] if status == "Enabled" else [f"versioning is {status or 'unset'}, not Enabled"]


@stack_rule(
    "s3-versioning", area="storage", severity=Severity.MEDIUM,
    types=[tokens.S3_BUCKET, tokens.S3_BUCKET_VERSIONING],
    description="Every bucket has versioning Enabled, so overwritten and deleted objects can be "
                "recovered.",
    remediation="Add a BucketVersioning on the bucket with versioning_configuration "
                "{'status': 'Enabled'}.",
    references=["CKV_AWS_21", "Security Hub S3.14"],
)
def s3_versioning(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    def inline(bucket: Resource) -> list[str] | None:
        versioning = get(bucket.props, "versioning")
        if not versioning:
            return None
        return [] if truthy(get(versioning, "enabled", False)) else ["versioning is not enabled"]

    return _bucket_rule(resources, tokens.S3_BUCKET_VERSIONING, "bucket has no BucketVersioning",
                        bucket_level=_versioning, inline=inline)


def _flags_off(pab: Resource, flags: Sequence[str]) -> list[str]:
    return [f for f in flags if not truthy(get(pab.props, f, False))]


@stack_rule(
    "s3-public-access-block", area="storage", severity=Severity.CRITICAL,
    types=[tokens.S3_BUCKET, tokens.S3_BUCKET_PUBLIC_ACCESS_BLOCK],
    description="Every bucket has a public access block with all four flags true. A bucket whose "
                "block misses blockPublicAcls or blockPublicPolicy is reported on the bucket; "
                "every flag that is not true is reported on the access block.",
    remediation="Add a BucketPublicAccessBlock on the bucket with block_public_acls, "
                "block_public_policy, ignore_public_acls and restrict_public_buckets all True.",
    references=["CKV2_AWS_6", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56",
                "Security Hub S3.8", "CIS AWS 2.1.4"],
)
def s3_public_access_block(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[Finding]:
    def bucket_level(pab: Resource) -> list[str]:
        off = _flags_off(pab, PAB_BUCKET_FLAGS)
        return [f"public access block {pab.name} leaves {', '.join(off)} off"] if off else []

    def companion_level(pab: Resource) -> list[str]:
        off = _flags_off(pab, PAB_FLAGS)
        return [f"{', '.join(off)} not true"] if off else []

    return _bucket_rule(resources, tokens.S3_BUCKET_PUBLIC_ACCESS_BLOCK,
                        "bucket has no BucketPublicAccessBlock", bucket_level=bucket_level,
                        companion_level=companion_level)


def _denies_insecure_transport(doc: Mapping[str, Any] | None) -> bool:
    for stmt in statements(doc):
        if str(stmt.get("Effect", "")).lower() != "deny" or not is_public_principal(stmt):
            continue
        actions = [str(a).lower() for a in as_list(stmt.get("Action"))]
        if not any(a in ("*", "s3:*") for a in actions):
            continue
        condition = stmt.get("Condition") or {}
        for operator in ("Bool", "BoolIfExists"):
            value = (condition.get(operator) or {}).get("aws:SecureTransport")
            if str(value).lower() == "false" or value is False:
                return True
    return False


@stack_rule(
    "s3-tls-only", area="storage", severity=Severity.HIGH, types=[tokens.S3_BUCKET, tokens.S3_BUCKET_POLICY],
    description="Every bucket's policy denies requests that do not use TLS "
                "(aws:SecureTransport = false).",
    remediation="Attach a BucketPolicy with a Deny statement for Principal '*', Action 's3:*' "
                "on the bucket and its objects, Condition Bool aws:SecureTransport 'false'.",
    references=["Security Hub S3.5", "CIS AWS 2.1.1"],
)
def s3_tls_only(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    message = "bucket policy does not deny aws:SecureTransport=false for s3:*"

    def tls(holder: Resource) -> list[str]:
        doc = policy_document(holder.props.get("policy"), f"{holder.name}.policy")
        return [] if _denies_insecure_transport(doc) else [message]

    def inline(bucket: Resource) -> list[str] | None:
        return tls(bucket) if bucket.props.get("policy") else None

    return _bucket_rule(resources, tokens.S3_BUCKET_POLICY,
                        "bucket has no BucketPolicy denying insecure transport",
                        bucket_level=tls, inline=inline)


def _log_buckets(resources: Sequence[Resource]) -> set[str]:
    """URNs of the stack's buckets that receive other buckets' access logs."""
    buckets = _buckets(resources)
    out: set[str] = set()
    for logging in of_type(resources, tokens.S3_BUCKET_LOGGING):
        for b in buckets:
            try:
                if refers_to(logging, "targetBucket", b, bucket_values(b), buckets):
                    out.add(b.urn)
            except CannotEvaluate:
                continue  # s3-access-log-target reports the unknown target
    for bucket in buckets:
        target = get(bucket.props, "logging.targetBucket")
        out.update(b.urn for b in buckets if target and target in bucket_values(b))
    return out


@stack_rule(
    "s3-access-logging", area="storage", severity=Severity.MEDIUM,
    types=[tokens.S3_BUCKET, tokens.S3_BUCKET_LOGGING],
    description="Every bucket except the access-log bucket writes server access logs "
                "(a BucketLogging with a target bucket).",
    remediation="Add a BucketLogging on the bucket with target_bucket set to the stack's "
                "access-logs bucket (bucket.id) and a per-bucket target_prefix.",
    references=["CKV_AWS_18", "Security Hub S3.9"],
)
def s3_access_logging(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    log_buckets = _log_buckets(resources)

    def companion_level(logging: Resource) -> list[str]:
        has_target = get(logging.props, "targetBucket") or \
            logging.property_dependencies.get("targetBucket")
        return [] if has_target else ["targetBucket is not set"]

    def inline(bucket: Resource) -> list[str] | None:
        logging = get(bucket.props, "logging")
        if not logging:
            return None
        return [] if get(logging, "targetBucket") else ["logging has no targetBucket"]

    return _bucket_rule(resources, tokens.S3_BUCKET_LOGGING,
                        "bucket has no BucketLogging (server access logs)",
                        companion_level=companion_level, inline=inline,
                        exempt=lambda b: b.urn in log_buckets)


@stack_rule(
    "s3-access-log-target", area="storage", severity=Severity.MEDIUM,
    types=[tokens.S3_BUCKET_LOGGING, tokens.S3_BUCKET],
    description="Server access logs go to a bucket of this stack (or one listed in "
                "externalLogBuckets), not to an arbitrary bucket.",
    remediation="Set the BucketLogging's target_bucket to the stack's access-logs bucket "
                "(bucket.id), or list the central log bucket in externalLogBuckets.",
    config_schema={"externalLogBuckets": {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "Bucket names outside the stack that may receive access logs.",
    }},
)
def s3_access_log_target(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[Finding]:
    buckets = _buckets(resources)
    external = {str(b) for b in config.get("externalLogBuckets") or []}

    def in_stack(holder: Resource, prop: str) -> bool:
        return any(refers_to(holder, prop, b, bucket_values(b), buckets) for b in buckets)

    def judge(logging: Resource) -> Iterator[str]:
        target = logging.props.get("targetBucket")
        if not target and not logging.property_dependencies.get("targetBucket"):
            return  # s3-access-logging reports a missing target
        if not in_stack(logging, "targetBucket") and str(target) not in external:
            yield f"target bucket {target} is not a bucket of this stack"

    return iter_findings(of_type(resources, tokens.S3_BUCKET_LOGGING), judge)


@stack_rule(
    "s3-ownership-enforced", area="storage", severity=Severity.MEDIUM,
    types=[tokens.S3_BUCKET, tokens.S3_BUCKET_OWNERSHIP],
    description="Every bucket disables ACLs (object ownership BucketOwnerEnforced).",
    remediation="Add a BucketOwnershipControls on the bucket with rule "
                "{'object_ownership': 'BucketOwnerEnforced'}.",
    references=["CKV2_AWS_65", "Security Hub S3.12"],
)
def s3_ownership_enforced(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[Finding]:
    def companion_level(oc: Resource) -> list[str]:
        value = get(oc.props, "rule.objectOwnership") or get(oc.props, "rule.0.objectOwnership")
        if value == "BucketOwnerEnforced":
            return []
        return [f"object ownership is {value or 'unset'}, not BucketOwnerEnforced"]

    return _bucket_rule(resources, tokens.S3_BUCKET_OWNERSHIP, "bucket has no BucketOwnershipControls",
                        companion_level=companion_level)


_FILTER_KEYS = ("prefix", "objectSizeGreaterThan", "objectSizeLessThan", "tag")


def _whole_bucket(rule: Mapping[str, Any]) -> bool:
    """A lifecycle rule without a narrowing filter applies to every object."""
    flt = get(rule, "filter") or {}
    if isinstance(flt, (list, tuple)):
        flt = flt[0] if flt else {}
    if isinstance(flt, Mapping) and flt.get("and"):
        flt = as_list(flt["and"])[0]
    return not (isinstance(flt, Mapping) and any(get(flt, k) for k in _FILTER_KEYS))


def _aborts_uploads(lc: Resource) -> list[str]:
    rules = as_list(get(lc.props, "rules")) or as_list(get(lc.props, "rule"))
    aborting = [r for r in rules if isinstance(r, Mapping) and get(r, "status") == "Enabled"
                and get(r, "abortIncompleteMultipartUpload") and _whole_bucket(r)]
    return [] if aborting else ["no Enabled whole-bucket rule aborts incomplete multipart uploads"]


@stack_rule(
    "s3-lifecycle", area="storage", severity=Severity.LOW,
    types=[tokens.S3_BUCKET, tokens.S3_BUCKET_LIFECYCLE],
    description="Every bucket has a lifecycle configuration (reported on the bucket) with an "
                "Enabled rule for the whole bucket that aborts incomplete multipart uploads "
                "(reported on the configuration).",
    remediation="Add a BucketLifecycleConfiguration on the bucket with an Enabled rule without "
                "a narrowing filter that sets abort_incomplete_multipart_upload."
                "days_after_initiation (and expires noncurrent versions).",
    references=["CKV2_AWS_61", "CKV_AWS_300", "Security Hub S3.13"],
)
def s3_lifecycle(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    def inline(bucket: Resource) -> list[str] | None:
        rules = as_list(get(bucket.props, "lifecycleRules"))
        if not rules:
            return None
        ok = [r for r in rules if truthy(get(r, "enabled", False))
              and get(r, "abortIncompleteMultipartUploadDays") and not get(r, "prefix")]
        return [] if ok else ["no enabled whole-bucket lifecycle rule aborts incomplete "
                              "multipart uploads"]

    return _bucket_rule(resources, tokens.S3_BUCKET_LIFECYCLE, "bucket has no BucketLifecycleConfiguration",
                        companion_level=_aborts_uploads, inline=inline)


@resource_rule(
    "s3-no-public-policy", area="storage", severity=Severity.CRITICAL,
    types=[tokens.S3_BUCKET_POLICY, tokens.S3_BUCKET],
    description="Bucket policies grant nothing to everyone: no Allow statement with a '*' "
                "principal unless a condition pins the caller (source VPC/endpoint, "
                "organisation, account or principal ARN).",
    remediation="Name the account, role or service principal in the Allow statement (with "
                "aws:SourceAccount / aws:SourceArn conditions for services) instead of '*'.",
    references=["CKV_AWS_70", "Security Hub S3.2", "Security Hub S3.3"],
)
def s3_no_public_policy(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    doc = policy_document(resource.props.get("policy"), "policy")
    for i, stmt in enumerate(statements(doc)):
        if allows(stmt) and is_public_principal(stmt) and not restricts_principal(stmt):
            yield f"statement {stmt.get('Sid') or i} allows principal '*'"


@resource_rule(
    "s3-no-public-acl", area="storage", severity=Severity.CRITICAL,
    types=[tokens.S3_BUCKET_ACL, tokens.S3_BUCKET],
    description="No bucket ACL grants public or any-authenticated-user access.",
    remediation="Remove the BucketAcl (ACLs are disabled with BucketOwnerEnforced) or use "
                "acl 'private'.",
    references=["CKV_AWS_20", "CKV_AWS_57"],
)
def s3_no_public_acl(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    acl = get(resource.props, "acl")
    if acl in PUBLIC_ACLS:
        yield f"canned ACL {acl} makes the bucket public"
    grants = as_list(get(resource.props, "accessControlPolicy.grants"))
    grants += as_list(get(resource.props, "grants"))  # inline grants on the bucket
    for grant in grants:
        uri = str(get(grant, "grantee.uri", "") or get(grant, "uri", ""))
        if uri.endswith("/global/AllUsers") or uri.endswith("/global/AuthenticatedUsers"):
            permission = get(grant, "permission") or ",".join(
                str(p) for p in as_list(get(grant, "permissions")))
            yield f"ACL grants {permission} to {uri.rsplit('/', 1)[-1]}"


@resource_rule(
    "s3-object-kms", area="storage", severity=Severity.MEDIUM, types=OBJECTS,
    description="Objects the stack uploads (pipeline code, definitions) are encrypted with a "
                "customer-managed KMS key (kmsKeyId set).",
    remediation="Set server_side_encryption='aws:kms' and kms_key_id to the environment key "
                "on the BucketObjectv2.",
    references=["CKV_AWS_186"],
)
def s3_object_kms(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if not get(resource.props, "kmsKeyId"):
        yield "kmsKeyId is not set (object encrypted with the bucket default or an AWS key)"


STATEFUL = (tokens.S3_BUCKET, tokens.KMS_KEY, tokens.SAGEMAKER_MODEL_PACKAGE_GROUP)


@resource_rule(
    "stateful-protected", area="storage", severity=Severity.HIGH, types=STATEFUL,
    description="Stateful resources (buckets, KMS keys, model package groups) are protected and "
                "retained on delete, and buckets cannot be force-destroyed. Meant for prod.",
    remediation="Create the resource with ResourceOptions(protect=True, retain_on_delete=True); "
                "for buckets also force_destroy=False.",
)
def stateful_protected(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    if not resource.protect:
        yield "resource is not protected (protect=True)"
    if resource.retain_on_delete is False:
        yield "resource is not retained on delete (retain_on_delete=True)"
    if resource.type == tokens.S3_BUCKET and truthy(get(resource.props, "forceDestroy", False)):
        yield "forceDestroy is true: deleting the stack would empty the bucket"
