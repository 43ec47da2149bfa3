"""Rule model, registry and helpers shared by every rule module.

A rule is a plain function over plain data, so the same function runs inside pulumi-policy's
wrappers (``policies/__main__.py``) and in the offline evaluator (``mlops policy check``):

- a *resource* rule: ``check(resource, config) -> Iterable[str]`` yields violation messages for
  one resource of the rule's types;
- a *stack* rule: ``check(resources, config) -> Iterable[Finding]`` sees every resource and
  joins companions through property dependencies.

A rule that needs a value only known after deploy raises :class:`CannotEvaluate` (through
:func:`known`), which is reported as "cannot evaluate", never as a pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

from common import tokens

# Pulumi's sentinels for values not known until deploy (string, bool, number, array, asset,
# archive, object). The Plan JSON carries the string one; the engine may send any of them.
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWNS = frozenset({
    UNKNOWN_STRING,
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
})


class Severity(StrEnum):
    """How bad a violation is; selects the default enforcement per environment."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return ["low", "medium", "high", "critical"].index(self.value)


ENFORCEMENT_LEVELS = ("advisory", "mandatory", "remediate", "disabled")


class CannotEvaluate(Exception):  # noqa: N818 (an outcome, not an error)
    """A value the rule needs is unknown until deploy."""

    def __init__(self, path: str) -> None:
        super().__init__(f"value at {path} is not known until deploy")
        self.path = path


@dataclass(frozen=True)
class Resource:
    """One resource as the rules see it (engine camelCase property names)."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any] = field(default_factory=dict)
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    dependencies: Sequence[str] = ()
    protect: bool = False
    # None when the source cannot tell (pulumi-policy does not expose retainOnDelete).
    retain_on_delete: bool | None = False
    parent: str | None = None


@dataclass(frozen=True)
class Finding:
    """A stack rule's verdict on one resource: a violation, or ``unknown`` (cannot evaluate)."""

    resource: Resource
    message: str
    unknown: bool = False


ResourceCheck = Callable[[Resource, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], Mapping[str, Any]], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """One policy: stable id, metadata for reports and docs, and its check function."""

    id: str
    area: str
    severity: Severity
    description: str
    remediation: str
    references: tuple[str, ...]
    resource_types: tuple[str, ...]
    scope: str  # "resource" | "stack"
    check: Callable[..., Iterable[Any]]
    config_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def defaults(self) -> dict[str, Any]:
        """Default parameter values from the config schema."""
        return {k: v["default"] for k, v in self.config_schema.items() if "default" in v}

    def params(self, config: Mapping[str, Any] | None) -> dict[str, Any]:
        """Schema defaults overlaid with the configured parameters."""
        merged = self.defaults
        merged.update({k: v for k, v in (config or {}).items() if k != "enforcementLevel"})
        return merged


REGISTRY: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    """Add a rule to the registry; ids are unique and stable."""
    if rule.id in REGISTRY:
        raise ValueError(f"duplicate rule id {rule.id}")
    if rule.scope not in ("resource", "stack"):
        raise ValueError(f"{rule.id}: scope must be resource or stack")
    REGISTRY[rule.id] = rule
    return rule


def resource_rule(
    id: str, *, area: str, severity: Severity, types: Sequence[str], description: str,
    remediation: str, references: Sequence[str] = (),
    config_schema: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[ResourceCheck], ResourceCheck]:
    """Decorator: register a per-resource rule for ``types``."""

    def wrap(fn: ResourceCheck) -> ResourceCheck:
        register(Rule(id, area, severity, description, remediation, tuple(references),
                      tuple(types), "resource", fn, dict(config_schema or {})))
        return fn

    return wrap


def stack_rule(
    id: str, *, area: str, severity: Severity, types: Sequence[str], description: str,
    remediation: str, references: Sequence[str] = (),
    config_schema: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[StackCheck], StackCheck]:
    """Decorator: register a stack rule (sees all resources; ``types`` are its subjects)."""

    def wrap(fn: StackCheck) -> StackCheck:
        register(Rule(id, area, severity, description, remediation, tuple(references),
                      tuple(types), "stack", fn, dict(config_schema or {})))
        return fn

    return wrap


def canonical(resource: Resource) -> Resource:
    """The resource under its current type token (deprecated aliases mapped)."""
    token = tokens.DEPRECATED_ALIASES.get(resource.type)
    return resource if token is None else replace(resource, type=token)


def rules_for_type(token: str) -> list[Rule]:
    """Resource rules that apply to a resource type (the dispatch table)."""
    return [r for r in REGISTRY.values() if r.scope == "resource" and token in r.resource_types]


# ---------------------------------------------------------------------------------------------
# Value helpers


def is_unknown(value: Any) -> bool:
    """True when ``value`` is one of Pulumi's unknown sentinels."""
    return isinstance(value, str) and value in UNKNOWNS


def contains_unknown(value: Any) -> bool:
    """True when ``value`` or anything nested in it is unknown (also inside JSON strings)."""
    if isinstance(value, str):
        return value in UNKNOWNS or any(u in value for u in UNKNOWNS)
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return False


def known(value: Any, path: str) -> Any:
    """Return ``value``; raise CannotEvaluate when it (or anything in it) is unknown."""
    if contains_unknown(value):
        raise CannotEvaluate(path)
    return value


_T = TypeVar("_T")


def each(*checks: Callable[[], Iterable[_T]]) -> Iterator[_T]:
    """Run independent checks of one resource: a check that meets an unknown value does not
    hide the violations the others find; the first unknown is re-raised at the end."""
    unknown: CannotEvaluate | None = None
    for check in checks:
        try:
            yield from check()
        except CannotEvaluate as exc:
            unknown = unknown or exc
    if unknown is not None:
        raise unknown


def get(props: Mapping[str, Any] | None, path: str, default: Any = None) -> Any:
    """Dotted lookup (``a.b.0.c``); unknown values raise CannotEvaluate; missing -> default."""
    current: Any = props
    walked: list[str] = []
    for part in path.split("."):
        walked.append(part)
        if is_unknown(current):
            raise CannotEvaluate(".".join(walked[:-1]) or path)
        if isinstance(current, Mapping):
            if part not in current:
                return default
            current = current[part]
        elif isinstance(current, (list, tuple)) and part.isdigit():
            index = int(part)
            if index >= len(current):
                return default
            current = current[index]
        else:
            return default
    if is_unknown(current):
        raise CannotEvaluate(path)
    return default if current is None else current


def as_list(value: Any) -> list[Any]:
    """A scalar or list as a list (IAM fields take either)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def truthy(value: Any) -> bool:
    """Booleans as the engine may send them (true or "true")."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


# ---------------------------------------------------------------------------------------------
# IAM policy documents


def policy_document(value: Any, path: str) -> dict[str, Any] | None:
    """Parse a policy (JSON string or dict). Unknown -> CannotEvaluate; empty -> None.

    Invalid JSON is returned as ``{"_invalid": text}`` so rules can report it.
    """
    if value is None or value == "":
        return None
    known(value, path)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        try:
            doc = json.loads(value)
        except json.JSONDecodeError:
            return {"_invalid": value}
        return doc if isinstance(doc, dict) else {"_invalid": value}
    return {"_invalid": str(value)}


def statements(doc: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The statements of a policy document (a single statement object becomes a list)."""
    if not doc:
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, dict)]


def principal_values(stmt: Mapping[str, Any]) -> list[str]:
    """Every principal value of a statement ("*" for the anonymous principal)."""
    principal = stmt.get("Principal")
    if principal is None:
        return []
    if isinstance(principal, str):
        return [principal]
    if isinstance(principal, Mapping):
        out: list[str] = []
        for value in principal.values():
            out.extend(str(v) for v in as_list(value))
        return out
    return [str(p) for p in as_list(principal)]


def aws_principals(stmt: Mapping[str, Any]) -> list[str]:
    """The ``Principal.AWS`` values (and a bare "*")."""
    principal = stmt.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, Mapping):
        return [str(v) for v in as_list(principal.get("AWS"))]
    return []


def is_public_principal(stmt: Mapping[str, Any]) -> bool:
    """The statement names everyone: ``"*"`` or ``{"AWS": "*"}`` (or ``NotPrincipal``)."""
    if "NotPrincipal" in stmt:
        return True
    return "*" in principal_values(stmt) or any(p == "*" for p in aws_principals(stmt))


# Condition keys that pin a '*' principal of a bucket policy to known callers (the keys
# Checkov's CKV_AWS_70 accepts; aws:SourceArn counts only under ArnEquals/ArnLike).
RESTRICTING_KEYS = {
    "aws:sourcevpce", "aws:sourcevpc", "aws:vpceaccount", "aws:principalorgpaths", "aws:userid",
    "aws:principalarn", "aws:principalaccount", "aws:principalorgid", "aws:ec2instancesourcevpc",
    "ec2:sourceinstancearn", "lambda:sourcefunctionarn", "ssm:sourceinstancearn",
}
# An ARN pattern whose account is '*' names every account ("arn:aws:iam::*...").
ANY_ACCOUNT_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+::\*")


def restricts_principal(stmt: Mapping[str, Any]) -> bool:
    """Whether a statement's Condition narrows a '*' principal to known callers.

    Negated operators (StringNotEquals, ...) do not count, ArnNotEquals/ArnNotLike do;
    ArnEquals/ArnLike count unless aws:PrincipalArn / aws:SourceArn spans every account;
    StringEquals/StringEqualsIgnoreCase/StringLike count on the keys of RESTRICTING_KEYS.
    """
    condition = stmt.get("Condition")
    if not isinstance(condition, Mapping):
        return False
    if any(op in condition for op in ("ArnNotEquals", "ArnNotLike")):
        return True
    for op in ("ArnEquals", "ArnLike"):
        block = condition.get(op)
        if isinstance(block, Mapping):
            for key, value in block.items():
                if str(key).lower() in ("aws:principalarn", "aws:sourcearn") and any(
                    str(v) == "*" or ANY_ACCOUNT_ARN.match(str(v)) for v in as_list(value)
                ):
                    return False
            return True
    for op in ("StringEquals", "StringEqualsIgnoreCase", "StringLike"):
        block = condition.get(op)
        if isinstance(block, Mapping) and any(str(k).lower() in RESTRICTING_KEYS for k in block):
            return True
    return False


# Condition keys that limit who can use a resource policy, by what they hold (the categories
# of cloudsplaining's resource-policy analysis, which Checkov's CKV_AWS_169 uses).
LIMITING_KEYS = {
    "aws:sourcearn": "arn", "aws:principalarn": "arn", "aws:sourceowner": "account",
    "aws:sourceaccount": "account", "aws:principalaccount": "account",
    "aws:principalorgid": "organization", "aws:principalorgpaths": "organization",
    "kms:calleraccount": "account", "aws:userid": "userid", "aws:sourceip": "cidr",
    "aws:sourcevpc": "vpc", "aws:sourcevpce": "vpce", "saml:aud": "saml-endpoint",
}
LIMITING_OPERATORS = re.compile(
    r"^((ForAllValues|ForAnyValue):)?(Arn(Equals|Like)|String(Equals|Like)(IgnoreCase)?|IpAddress)"
    r"(IfExists)?$", re.IGNORECASE)


def _arn_open(arn: str) -> bool:
    """An ARN (or principal) that anyone matches: '*', or an ARN for every account."""
    if arn == "*":
        return True
    if not arn.startswith("arn:"):
        return False  # an account id or a service principal
    parts = arn.split(":")
    if len(parts) < 6:
        return "*" in arn
    return parts[2] != "s3" and parts[4] == "*"


def _limit_open(category: str, value: str) -> bool:
    if category == "arn":
        return _arn_open(value)
    if category == "cidr":
        return value.endswith("/0")
    if category == "organization":
        return "o-*" in value
    if category == "userid":
        return value.find("*") != len(value) - 1
    return "*" in value


def internet_accessible(stmt: Mapping[str, Any]) -> bool:
    """Whether an Allow statement of a resource policy is open to anyone.

    Conditions on limiting keys decide when present (open only if one of them is a
    wildcard); otherwise the principals do ('*', or an ARN for every account).
    """
    if str(stmt.get("Effect", "Allow")) == "Deny":
        return False
    condition = stmt.get("Condition")
    limits: list[tuple[str, str]] = []
    if isinstance(condition, Mapping):
        for op, block in condition.items():
            if LIMITING_OPERATORS.match(str(op)) and isinstance(block, Mapping):
                for key, value in block.items():
                    category = LIMITING_KEYS.get(str(key).lower())
                    if category:
                        limits.extend((category, str(v)) for v in as_list(value))
    if limits:
        return any(_limit_open(c, v) for c, v in limits)
    return any(_arn_open(p) for p in principal_values(stmt))


def allows(stmt: Mapping[str, Any], default: bool = False) -> bool:
    """An Allow statement; ``default`` is the verdict when Effect is missing (IAM identity
    policies are read as Allow, as scanners do)."""
    if "Effect" not in stmt:
        return default
    return str(stmt.get("Effect")).lower() == "allow"


def account_of(principal: str) -> str | None:
    """Account id of an AWS principal (a bare id or an ARN); None when there is none."""
    if principal.isdigit() and len(principal) == 12:
        return principal
    parts = principal.split(":")
    if len(parts) >= 5 and parts[0] == "arn" and parts[4].isdigit():
        return parts[4]
    return None


# ---------------------------------------------------------------------------------------------
# Joining companion resources


def of_type(resources: Iterable[Resource], *tokens: str) -> list[Resource]:
    """Resources of the given types."""
    return [r for r in resources if r.type in tokens]


def refers_to(
    resource: Resource, prop: str, target: Resource, target_values: Iterable[Any],
    candidates: Sequence[Resource] = (),
) -> bool:
    """Whether ``resource.props[prop]`` refers to ``target``.

    1. The dependency join: ``property_dependencies[prop]`` lists the URN of ``target``.
    2. Without one, a known value equal to one of ``target_values`` (the bucket's name, id, ARN).
    3. An unknown value without a property dependency: the resource's plain ``dependencies``
       when they name exactly one of ``candidates`` (the possible targets); otherwise the
       join cannot be evaluated (CannotEvaluate), never guessed.
    """
    deps = resource.property_dependencies.get(prop) or []
    if deps:
        return target.urn in deps
    value = resource.props.get(prop)
    if value is None:
        return False
    if is_unknown(value):
        named = [c.urn for c in candidates if c.urn in resource.dependencies]
        if len(named) == 1:
            return named[0] == target.urn
        raise CannotEvaluate(f"{resource.name}.{prop}")
    values = {v for v in target_values if isinstance(v, str) and v and not is_unknown(v)}
    return value in values


def companions(
    resources: Sequence[Resource], target: Resource, token: str, prop: str,
    target_values: Iterable[Any], candidates: Sequence[Resource] = (),
) -> list[Resource]:
    """Resources of type ``token`` whose ``prop`` refers to ``target``."""
    values = list(target_values)
    return [r for r in resources
            if r.type == token and refers_to(r, prop, target, values, candidates)]


Verdict = str | tuple[Resource, str]


def iter_findings(
    subjects: Iterable[Resource], judge: Callable[[Resource], Iterable[Verdict]]
) -> Iterator[Finding]:
    """Run ``judge`` on each subject; messages become Findings on the subject (or on the
    resource a ``(resource, message)`` verdict names, e.g. the misconfigured companion);
    CannotEvaluate becomes an unknown Finding."""
    for subject in subjects:
        try:
            for verdict in judge(subject):
                if isinstance(verdict, tuple):
                    yield Finding(verdict[0], verdict[1])
                else:
                    yield Finding(subject, verdict)
        except CannotEvaluate as exc:
            yield Finding(subject, str(exc), unknown=True)
        except Exception as exc:  # noqa: BLE001 (a malformed value is not a pass)
            yield Finding(subject, malformed(exc), unknown=True)


def malformed(exc: Exception) -> str:
    """The "cannot evaluate" message for a value of an unexpected shape."""
    return f"a value has an unexpected shape ({type(exc).__name__}: {exc})"
