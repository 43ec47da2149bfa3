"""Model artifacts in S3: content-addressed keys, SHA-256 checks, verified copies and uploads.

An environment keeps artifacts at ``models/<project>/<sha256>/<file name>`` in its model-artifacts
bucket, SSE-KMS with its own key, the checksum also in the object's ``sha256`` metadata. Every
write is verified by hashing what landed, so a copy is either complete and correct or an error.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlops.errors import UsageError
from mlops.ops.aws import OpsError, error_code, is_not_found

CHUNK = 1024 * 1024
COPY_LIMIT = 5 * 1024**3  # CopyObject's limit; larger objects take the managed multipart copy


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); UsageError for anything else."""
    match = re.match(r"^s3://([^/]+)/(.+)$", uri)
    if not match:
        raise UsageError(f"not an s3://bucket/key URI: {uri!r}")
    return match.group(1), match.group(2)


def key_for(project: str, sha256: str, name: str) -> str:
    return f"models/{project}/{sha256}/{name}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_object(s3: Any, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """HeadObject, or None when the object does not exist."""
    try:
        return dict(s3.head_object(Bucket=bucket, Key=key))
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise


def check(s3: Any, uri: str, sha256: str | None) -> tuple[bool, str]:
    """Does the artifact exist and hash to the checksum recorded at registration?"""
    if not sha256:
        return False, ("no checksum recorded (mlops:artifactSha256); approving the version with "
                       "`mlops models approve` records it")
    if not uri:
        return False, "no artifact (ModelDataUrl) on the package"
    bucket, key = split_s3(uri)
    try:
        actual = sha256_object(s3, bucket, key)
    except Exception as exc:
        if is_not_found(exc) or error_code(exc) == "AccessDenied":
            return False, f"artifact {uri} missing ({error_code(exc)})"
        raise
    if actual != sha256:
        return False, f"artifact {uri} sha256 {actual[:12]}… != recorded {sha256[:12]}…"
    return True, f"{uri.rsplit('/', 1)[-1]} sha256 {sha256[:12]}… matches the registered checksum"


def _ensure(s3: Any, bucket: str, key: str, sha256: str, write: Callable[[], Any],
            what: str) -> str:
    """Run ``write`` unless the object is already there with this checksum, then verify it."""
    uri = f"s3://{bucket}/{key}"
    found = head(s3, bucket, key)
    if found and (found.get("Metadata") or {}).get("sha256") == sha256 \
            and sha256_object(s3, bucket, key) == sha256:
        return uri
    write()
    actual = sha256_object(s3, bucket, key)
    if actual != sha256:
        raise OpsError(f"{what} landed at {uri} with sha256 {actual}, expected {sha256}")
    return uri


def copy(s3: Any, src_uri: str, bucket: str, key: str, sha256: str,
         encryption: dict[str, str]) -> str:
    """Copy ``src_uri`` to ``bucket``/``key`` re-encrypted with ``encryption`` (SSE-KMS args),
    unless it is already there; returns the URI of the verified copy."""
    src_bucket, src_key = split_s3(src_uri)
    source = {"Bucket": src_bucket, "Key": src_key}
    args = {**encryption, "Metadata": {"sha256": sha256}}

    def write() -> None:
        size = int((head(s3, src_bucket, src_key) or {}).get("ContentLength") or 0)
        if size > COPY_LIMIT:
            s3.copy(source, bucket, key, ExtraArgs=args)
        else:
            s3.copy_object(CopySource=source, Bucket=bucket, Key=key, MetadataDirective="REPLACE",
                           **args)

    return _ensure(s3, bucket, key, sha256, write, f"copy of {src_uri}")


def copy_beside(s3: Any, src_uri: str, bucket: str, project: str, artifact_sha256: str,
                stem: str, encryption: dict[str, str]) -> tuple[str, str]:
    """Copy a small object a package refers to (a drift baseline) next to the artifact, at
    ``models/<project>/<artifact sha256>/<stem>-<sha12>.json``, re-encrypted and verified;
    returns (URI of the copy, its sha256)."""
    src_bucket, src_key = split_s3(src_uri)
    sha256 = sha256_object(s3, src_bucket, src_key)
    key = key_for(project, artifact_sha256, f"{stem}-{sha256[:12]}.json")
    return copy(s3, src_uri, bucket, key, sha256, encryption), sha256


def upload(s3: Any, path: Path, bucket: str, key: str, sha256: str,
           encryption: dict[str, str]) -> str:
    """Upload a local file unless it is already there; returns the URI of the verified object."""
    from boto3.s3.transfer import TransferConfig

    def write() -> None:
        s3.upload_file(str(path), bucket, key,
                       ExtraArgs={**encryption, "Metadata": {"sha256": sha256}},
                       Config=TransferConfig(use_threads=False))

    return _ensure(s3, bucket, key, sha256, write, f"upload of {path}")
