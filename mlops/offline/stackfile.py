"""Read ``stacks/Pulumi.<stack>.yaml`` the way the Pulumi CLI would, with clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from infra.config import SettingsError, stack_file

# Shipped tiers first, in promotion order; other stacks after them, by name.
PROMOTION_ORDER = {"dev": 0, "staging": 1, "prod": 2}


def in_promotion_order(stacks: list[str]) -> list[str]:
    return sorted(stacks, key=lambda name: (PROMOTION_ORDER.get(name, len(PROMOTION_ORDER)), name))


def available_stacks(root: Path) -> list[str]:
    """Stacks with a stack file, in promotion order."""
    stacks = root / "stacks"
    return in_promotion_order([p.name[len("Pulumi."):-len(".yaml")]
                               for p in stacks.glob("Pulumi.*.yaml")])


def read_stack_config(root: Path, stack: str) -> dict[str, Any]:
    """The ``config:`` map of a stack file, as plain Python values, in file order."""
    source = stack_file(stack)
    path = root / source
    if not path.is_file():
        known = ", ".join(available_stacks(root)) or "none"
        raise SettingsError(source, None, f"no such stack file (stacks here: {known})")
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise SettingsError(where, None, f"invalid YAML: {exc.problem}") from None
    except YAMLError as exc:
        raise SettingsError(source, None, f"invalid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SettingsError(source, None, "must be a mapping with a `config:` key")
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise SettingsError(source, "config", "must be a mapping of settings")
    return {str(k): v for k, v in config.items()}
