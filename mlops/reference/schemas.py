"""reference/stack-settings.md and reference/project-manifest.md: the JSON schemas of the
stack settings model (``infra.config.Settings``) and of ``project.yaml``
(``infra.projects.manifest``), as tables of keys with their types, defaults and constraints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mlops.reference.markdown import cell, code, paragraphs, slug, table

# Constraint keywords shown in the tables, with how they read.
CONSTRAINTS = (
    ("minimum", ">= {}"), ("exclusiveMinimum", "> {}"), ("maximum", "<= {}"),
    ("exclusiveMaximum", "< {}"), ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"), ("minItems", "at least {} item(s)"),
    ("maxItems", "at most {} items"), ("pattern", "matches {}"),
)

# Keys of the stack file that are not under `mlops:` (infra.config._TOP_LEVEL).
AWS_KEYS = {"region": "aws:region", "defaultTags": "aws:defaultTags"}


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(prop: Mapping[str, Any]) -> str:
    """A property's type in words, with links to the sections of referenced models."""
    if "$ref" in prop:
        name = _ref_name(prop["$ref"])
        return f"[{name}](#{slug(name)})"
    if "anyOf" in prop:
        kinds = [type_of(p) for p in prop["anyOf"] if p.get("type") != "null"]
        nullable = any(p.get("type") == "null" for p in prop["anyOf"])
        return " or ".join(kinds) + (" or null" if nullable else "")
    if "enum" in prop:
        return " \\| ".join(code(json.dumps(v)) for v in prop["enum"])
    if "const" in prop:
        return code(json.dumps(prop["const"]))
    kind = prop.get("type")
    if kind == "array":
        return f"list of {type_of(prop.get('items') or {})}"
    if kind == "object":
        values = prop.get("additionalProperties")
        if isinstance(values, Mapping):
            return f"map of name to {type_of(values)}"
        return "object"
    if isinstance(kind, list):
        return " or ".join(kind)
    return str(kind or "any")


def constraints_of(prop: Mapping[str, Any]) -> str:
    """Constraints of a property (and of its non-null alternative), in words."""
    found = []
    for candidate in [prop, *[p for p in prop.get("anyOf", []) if p.get("type") != "null"],
                      prop.get("items") or {}]:
        for key, shape in CONSTRAINTS:
            if key in candidate:
                value = candidate[key]
                shown = code(value) if key == "pattern" else str(value)
                found.append(shape.format(shown))
    return "; ".join(found) or "-"


def default_of(prop: Mapping[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" in prop:
        return code(json.dumps(prop["default"]))
    return "-"


def fields_table(model: Mapping[str, Any], key_of: Any = None) -> list[str]:
    """Lines of the table of a model's properties; ``key_of(name)`` names each key."""
    required = set(model.get("required", []))
    props = model.get("properties", {})
    described = any(p.get("description") for p in props.values())
    rows = []
    for name, prop in props.items():
        key = key_of(name) if key_of else name
        row = [code(key), type_of(prop), default_of(prop, name in required), constraints_of(prop)]
        rows.append(row + [cell(prop.get("description", ""))] if described else row)
    header = ["key", "type", "default", "constraints"]
    return table(header + ["description"] if described else header, rows)


def model_sections(schema: Mapping[str, Any]) -> list[str]:
    """One section per referenced model ($defs), alphabetically."""
    lines: list[str] = []
    for name, model in sorted(schema.get("$defs", {}).items()):
        lines += ["", f"## {name}", ""]
        if model.get("description"):
            lines += [paragraphs(model["description"]), ""]
        if model.get("properties"):
            lines += fields_table(model)
        else:
            lines += [f"Type: {type_of(model)}."]
    return lines


def settings_schema() -> dict[str, Any]:
    from infra.config import Settings

    return Settings.model_json_schema(by_alias=True)


def stack_key(name: str) -> str:
    """The stack-file key of a Settings field alias."""
    from infra.config import NAMESPACE

    return AWS_KEYS.get(name) or f"{NAMESPACE}:{name}"


def render_settings() -> str:
    schema = settings_schema()
    lines = [
        "# Stack settings schema",
        "",
        "<!-- Generated at build time by mlops/reference/schemas.py from infra/config.py "
        "(Settings); not a file in docs/, do not edit. -->",
        "",
        "Every key a stack file `stacks/Pulumi.<stack>.yaml` may set under `config:`, from the "
        "pydantic model that validates it (`infra.config.Settings`) before any resource is "
        "registered. An unknown `mlops:` key is an error naming the closest known one. "
        "What each setting does, and the rules that join several keys (30-day key deletion "
        "window and no direct submit in prod, accounts only in `per-stack` mode), are in "
        "[Stack settings](../settings.md). Other `aws:` keys (`aws:profile`, "
        "`aws:assumeRoles`, ...) go to the AWS provider unchecked.",
        "",
        "`aws:defaultTags` has the provider's shape `{tags: {key: value}}`; structured values "
        "may also be JSON strings, which is how the Pulumi engine passes them to the program.",
        "",
        "## Settings",
        "",
    ]
    lines += fields_table(schema, stack_key)
    lines += model_sections(schema)
    lines += ["", "## JSON Schema", "", "The schema as pydantic generates it (keys without "
              "their `mlops:` or `aws:` prefix):", "", "```json",
              json.dumps(schema, indent=2), "```"]
    return "\n".join(lines) + "\n"


def render_manifest() -> str:
    from infra.projects.manifest import schema

    data = schema()
    lines = [
        "# Project manifest schema",
        "",
        "<!-- Generated at build time by mlops/reference/schemas.py from "
        "infra/projects/manifest.py; not a file in docs/, do not edit. -->",
        "",
        "Every key of `pipelines/<project>/project.yaml`, from the pydantic model that "
        "validates it (`infra.projects.manifest.ProjectManifest`). The same model writes "
        "[`project.schema.json`](../project.schema.json) (`mlops pipelines schema`; `--check` "
        "says whether the checked-in file is stale), for editors that validate YAML against a "
        "JSON Schema. How the keys are used, per stack and tier, is in "
        "[Projects and pipelines](../projects.md).",
        "",
        "Keys that take a value per stack (`instanceType`, `maxRuntimeSeconds`, "
        "`thresholds`, the serving and monitoring maps) are keyed by stack name, falling back "
        "to the tier (`dev`, `staging`, `prod`).",
        "",
        "## project.yaml",
        "",
    ]
    if data.get("description"):
        lines += [paragraphs(data["description"]), ""]
    lines += fields_table(data)
    lines += model_sections(data)
    return "\n".join(lines) + "\n"
