"""Rule modules by area. Importing this package registers every rule in ``REGISTRY``."""

from __future__ import annotations

from policies.core import REGISTRY, Rule
from policies.rules import (
    encryption,
    governance,
    identity,
    kubernetes,
    monitoring,
    retraining,
    sagemaker,
    storage,
)

AREAS = ("storage", "encryption", "identity", "sagemaker", "kubernetes", "monitoring",
         "retraining", "governance")
MODULES = (storage, encryption, identity, sagemaker, kubernetes, monitoring, retraining,
           governance)


def all_rules() -> list[Rule]:
    """Every registered rule, ordered by area then id."""
    return sorted(REGISTRY.values(), key=lambda r: (AREAS.index(r.area), r.id))


def get_rule(rule_id: str) -> Rule:
    """The rule with this id (KeyError when there is none)."""
    return REGISTRY[rule_id]


def rules_by_type() -> dict[str, list[str]]:
    """Every resource type a rule judges, with the ids of the rules that judge it."""
    out: dict[str, list[str]] = {}
    for rule in all_rules():
        for token in rule.resource_types:
            out.setdefault(token, []).append(rule.id)
    return dict(sorted(out.items()))
