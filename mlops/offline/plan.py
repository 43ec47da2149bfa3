"""The Plan: every registration of one offline run of the program.

``mlops preview --json`` prints it; the policy check, exports, sandbox and tests read it.
``load_plan`` reads a saved one, in the shapes security teams have at hand:

- the Plan of `mlops preview --json` (``stack`` and ``project`` may be left out);
- `pulumi preview --json` output (``steps[].newState``);
- `pulumi stack export` output (``deployment.resources``);
- a hand-written ``{"resources": [...]}`` or bare list, each resource with ``type`` and ``name``
  or ``urn`` (the other is derived), ``inputs`` (or ``props``), and optional ``parent``,
  ``dependencies``, ``propertyDependencies``, ``protect``, ``retainOnDelete``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common import tokens

PROJECT = "mlops-platform"


class PlanResource(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    urn: str
    type: str
    name: str
    parent: str | None = None
    custom: bool = True
    inputs: dict[str, Any] = Field(default_factory=dict)
    dependencies: list[str] = Field(default_factory=list)
    property_dependencies: dict[str, list[str]] = Field(
        default_factory=dict, alias="propertyDependencies"
    )
    protect: bool = False
    retain_on_delete: bool = Field(default=False, alias="retainOnDelete")
    # The provider reference (``<provider URN>::<id>``) of a resource given an explicit provider.
    provider: str | None = None


class Plan(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    stack: str
    project: str
    resources: list[PlanResource]
    outputs: dict[str, Any] = Field(default_factory=dict)

    def of_type(self, token: str) -> list[PlanResource]:
        return [r for r in self.resources if r.type == token]

    def by_urn(self) -> dict[str, PlanResource]:
        return {r.urn: r for r in self.resources}

    def named(self, name: str) -> PlanResource:
        for r in self.resources:
            if r.name == name:
                return r
        raise KeyError(name)

    def custom_resources(self) -> list[PlanResource]:
        """Cloud resources: custom, and not provider instances."""
        return [r for r in self.resources if r.custom and not tokens.is_provider(r.type)]

    def type_counts(self) -> Counter[str]:
        return Counter(r.type for r in self.custom_resources())

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)


class PlanFileError(ValueError):
    """A saved Plan file cannot be read."""


def _resources(data: Any, source: str) -> list[Any]:
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        raise PlanFileError(f"{source}: expected a JSON object with 'resources' (a Plan from "
                            "mlops preview --json)")
    if isinstance(data.get("resources"), list):
        return data["resources"]
    if isinstance(data.get("steps"), list):  # pulumi preview --json
        return [s["newState"] for s in data["steps"]
                if isinstance(s, dict) and isinstance(s.get("newState"), dict)]
    deployment = data.get("deployment")
    if isinstance(deployment, dict) and isinstance(deployment.get("resources"), list):
        return deployment["resources"]
    raise PlanFileError(f"{source}: resources: missing (expected 'resources', pulumi preview's "
                        "'steps' or pulumi stack export's 'deployment.resources')")


def _resource(raw: Any, index: int, stack: str, project: str, source: str) -> PlanResource:
    where = f"{source}: resources[{index}]"
    if not isinstance(raw, dict):
        raise PlanFileError(f"{where}: expected an object")
    kind = raw.get("type")
    urn = raw.get("urn")
    name = raw.get("name") or (urn.rsplit("::", 1)[-1] if isinstance(urn, str) else None)
    if not isinstance(kind, str) or not kind:
        raise PlanFileError(f"{where}.type: missing (a Pulumi type token such as "
                            f"{tokens.S3_BUCKET})")
    if not isinstance(name, str) or not name:
        raise PlanFileError(f"{where}.name: missing (give name or urn)")
    inputs = raw.get("inputs", raw.get("props", raw.get("properties", {})))
    data = {
        **{k: v for k, v in raw.items() if k not in ("props", "properties")},
        "urn": urn or f"urn:pulumi:{stack}::{project}::{kind}::{name}",
        "name": name,
        "inputs": inputs if inputs is not None else {},
        "retainOnDelete": bool(raw.get("retainOnDelete", False)),
        "protect": bool(raw.get("protect", False)),
    }
    try:
        return PlanResource.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise PlanFileError(f"{where}.{loc}: {err['msg']}") from None


def load_plan(path: Path, stack: str = "") -> Plan:
    """The plan saved in ``path`` (any shape in the module docstring) as a Plan.

    ``stack`` and the project name are used where the file does not say them. Raises
    PlanFileError with one line naming the file and the offending key.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PlanFileError(f"{path}: is a directory, not a plan file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFileError(f"{path}: cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    source = str(path)
    raw = _resources(data, source)
    header: dict[str, Any] = data if isinstance(data, dict) else {}
    plan_stack = str(header["stack"]) if isinstance(header.get("stack"), str) else stack
    project = str(header["project"]) if isinstance(header.get("project"), str) else PROJECT
    resources = [_resource(r, i, plan_stack, project, source) for i, r in enumerate(raw)]
    outputs: dict[str, Any] = header["outputs"] if isinstance(header.get("outputs"), dict) else {}
    return Plan(stack=plan_stack, project=project, resources=resources, outputs=outputs)
