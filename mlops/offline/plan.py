"""The Plan: every registration of one offline run of the program.

``mlops preview --json`` prints it; the policy check, exports, sandbox and tests read it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


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
        return [r for r in self.resources if r.custom and not r.type.startswith("pulumi:providers:")]

    def type_counts(self) -> Counter[str]:
        return Counter(r.type for r in self.custom_resources())

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)


class PlanFileError(ValueError):
    """A saved Plan file cannot be read."""


def load_plan(path: Path) -> Plan:
    """Read a Plan saved from ``mlops preview --json``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise PlanFileError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise PlanFileError(f"{path}: {loc}: {err['msg']} (not a Plan from mlops preview --json)") from None
