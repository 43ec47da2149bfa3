"""The platform's shared step code: the files of ``infra/drift/code/`` that project steps mount.

One list, used everywhere the code is uploaded (the Pipelines component, ``mlops pipelines
submit``, local runs) and to name the prefix it lives at in each stack's workspace bucket:
``s3://<pipeline-workspace>/_platform/code/<hash12>``, content-addressed by the files' hash, so a
change of the code is a new prefix (and a new render: the prefix is in the project's context).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CODE_DIR = Path(__file__).resolve().parents[1] / "drift" / "code"
PREFIX = "_platform/code"
HASH_LENGTH = 12
_SKIP_NAMES = {"__init__.py"}
_SKIP_DIRS = {"__pycache__"}


@dataclass(frozen=True)
class PlatformCode:
    """The shared step code: its folder, its files (sorted) and their content hash.

    Unpacks as ``files, digest`` (``digest``: the 12 characters that name the prefix).
    """

    folder: Path
    files: tuple[Path, ...]
    hash: str  # sha256 over relative paths and contents

    @property
    def digest(self) -> str:
        """The hash's first 12 characters: the last part of the prefix."""
        return self.hash[:HASH_LENGTH]

    def __iter__(self) -> Iterator[Any]:
        return iter((self.files, self.digest))

    def relative(self, path: Path) -> str:
        return path.relative_to(self.folder).as_posix()

    def prefix(self, workspace_bucket: str) -> str:
        """``s3://<bucket>/_platform/code/<digest>`` (``workspace_bucket`` with or without
        s3://)."""
        bucket = workspace_bucket.removeprefix("s3://")
        return f"s3://{bucket}/{PREFIX}/{self.digest}"


def platform_code_files(folder: Path | None = None) -> PlatformCode:
    """The platform step code in ``folder`` (default ``CODE_DIR``, ``infra/drift/code``), hashed:
    every file but ``__init__.py``, ``__pycache__/`` and compiled Python."""
    folder = CODE_DIR if folder is None else folder
    files = tuple(sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.name not in _SKIP_NAMES and p.suffix not in (".pyc", ".pyo")
        and not (_SKIP_DIRS & set(p.relative_to(folder).parts))
    )) if folder.is_dir() else ()
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return PlatformCode(folder=folder, files=files, hash=digest.hexdigest())
