"""Where a local run reads its inputs and writes its outputs: S3 (the sandbox, or any endpoint
the AWS environment names) or a local folder standing in for S3 (``--data DIR``).

Both speak ``s3://bucket/key`` URIs, so the definition's locations are used as they are. In a
folder, ``s3://bucket/key`` is ``DIR/bucket/key``. Uploads name the step's KMS key, so the
sandbox's KMS-only bucket policies see the requests AWS would.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mlops.errors import UsageError


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); UsageError for anything else."""
    bucket, _, key = uri[5:].partition("/") if isinstance(uri, str) else ("", "", "")
    if not isinstance(uri, str) or not uri.startswith("s3://") or not bucket:
        raise UsageError(f"not an s3:// URI: {uri!r}")
    return bucket, key


def join_uri(prefix: str, *parts: str) -> str:
    """``prefix`` and ``parts`` joined with single slashes."""
    return "/".join([prefix.rstrip("/"), *(p.strip("/") for p in parts if p)])


def relative_key(key: str, prefix: str) -> str:
    """Where an object under ``prefix`` lands below a local folder, as SageMaker stages it:
    its path below the prefix, or its file name when the prefix is the object itself."""
    rest = key[len(prefix):].lstrip("/") if key.startswith(prefix) else key
    return rest or key.rsplit("/", 1)[-1]


class Store(Protocol):
    """Objects by ``s3://`` URI."""

    @property
    def description(self) -> str:
        """Where the objects are, for messages."""

    def keys(self, uri: str) -> list[str]:
        """URIs of the objects whose key starts with ``uri``'s key, sorted."""

    def read(self, uri: str) -> bytes:
        """One object's content; FileNotFoundError when there is none."""

    def write(self, uri: str, data: bytes, kms_key: str | None) -> None:
        """Put one object (SSE-KMS with ``kms_key`` where the store encrypts)."""


def download(store: Store, uri: str, target: Path) -> int:
    """Stage every object below ``uri`` into ``target`` the way SageMaker's File mode does;
    returns how many objects were staged."""
    _, prefix = split_uri(uri)
    count = 0
    for key_uri in store.keys(uri):
        path = target / relative_key(split_uri(key_uri)[1], prefix)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(store.read(key_uri))
        count += 1
    return count


def upload(store: Store, source: Path, uri: str, kms_key: str | None) -> list[str]:
    """Put every file below ``source`` under ``uri`` (relative paths kept); the URIs written."""
    written = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        target = join_uri(uri, path.relative_to(source).as_posix())
        store.write(target, path.read_bytes(), kms_key)
        written.append(target)
    return written


@dataclass
class S3Store:
    """Objects in S3 through a boto3 client (the sandbox when the environment points there)."""

    s3: Any
    description: str = "S3"

    def keys(self, uri: str) -> list[str]:
        bucket, prefix = split_uri(uri)
        found = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found += [f"s3://{bucket}/{o['Key']}" for o in page.get("Contents", [])
                      if not o["Key"].endswith("/")]
        return sorted(found)

    def read(self, uri: str) -> bytes:
        from mlops.ops.aws import is_not_found

        bucket, key = split_uri(uri)
        try:
            return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except Exception as exc:
            if is_not_found(exc):
                raise FileNotFoundError(uri) from None
            raise

    def write(self, uri: str, data: bytes, kms_key: str | None) -> None:
        bucket, key = split_uri(uri)
        encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
        self.s3.put_object(Bucket=bucket, Key=key, Body=data, **encryption)


@dataclass
class DirStore:
    """A local folder standing in for S3: ``s3://bucket/key`` is ``root/bucket/key``."""

    root: Path

    @property
    def description(self) -> str:
        return f"local folder {self.root}"

    def path(self, uri: str) -> Path:
        bucket, key = split_uri(uri)
        return self.root / bucket / key

    def keys(self, uri: str) -> list[str]:
        bucket, prefix = split_uri(uri)
        base = self.root / bucket
        if not base.is_dir():
            return []
        return sorted(f"s3://{bucket}/{p.relative_to(base).as_posix()}" for p in _files(base)
                      if p.relative_to(base).as_posix().startswith(prefix))

    def read(self, uri: str) -> bytes:
        path = self.path(uri)
        if not path.is_file():
            raise FileNotFoundError(uri)
        return path.read_bytes()

    def write(self, uri: str, data: bytes, kms_key: str | None) -> None:
        path = self.path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _files(base: Path) -> Iterator[Path]:
    return (p for p in base.rglob("*") if p.is_file())


def clear(folder: Path) -> None:
    """Remove a working folder and everything in it (missing is fine)."""
    shutil.rmtree(folder, ignore_errors=True)
