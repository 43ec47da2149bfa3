"""Pin promoted model versions in ``stacks/Pulumi.<stack>.yaml`` (``mlops:models``).

A pin is ``{version, packageArn}``, and with the promoted artifact known also ``artifactUri`` and
``artifactSha256`` (what Kubernetes serving loads; SageMaker reads it through the package).

Only ``config.mlops:models.<project>`` is added or replaced; every other byte of the file stays as
it was. The edit is made on the text, at the lines ruamel.yaml reports for the keys, with the
file's own indentation; the result is parsed back and must equal the intended settings. Where the
text cannot be edited that way (flow-style mappings), the file is written by a ruamel.yaml
round trip, which keeps comments and order. The write is atomic (temp file and rename) and skipped
when the pin is already there.
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
    doc = _load(root, stack)[0]
    models = (doc.get("config") or {}).get(MODELS_KEY) or {}
    return {str(k): dict(v) for k, v in models.items()}


def _load(root: Path, stack: str) -> tuple[Any, str]:
    source = stack_file(stack)
    path = root / source
    if not path.is_file():
        raise SettingsError(source, None, "no such stack file")
    text = path.read_text(encoding="utf-8")
    try:
        doc = _yaml().load(text)
    except YAMLError as exc:
        raise SettingsError(source, None, f"invalid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise SettingsError(source, "config", "must be a mapping of settings")
    return doc, text


def pin_entry(version: int, package_arn: str, artifact_uri: str | None = None,
              artifact_sha256: str | None = None) -> dict[str, Any]:
    """The ``mlops:models.<project>`` value: version and package, and the artifact when known."""
    entry: dict[str, Any] = {"version": int(version), "packageArn": package_arn}
    if artifact_uri:
        entry["artifactUri"] = artifact_uri
    if artifact_sha256:
        entry["artifactSha256"] = artifact_sha256
    return entry


def _pins_exactly(models: Any, project: str, entry: dict[str, Any]) -> bool:
    current = models.get(project) if isinstance(models, dict) else None
    return isinstance(current, dict) and dict(current) == entry


def is_pinned(root: Path, stack: str, project: str, version: int, package_arn: str,
              artifact_uri: str | None = None, artifact_sha256: str | None = None) -> bool:
    """Does the stack file already pin ``project`` to exactly this version, package (and
    artifact)?"""
    doc = _load(root, stack)[0]
    return _pins_exactly(doc["config"].get(MODELS_KEY), project,
                         pin_entry(version, package_arn, artifact_uri, artifact_sha256))


def write_pin(root: Path, stack: str, project: str, version: int, package_arn: str,
              artifact_uri: str | None = None, artifact_sha256: str | None = None) -> bool:
    """Set ``mlops:models.<project>`` to ``{version, packageArn[, artifactUri, artifactSha256]}``;
    True when the file changed."""
    source = stack_file(stack)
    doc, text = _load(root, stack)
    config = doc["config"]
    models = config.get(MODELS_KEY)
    if models is not None and not isinstance(models, dict):
        raise SettingsError(source, MODELS_KEY, "must be a mapping of project -> {version, packageArn}")
    entry = pin_entry(version, package_arn, artifact_uri, artifact_sha256)
    if _pins_exactly(models, project, entry):
        return False
    expected = YAML(typ="safe", pure=True).load(text)
    expected["config"][MODELS_KEY] = {**(expected["config"].get(MODELS_KEY) or {}), project: entry}
    edited = _splice(text, doc, project, entry)
    if edited is None or YAML(typ="safe", pure=True).load(edited) != expected:
        edited = _round_trip(doc, project, entry)
    _atomic_write(root / source, edited)
    return True


def _round_trip(doc: Any, project: str, fields: dict[str, Any]) -> str:
    config = doc["config"]
    if config.get(MODELS_KEY) is None:
        config[MODELS_KEY] = CommentedMap()
    entry = CommentedMap()
    for key, value in fields.items():
        entry[key] = value
    config[MODELS_KEY][project] = entry
    buffer = io.StringIO()
    _yaml().dump(doc, buffer)
    return buffer.getvalue()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _block_end(lines: list[str], start: int) -> int:
    """The index after the last content line of the block whose key is on line ``start``
    (trailing comments and blank lines stay with what follows)."""
    col = _indent(lines[start])
    end = start + 1
    for i in range(start + 1, len(lines)):
        if _content(lines[i]):
            stripped = lines[i].strip()
            dash = stripped == "-" or stripped.startswith("- ")
            if _indent(lines[i]) < col or (_indent(lines[i]) == col and not dash):
                break
            end = i + 1
    return end


def _block_style(node: Any) -> bool:
    return isinstance(node, CommentedMap) and not node.fa.flow_style() and len(node) > 0


def _splice(text: str, doc: Any, project: str, entry_fields: dict[str, Any]) -> str | None:
    """The text with the pin added or replaced in place; None when the layout is not plain
    block style (the caller then falls back to a round trip)."""
    config = doc["config"]
    if not _block_style(config):
        return None
    config_line, config_col = doc.lc.key("config")
    child = config.lc.key(next(iter(config)))[1]
    step = child - config_col
    if step <= 0:
        return None
    lines = text.splitlines(keepends=True)

    def fields(col: int) -> list[str]:
        return [f"{' ' * col}{key}: {value}\n" for key, value in entry_fields.items()]

    def entry(col: int) -> list[str]:
        return [f"{' ' * col}{project}:\n", *fields(col + step)]

    models = config.get(MODELS_KEY)
    if MODELS_KEY not in config:
        at, new = _block_end(lines, config_line), [f"{' ' * child}{MODELS_KEY}:\n", *entry(child + step)]
    elif not _block_style(models):
        return None
    elif project in models:
        if not _block_style(models[project]):
            return None
        line = models.lc.key(project)[0]  # kept as it is, with its comment
        current = models[project]
        lines[line + 1:_block_end(lines, line)] = fields(current.lc.key(next(iter(current)))[1])
        return "".join(lines)
    else:
        at = _block_end(lines, config.lc.key(MODELS_KEY)[0])
        new = entry(models.lc.key(next(iter(models)))[1])
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    lines[at:at] = new
    return "".join(lines)


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
