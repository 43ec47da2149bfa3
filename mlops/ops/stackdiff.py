"""What differs between two stacks beyond the values that are meant to differ per environment.

Both stacks' offline Plans are compared resource by resource, keyed by (type, logical name):
logical names carry no stack name, so the same resource has the same key in every stack.

Normalization, so that only real differences remain:

- in every string, each side's own ``<prefix>-<stack>`` stem, stack name, environment tier,
  account id and region become ``{stem}``, ``{stack}``, ``{tier}``, ``{account}``, ``{region}``;
  UUID-like ids (the offline KMS key ids) become ``{id}``;
- strings holding JSON (policies, pipeline definitions, dashboards) are parsed and compared
  structurally, so a difference is reported at its path inside the document.

Expected per-environment values are kept apart (``expected=True``) rather than dropped: retention
and expiry days, KMS deletion window, maximum runtimes, instance types (any ``ml.*.*`` value or a
list of them), instance counts and volume sizes, ``forceDestroy``, and the ``protect`` /
``retainOnDelete`` options (prod protects stateful resources). Everything else is a difference a
reviewer should see: resources only in one stack, and property changes.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops.offline.plan import Plan, PlanResource

UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
INSTANCE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
EXPECTED_KEYS = re.compile(
    r"(?i)(days|retention|deletionwindow|maxruntime|instancetype|instancecount|volumesize"
    r"|forcedestroy|^protect$|^retainondelete$)")


@dataclass(frozen=True)
class Substitution:
    """One stack's per-environment values, replaced by placeholders before comparing."""

    prefix: str
    stack: str
    tier: str
    account: str
    region: str

    def apply(self, text: str) -> str:
        out = text.replace(f"{self.prefix}-{self.stack}", "{stem}")
        out = out.replace(self.account, "{account}").replace(self.region, "{region}")
        out = re.sub(rf"(?<![A-Za-z0-9]){re.escape(self.stack)}(?![A-Za-z0-9])", "{stack}", out)
        if self.tier != self.stack:
            out = re.sub(rf"(?<![A-Za-z0-9]){re.escape(self.tier)}(?![A-Za-z0-9])", "{tier}", out)
        return UUID.sub("{id}", out)


@dataclass
class Change:
    path: str
    a: Any
    b: Any
    expected: bool = False


@dataclass
class ResourceDiff:
    type: str
    name: str
    status: str  # only-in-a | only-in-b | changed
    changes: list[Change] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.type} {self.name}"


@dataclass
class StackDiff:
    a: str
    b: str
    resources: list[ResourceDiff]

    def differences(self) -> list[ResourceDiff]:
        """Resources in one stack only, and changed resources with an unexpected change."""
        out = []
        for r in self.resources:
            if r.status != "changed":
                out.append(r)
                continue
            real = [c for c in r.changes if not c.expected]
            if real:
                out.append(ResourceDiff(r.type, r.name, r.status, real))
        return out

    def expected(self) -> list[tuple[ResourceDiff, Change]]:
        return [(r, c) for r in self.resources for c in r.changes if c.expected]

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a, "b": self.b,
            "differences": [asdict(r) for r in self.differences()],
            "expected": [{"type": r.type, "name": r.name, **asdict(c)} for r, c in self.expected()],
        }


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def normalize(value: Any, sub: Substitution) -> Any:
    """Placeholders for per-environment values; JSON strings parsed; integral floats as ints."""
    value = _decode(value)
    if isinstance(value, dict):
        return {sub.apply(str(k)): normalize(v, sub) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v, sub) for v in value]
    if isinstance(value, str):
        return sub.apply(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _is_expected(path: str, a: Any, b: Any) -> bool:
    last = re.split(r"[.\[]", path)[-1].rstrip("]")
    if EXPECTED_KEYS.search(last):
        return True

    def instance(v: Any) -> bool:
        if isinstance(v, str):
            return bool(INSTANCE.match(v))
        if isinstance(v, list) and v:
            return all(isinstance(i, str) and INSTANCE.match(i) for i in v)
        return False

    return instance(a) and instance(b)


def _compare(a: Any, b: Any, path: str, out: list[Change]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a:
                out.append(Change(sub, None, b[key], _is_expected(sub, None, b[key])))
            elif key not in b:
                out.append(Change(sub, a[key], None, _is_expected(sub, a[key], None)))
            else:
                _compare(a[key], b[key], sub, out)
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b) \
            and not _is_expected(path, a, b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare(x, y, f"{path}[{i}]", out)
        return
    if a != b:
        out.append(Change(path, a, b, _is_expected(path, a, b)))


def _view(r: PlanResource, sub: Substitution) -> dict[str, Any]:
    return {"inputs": normalize(r.inputs, sub), "protect": r.protect,
            "retainOnDelete": r.retain_on_delete}


def diff_plans(a: Plan, b: Plan, sub_a: Substitution, sub_b: Substitution) -> StackDiff:
    """Compare two Plans after normalizing each with its own stack's values."""
    left = {(r.type, r.name): r for r in a.custom_resources()}
    right = {(r.type, r.name): r for r in b.custom_resources()}
    out: list[ResourceDiff] = []
    for key in sorted(set(left) | set(right)):
        if key not in right:
            out.append(ResourceDiff(key[0], key[1], "only-in-a"))
        elif key not in left:
            out.append(ResourceDiff(key[0], key[1], "only-in-b"))
        else:
            changes: list[Change] = []
            _compare(_view(left[key], sub_a), _view(right[key], sub_b), "", changes)
            if changes:
                out.append(ResourceDiff(key[0], key[1], "changed", changes))
    return StackDiff(a.stack, b.stack, out)


def substitution(root: Path, stack: str) -> Substitution:
    from mlops.offline.cloud import DEFAULT_ACCOUNT
    from mlops.offline.runtime import load_settings

    settings, _ = load_settings(root, stack)
    return Substitution(prefix=settings.name_prefix, stack=stack, tier=settings.environment,
                        account=settings.account_id or DEFAULT_ACCOUNT, region=settings.region)


def diff_stacks(root: Path, a: str, b: str) -> StackDiff:
    """Build both stacks' Plans offline and compare them."""
    from mlops.offline.runtime import build_plan

    sub_a, sub_b = substitution(root, a), substitution(root, b)
    return diff_plans(build_plan(root, a), build_plan(root, b), sub_a, sub_b)
