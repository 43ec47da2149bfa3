"""S3 rules. With pulumi-aws 7 a bucket's settings are companion resources joined on ``bucket``,
so most of these are stack rules that follow property dependencies from companion to bucket."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

from policies.core import (
    Finding,
    Resource,
    Severity,
    allows,
    as_list,
    companions,
    each,
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

BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
ACL = "aws:s3/bucketAcl:BucketAcl"

PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")


def bucket_values(bucket: Resource) -> list[Any]:
    """Values a companion's ``bucket`` input may hold for this bucket (name, id, ARN)."""
    return [bucket.props.get("bucket"), bucket.props.get("id"), bucket.props.get("arn")]


def _companions(resources: Sequence[Resource], bucket: Resource, token: str) -> list[Resource]:
    return companions(resources, bucket, token, "bucket", bucket_values(bucket))


def _buckets(resources: Sequence[Resource]) -> list[Resource]:
    return of_type(resources, BUCKET)


def _sse_algorithm(i: int, rule: Any) -> Iterator[str]:
    algo = get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm")
    if algo not in KMS_ALGORITHMS:
        yield f"rules[{i}] uses {algo or 'no algorithm'}, not aws:kms"
        return
    key = get(rule, "applyServerSideEncryptionByDefault.kmsMasterKeyId")
    if not key:
        yield f"rules[{i}] uses the AWS-managed key (no kmsMasterKeyId)"
    elif str(key).startswith("alias/aws/"):
        yield f"rules[{i}] uses the AWS-managed key {key}"


def _sse_bucket_key(i: int, rule: Any) -> Iterator[str]:
    if not truthy(get(rule, "bucketKeyEnabled", False)):
        yield f"rules[{i}] has bucketKeyEnabled off"


Inline = Callable[[Resource], "list[str] | None"]


def _bucket_rule(
    resources: Sequence[Resource], token: str, missing: str,
    judge_companion: Callable[[Resource], Iterator[str]],
    exempt: Callable[[Resource], bool] = lambda bucket: False,
    inline: Inline | None = None,
) -> Iterator[Finding]:
    """A bucket without a ``token`` companion is a violation on the bucket; a companion with
    wrong settings is a violation on the companion (joined or not to a bucket of the stack).

    ``inline`` judges the deprecated inline form of the setting on the bucket itself: None
    when the bucket has none (a companion is needed), else its messages (empty: satisfied).
    """

    def judge_bucket(bucket: Resource) -> Iterator[str]:
        if exempt(bucket) or _companions(resources, bucket, token):
            return
        verdict = inline(bucket) if inline is not None else None
        if verdict is None:
            yield missing
        else:
            yield from verdict

    yield from iter_findings(_buckets(resources), judge_bucket)
    yield from iter_findings(of_type(resources, token), judge_companion)


@stack_rule(
    "s3-encryption-kms", area="storage", severity=Severity.HIGH, types=[BUCKET, SSE],
    description="Every bucket has default encryption with SSE-KMS, a customer-managed key and "
                "the S3 bucket key enabled.",
    remediation="Add a BucketServerSideEncryptionConfiguration on the bucket with "
                "sse_algorithm 'aws:kms', kms_master_key_id set to the environment key and "
                "bucket_key_enabled=True.",
    references=["CKV_AWS_145", "CKV_AWS_19", "Security Hub S3.17"],
)
def s3_encryption_kms(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    def judge(sse: Resource) -> Iterator[str]:
        rules = as_list(get(sse.props, "rules"))
        if not rules:
            yield "no encryption rule"
        for i, rule in enumerate(rules):
            yield from each(partial(_sse_algorithm, i, rule), partial(_sse_bucket_key, i, rule))

    def inline(bucket: Resource) -> list[str] | None:
        sse = get(bucket.props, "serverSideEncryptionConfiguration")
        if not sse:
            return None
        rules = as_list(get(sse, "rule")) or as_list(get(sse, "rules"))
        if not rules:
            return ["serverSideEncryptionConfiguration has no rule"]
        return [m for i, r in enumerate(rules)
                for m in each(partial(_sse_algorithm, i, r), partial(_sse_bucket_key, i, r))]

    return _bucket_rule(resources, SSE, "bucket has no BucketServerSideEncryptionConfiguration",
                        judge, inline=inline)


@stack_rule(
    "s3-versioning", area="storage", severity=Severity.MEDIUM, types=[BUCKET, VERSIONING],
    description="Every bucket has versioning Enabled, so overwritten and deleted objects can be "
                "recovered.",
    remediation="Add a BucketVersioning on the bucket with versioning_configuration "
                "{'status': 'Enabled'}.",
    references=["CKV_AWS_21", "Security Hub S3.14"],
)
def s3_versioning(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    def judge(v: Resource) -> Iterator[str]:
        status = get(v.props, "versioningConfiguration.status")
        if status != "Enabled":
            yield f"versioning status is {status or 'unset'}, not Enabled"

    def inline(bucket: Resource) -> list[str] | None:
        versioning = get(bucket.props, "versioning")
        if not versioning:
            return None
        return [] if truthy(get(versioning, "enabled", False)) else ["versioning is not enabled"]

    return _bucket_rule(resources, VERSIONING, "bucket has no BucketVersioning", judge,
                        inline=inline)


@stack_rule(
    "s3-public-access-block", area="storage", severity=Severity.CRITICAL, types=[BUCKET, PAB],
    description="Every bucket has a public access block with all four flags true.",
    remediation="Add a BucketPublicAccessBlock on the bucket with block_public_acls, "
                "block_public_policy, ignore_public_acls and restrict_public_buckets all True.",
    references=["CKV2_AWS_6", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56",
                "Security Hub S3.8", "CIS AWS 2.1.4"],
)
def s3_public_access_block(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[Finding]:
    def judge(pab: Resource) -> Iterator[str]:
        off = [f for f in PAB_FLAGS if not truthy(get(pab.props, f, False))]
        if off:
            yield f"{', '.join(off)} not true"

    return _bucket_rule(resources, PAB, "bucket has no BucketPublicAccessBlock", judge)


def _denies_insecure_transport(doc: Mapping[str, Any] | None) -> bool:
    for stmt in statements(doc):
        if str(stmt.get("Effect", "")).lower() != "deny" or not is_public_principal(stmt):
            continue
        actions = [str(a) for a in as_list(stmt.get("Action"))]
        if not any(a in ("*", "s3:*") for a in actions):
            continue
        condition = stmt.get("Condition") or {}
        for operator in ("Bool", "BoolIfExists"):
            value = (condition.get(operator) or {}).get("aws:SecureTransport")
            if str(value).lower() == "false" or value is False:
                return True
    return False


@stack_rule(
    "s3-tls-only", area="storage", severity=Severity.HIGH, types=[BUCKET, POLICY],
    description="Every bucket's policy denies requests that do not use TLS "
                "(aws:SecureTransport = false).",
    remediation="Attach a BucketPolicy with a Deny statement for Principal '*', Action 's3:*' "
                "on the bucket and its objects, Condition Bool aws:SecureTransport 'false'.",
    references=["Security Hub S3.5", "CIS AWS 2.1.1"],
)
def s3_tls_only(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    def judge(policy: Resource) -> Iterator[str]:
        doc = policy_document(policy.props.get("policy"), f"{policy.name}.policy")
        if not _denies_insecure_transport(doc):
            yield "bucket policy does not deny aws:SecureTransport=false for s3:*"

    def inline(bucket: Resource) -> list[str] | None:
        if not bucket.props.get("policy"):
            return None
        doc = policy_document(bucket.props.get("policy"), f"{bucket.name}.policy")
        return [] if _denies_insecure_transport(doc) else [
            "bucket policy does not deny aws:SecureTransport=false for s3:*"]

    return _bucket_rule(resources, POLICY, "bucket has no BucketPolicy denying insecure transport",
                        judge, inline=inline)


@stack_rule(
    "s3-access-logging", area="storage", severity=Severity.MEDIUM, types=[BUCKET, LOGGING],
    description="Every bucket except the access-log bucket writes server access logs to a "
                "log bucket of this stack.",
    remediation="Add a BucketLogging on the bucket with target_bucket set to the stack's "
                "access-logs bucket (bucket.id) and a per-bucket target_prefix.",
    references=["CKV_AWS_18", "Security Hub S3.9"],
    config_schema={"externalLogBuckets": {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "Bucket names outside the stack that may receive access logs.",
    }},
)
def s3_access_logging(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    buckets = _buckets(resources)
    external = set(config.get("externalLogBuckets") or [])

    def targets(logging: Resource) -> list[Resource]:
        return [b for b in buckets
                if refers_to(logging, "targetBucket", b, bucket_values(b))]

    log_buckets = {b.urn for lg in of_type(resources, LOGGING) for b in targets(lg)}

    def judge(logging: Resource) -> Iterator[str]:
        target = get(logging.props, "targetBucket")
        if not target and not logging.property_dependencies.get("targetBucket"):
            yield "targetBucket is not set"
        elif not targets(logging) and target not in external:
            yield f"target bucket {target} is not a log bucket of this stack"

    def inline(bucket: Resource) -> list[str] | None:
        logging = get(bucket.props, "logging")
        if not logging:
            return None
        return [] if get(logging, "targetBucket") else ["logging has no targetBucket"]

    return _bucket_rule(resources, LOGGING, "bucket has no BucketLogging (server access logs)",
                        judge, exempt=lambda b: b.urn in log_buckets, inline=inline)


@stack_rule(
    "s3-ownership-enforced", area="storage", severity=Severity.MEDIUM,
    types=[BUCKET, OWNERSHIP],
    description="Every bucket disables ACLs (object ownership BucketOwnerEnforced).",
    remediation="Add a BucketOwnershipControls on the bucket with rule "
                "{'object_ownership': 'BucketOwnerEnforced'}.",
    references=["CKV2_AWS_65", "Security Hub S3.12"],
)
def s3_ownership_enforced(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[Finding]:
    def judge(oc: Resource) -> Iterator[str]:
        value = get(oc.props, "rule.objectOwnership")
        if value != "BucketOwnerEnforced":
            yield f"object ownership is {value or 'unset'}, not BucketOwnerEnforced"

    return _bucket_rule(resources, OWNERSHIP, "bucket has no BucketOwnershipControls", judge)


_FILTER_KEYS = ("prefix", "objectSizeGreaterThan", "objectSizeLessThan", "tag")


def _whole_bucket(rule: Mapping[str, Any]) -> bool:
    """A lifecycle rule without a narrowing filter applies to every object."""
    if get(rule, "prefix"):
        return False
    flt = get(rule, "filter") or {}
    if isinstance(flt, Mapping) and isinstance(flt.get("and"), Mapping):
        flt = flt["and"]
    return not (isinstance(flt, Mapping) and any(get(flt, k) for k in _FILTER_KEYS))


@stack_rule(
    "s3-lifecycle", area="storage", severity=Severity.LOW, types=[BUCKET, LIFECYCLE],
    description="Every bucket has a lifecycle configuration with an enabled rule, for the whole "
                "bucket, that aborts incomplete multipart uploads.",
    remediation="Add a BucketLifecycleConfiguration on the bucket with an Enabled rule without "
                "a narrowing filter that sets abort_incomplete_multipart_upload."
                "days_after_initiation (and expires noncurrent versions).",
    references=["CKV2_AWS_61", "CKV_AWS_300", "Security Hub S3.13"],
)
def s3_lifecycle(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    def judge(lc: Resource) -> Iterator[str]:
        rules = as_list(get(lc.props, "rules"))
        aborting = [r for r in rules if get(r, "status") == "Enabled"
                    and get(r, "abortIncompleteMultipartUpload") and _whole_bucket(r)]
        if not aborting:
            yield "no Enabled whole-bucket rule aborts incomplete multipart uploads"

    def inline(bucket: Resource) -> list[str] | None:
        rules = as_list(get(bucket.props, "lifecycleRules"))
        if not rules:
            return None
        ok = [r for r in rules if truthy(get(r, "enabled", False))
              and get(r, "abortIncompleteMultipartUploadDays") and not get(r, "prefix")]
        return [] if ok else ["no enabled whole-bucket lifecycle rule aborts incomplete "
                              "multipart uploads"]

    return _bucket_rule(resources, LIFECYCLE, "bucket has no BucketLifecycleConfiguration", judge,
                        inline=inline)


@resource_rule(
    "s3-no-public-policy", area="storage", severity=Severity.CRITICAL, types=[POLICY, BUCKET],
    description="Bucket policies grant nothing to everyone: no Allow statement with a '*' "
                "principal.",
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
    "s3-no-public-acl", area="storage", severity=Severity.CRITICAL, types=[ACL, BUCKET],
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


STATEFUL = (BUCKET, "aws:kms/key:Key", "aws:sagemaker/modelPackageGroup:ModelPackageGroup")


@resource_rule(
    "stateful-protected", area="storage", severity=Severity.HIGH, types=STATEFUL,
    description="Stateful resources (buckets, KMS keys, model package groups) are protected and "
                "retained on delete, and buckets cannot be force-destroyed. Meant for prod.",
    remediation="Create the resource with ResourceOptions(protect=True, retain_on_delete=True); "
                "for buckets also force_destroy=False.",
)
def stateful_protected(resource: Resource, config: Mapping[str, Any]) -> Iterator[str]:
    def options() -> Iterator[str]:
        if not resource.protect:
            yield "resource is not protected (protect=True)"
        if resource.retain_on_delete is False:
            yield "resource is not retained on delete (retain_on_delete=True)"

    def force_destroy() -> Iterator[str]:
        if resource.type == BUCKET and truthy(get(resource.props, "forceDestroy", False)):
            yield "forceDestroy is true: deleting the stack would empty the bucket"

    return each(options, force_destroy)
