"""Pin promoted model versions in ``stacks/Pulumi.<stack>.yaml`` (``mlops:models``).

A round-trip (ruamel.yaml) edit: comments, key order, quoting and the rest of the file survive;
only ``config.mlops:models.<project>`` is added or replaced. The write is atomic (temp file and
rename) and skipped when the pin is already there.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from infra.config import NAMESPACE, SettingsError, stack_file

MODELS_KEY = f"{NAMESPACE}:models"


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def read_pins(root: Path, stack: str) -> dict[str, dict[str, Any]]:
    """The ``mlops:models`` map of a stack file (empty when absent)."""
    doc = _load(root, stack)
    models = (doc.get("config") or {}).get(MODELS_KEY) or {}
    return {str(k): dict(v) for k, v in models.items()}


def _load(root: Path, stack: str) -> Any:
    source = stack_file(stack)
    path = root / source
    if not path.is_file():
        raise SettingsError(source, None, "no such stack file")
    try:
        doc = _yaml().load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        raise SettingsError(source, None, f"invalid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise SettingsError(source, "config", "must be a mapping of settings")
    return doc


def write_pin(root: Path, stack: str, project: str, version: int, package_arn: str) -> bool:
    """Set ``mlops:models.<project>`` to ``{version, packageArn}``; True when the file changed."""
    source = stack_file(stack)
    path = root / source
    doc = _load(root, stack)
    config = doc["config"]
    models = config.get(MODELS_KEY)
    if models is not None and not isinstance(models, dict):
        raise SettingsError(source, MODELS_KEY, "must be a mapping of project -> {version, packageArn}")
    current = (models or {}).get(project)
    if isinstance(current, dict) and current.get("version") == version \
            and current.get("packageArn") == package_arn:
        return False
    if models is None:
        models = CommentedMap()
        config[MODELS_KEY] = models
    entry = CommentedMap()
    entry["version"] = int(version)
    entry["packageArn"] = package_arn
    models[project] = entry
    buffer = io.StringIO()
    _yaml().dump(doc, buffer)
    _atomic_write(path, buffer.getvalue())
    return True


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
