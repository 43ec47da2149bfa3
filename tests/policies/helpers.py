"""Small hand-made resources for rule tests (engine camelCase props, Pulumi type tokens)."""

from __future__ import annotations

import json
from typing import Any

from common import tokens
from policies.core import Finding, Resource
from policies.engine import run_rule
from policies.rules import get_rule

STACK = "urn:pulumi:test::mlops-platform::"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
ACCOUNT = "123456789012"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def urn(token: str, name: str) -> str:
    return f"{STACK}{token}::{name}"


def res(token: str, name: str, props: dict[str, Any] | None = None, *,
        deps: dict[str, list[Resource]] | None = None, protect: bool = False,
        retain: bool | None = False) -> Resource:
    """A resource; ``deps`` maps a property to the resources it depends on."""
    return Resource(
        urn=urn(token, name), type=token, name=name, props=props or {},
        property_dependencies={k: [d.urn for d in v] for k, v in (deps or {}).items()},
        protect=protect, retain_on_delete=retain,
    )


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def findings(rule_id: str, resources: list[Resource], config: dict[str, Any] | None = None
             ) -> list[Finding]:
    return run_rule(get_rule(rule_id), resources, config).findings


def violations(rule_id: str, resources: list[Resource], config: dict[str, Any] | None = None
               ) -> list[str]:
    return [f"{f.resource.name}: {f.message}" for f in findings(rule_id, resources, config)
            if not f.unknown]


def unknowns(rule_id: str, resources: list[Resource], config: dict[str, Any] | None = None
             ) -> list[str]:
    return [f.message for f in findings(rule_id, resources, config) if f.unknown]


# --- a bucket with every companion, as infra/components/storage.py builds it ---------------

BUCKET = tokens.S3_BUCKET
SSE = tokens.S3_BUCKET_SSE
VERSIONING = tokens.S3_BUCKET_VERSIONING
PAB = tokens.S3_BUCKET_PUBLIC_ACCESS_BLOCK
POLICY = tokens.S3_BUCKET_POLICY
LOGGING = tokens.S3_BUCKET_LOGGING
OWNERSHIP = tokens.S3_BUCKET_OWNERSHIP
LIFECYCLE = tokens.S3_BUCKET_LIFECYCLE

TLS_DENY = {
    "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def companions(bucket: Resource, *, skip: tuple[str, ...] = (), log_bucket: Resource | None = None,
               **props: dict[str, Any]) -> list[Resource]:
    """The companions of ``bucket`` (``skip`` leaves some out; ``props`` overrides by kind)."""
    name = bucket.name
    on = {"bucket": [bucket]}
    value = bucket.props["bucket"]
    defaults: dict[str, tuple[str, dict[str, Any]]] = {
        "sse": (SSE, {"bucket": value, "rules": [{
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms",
                                                   "kmsMasterKeyId": KEY_ARN},
            "bucketKeyEnabled": True}]}),
        "versioning": (VERSIONING, {"bucket": value,
                                    "versioningConfiguration": {"status": "Enabled"}}),
        "pab": (PAB, {"bucket": value, "blockPublicAcls": True, "blockPublicPolicy": True,
                      "ignorePublicAcls": True, "restrictPublicBuckets": True}),
        "policy": (POLICY, {"bucket": value, "policy": doc(TLS_DENY)}),
        "ownership": (OWNERSHIP, {"bucket": value,
                                  "rule": {"objectOwnership": "BucketOwnerEnforced"}}),
        "lifecycle": (LIFECYCLE, {"bucket": value, "rules": [{
            "id": "abort", "status": "Enabled", "filter": {"prefix": ""},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}]}),
    }
    out = []
    for kind, (token, default) in defaults.items():
        if kind in skip:
            continue
        out.append(res(token, f"{name}-{kind}", {**default, **props.get(kind, {})}, deps=on))
    if log_bucket is not None and "logging" not in skip:
        out.append(res(LOGGING, f"{name}-logging",
                       {"bucket": value, "targetBucket": log_bucket.props["bucket"],
                        "targetPrefix": f"{value}/", **props.get("logging", {})},
                       deps={"bucket": [bucket], "targetBucket": [log_bucket]}))
    return out


def bucket(name: str, **props: Any) -> Resource:
    """A protected bucket (as in prod) named mlops-test-<name>."""
    return res(BUCKET, name, {"bucket": f"mlops-test-{name}", **props}, protect=True, retain=True)


def secure_buckets(**overrides: Any) -> list[Resource]:
    """A log bucket and a data bucket, both complete; overrides apply to the data bucket."""
    logs = bucket("logs")
    data = bucket("data")
    return [logs, *companions(logs), data, *companions(data, log_bucket=logs, **overrides)]
