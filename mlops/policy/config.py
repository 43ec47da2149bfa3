"""Per-environment policy configuration: ``policies/config/<tier>.json``.

The files use the format ``pulumi preview --policy-pack-config FILE`` reads: a map from policy
name (or ``all``) to an enforcement level string, or to an object with ``enforcementLevel`` and
the policy's parameters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policies.core import ENFORCEMENT_LEVELS, Rule

POLICIES_DIR = Path(__file__).resolve().parent.parent.parent / "policies"
CONFIG_DIR = POLICIES_DIR / "config"
TIERS = ("dev", "staging", "prod")
# Built into the pack: used when neither the rule nor "all" is configured.
PACK_DEFAULT = "advisory"


class PolicyConfigError(ValueError):
    """A policy config file is unusable; the message names the file and the key."""


def config_path(tier: str, config_dir: Path = CONFIG_DIR) -> Path:
    """Where a tier's policy config lives."""
    return config_dir / f"{tier}.json"


def load_policy_config(
    path: Path, rule_ids: set[str] | None = None
) -> dict[str, Any]:
    """Read and check a policy config file (levels valid, policy names known)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyConfigError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise PolicyConfigError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path}: expected a JSON object of policy names")
    for name, value in data.items():
        if rule_ids is not None and name != "all" and name not in rule_ids:
            raise PolicyConfigError(f"{path}: {name}: unknown policy")
        level = value.get("enforcementLevel") if isinstance(value, dict) else value
        if isinstance(value, dict) and level is None:
            continue
        if level not in ENFORCEMENT_LEVELS:
            raise PolicyConfigError(
                f"{path}: {name}: enforcement level must be one of "
                f"{', '.join(ENFORCEMENT_LEVELS)} (got {level!r})"
            )
    return data


def enforcement_level(rule: Rule, config: Mapping[str, Any]) -> str:
    """The rule's level: its own entry, else ``all``, else the pack default (as the engine)."""
    entry = config.get(rule.id)
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and entry.get("enforcementLevel"):
        return str(entry["enforcementLevel"])
    everything = config.get("all")
    if isinstance(everything, str):
        return everything
    if isinstance(everything, dict) and everything.get("enforcementLevel"):
        return str(everything["enforcementLevel"])
    return PACK_DEFAULT


def rule_params(rule: Rule, config: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters configured for the rule (without the enforcement level)."""
    entry = config.get(rule.id)
    if isinstance(entry, dict):
        return {k: v for k, v in entry.items() if k != "enforcementLevel"}
    return {}
