"""A Plan as Terraform plan JSON (``terraform show -json`` shape), for Terraform-plan scanners.

Checkov, Trivy/tfsec and OPA/conftest read ``planned_values`` (resource values, ``aws_*`` types,
snake_case attributes), ``resource_changes`` (all ``create``) and ``configuration`` (the
references between resources). A Pulumi input that depends on another resource's output
(a companion's ``bucket``, a topic's ``kms_master_key_id``) is exported the way Terraform plans
an attribute computed at apply time: absent from the values, marked in ``after_unknown``, and
linked through ``configuration.expressions.<attr>.references`` so graph checks can join it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mlops.offline.plan import Plan, PlanResource
from mlops.specs import REGISTRY, NotExported, Terraform

FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.8"
PROVIDER = "registry.terraform.io/hashicorp/aws"
TAGS = frozenset({"tags", "tagsAll"})  # maps on every tagged type


def snake(name: str) -> str:
    """camelCase -> snake_case (``kmsMasterKeyId`` -> ``kms_master_key_id``)."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return name.lower()


def _derived_type(token: str) -> str | None:
    """``aws:<module>/<name>:<Type>`` -> ``aws_<module>_<type in snake case>``; None for non-AWS."""
    parts = token.split(":")
    if len(parts) != 3 or parts[0] != "aws":
        return None
    module = parts[1].split("/", 1)[0]
    resource = snake(parts[2])
    return f"aws_{resource}" if module == "index" else f"aws_{module}_{resource}"


def _generic() -> Terraform:
    """For a saved plan's types without a spec: every spec's block, JSON and map names."""
    specs = [s.terraform for s in REGISTRY.values() if isinstance(s.terraform, Terraform)]
    return Terraform(type="", blocks={k: v for t in specs for k, v in t.blocks.items()},
                     json=frozenset().union(*(t.json for t in specs)),
                     maps=frozenset().union(*(t.maps for t in specs)))


GENERIC = _generic()


def shape_of(token: str) -> Terraform | None:
    """How ``token`` is exported: its spec's Terraform shape; types without a spec (a saved plan
    from elsewhere) get the derived type name and GENERIC's tables; None for non-AWS types and
    types their spec leaves out (NotExported: Kubernetes objects go to `mlops export k8s`)."""
    spec = REGISTRY.get(token)
    if spec is not None:
        return None if isinstance(spec.terraform, NotExported) else spec.terraform
    derived = _derived_type(token)
    return None if derived is None else replace(GENERIC, type=derived)


def terraform_type(token: str) -> str | None:
    """The Terraform resource type of ``token`` (None for non-AWS types)."""
    shape = shape_of(token)
    return shape.type if shape else None


def terraform_name(name: str) -> str:
    """A Pulumi logical name as a Terraform resource name."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return cleaned if cleaned[:1].isalpha() or cleaned[:1] == "_" else f"r_{cleaned}"


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def convert_value(value: Any, key: str | None = None, shape: Terraform = GENERIC) -> Any:
    """Pulumi input values as Terraform plan values (blocks as lists of objects)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if key in shape.json and isinstance(value, (Mapping, list, tuple)):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, Mapping):
        if key in TAGS or key in shape.maps:
            return {str(k): convert_value(v, shape=shape) for k, v in value.items()}
        return [convert_object(value, shape)]
    if isinstance(value, (list, tuple)):
        items = [convert_value(v, shape=shape) for v in value]
        # a list of objects is a repeated block: each element is one object, not [object]
        return [i[0] if isinstance(i, list) and len(i) == 1 and isinstance(i[0], dict) else i
                for i in items]
    return str(value)


def convert_object(obj: Mapping[str, Any], shape: Terraform = GENERIC) -> dict[str, Any]:
    """One object's attributes, snake_cased."""
    return {attribute_name(str(k), shape): convert_value(v, str(k), shape) for k, v in obj.items()}


def attribute_name(key: str, shape: Terraform = GENERIC) -> str:
    """Terraform attribute name for a Pulumi property."""
    return shape.blocks.get(key, snake(key))


def _address(resource: PlanResource) -> str | None:
    tf_type = terraform_type(resource.type)
    return f"{tf_type}.{terraform_name(resource.name)}" if tf_type else None


def _is_reference(value: Any, deps: list[str], by_urn: Mapping[str, PlanResource]) -> bool:
    """A scalar input that carries another resource's output (an id, name or ARN)."""
    if not isinstance(value, str) or not deps or value[:1] in "{[":
        return False
    return any(u in by_urn and terraform_type(by_urn[u].type) for u in deps)


def to_terraform_plan(plan: Plan, region: str, default_tags: Mapping[str, str] | None = None
                      ) -> dict[str, Any]:
    """The Plan as a Terraform JSON plan document."""
    by_urn = {r.urn: r for r in plan.custom_resources()}
    planned: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    config_resources: list[dict[str, Any]] = []
    for resource in plan.custom_resources():
        shape = shape_of(resource.type)
        if shape is None:
            continue
        tf_type, tf_name = shape.type, terraform_name(resource.name)
        address = f"{tf_type}.{tf_name}"
        values: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        expressions: dict[str, Any] = {}
        for key, value in resource.inputs.items():
            attr = attribute_name(key, shape)
            deps = [u for u in resource.property_dependencies.get(key, []) if u in by_urn]
            refs: list[str] = []
            for urn in deps:
                target = _address(by_urn[urn])
                if target is None:
                    continue
                kind = "arn" if isinstance(value, str) and value.startswith("arn:") else "id"
                refs += [f"{target}.{kind}", target]
            if refs:
                expressions[attr] = {"references": refs}
            if _is_reference(value, deps, by_urn):
                unknown[attr] = True
                continue
            values[attr] = convert_value(value, key, shape)
            if attr not in expressions:
                expressions[attr] = {"constant_value": values[attr]}
        if "tags" in values or shape.default_tags:
            values.setdefault("tags", {})
            if default_tags:
                values["tags_all"] = {**default_tags, **(values.get("tags") or {})}
        common = {"address": address, "mode": "managed", "type": tf_type, "name": tf_name,
                  "provider_name": PROVIDER}
        planned.append({**common, "schema_version": 0, "values": values,
                        "sensitive_values": {}})
        changes.append({**common, "change": {
            "actions": ["create"], "before": None, "after": values,
            "after_unknown": unknown, "before_sensitive": False, "after_sensitive": {},
        }})
        config_resources.append({"address": address, "mode": "managed", "type": tf_type,
                                 "name": tf_name, "provider_config_key": "aws",
                                 "expressions": expressions, "schema_version": 0})
    provider_expressions: dict[str, Any] = {"region": {"constant_value": region}}
    if default_tags:
        provider_expressions["default_tags"] = [{"tags": {"constant_value": dict(default_tags)}}]
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": PROVIDER,
                                        "expressions": provider_expressions}},
            "root_module": {"resources": config_resources},
        },
        "timestamp": "1970-01-01T00:00:00Z",
        "errored": False,
    }
