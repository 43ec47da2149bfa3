"""Glue between pulumi-policy and the plain rules: one Policy object per registered rule.

``build_policies()`` is safe to call anywhere (it builds ``ResourceValidationPolicy`` /
``StackValidationPolicy`` objects only); the ``PolicyPack`` itself is built in ``__main__.py``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import Severity as PulumiSeverity
from pulumi_policy.proxy import UnknownValueError

from policies.core import UNKNOWN_STRING, Finding, Resource, Rule
from policies.engine import run_rule
from policies.exemptions import DEFAULT_FILE, Exemption, load_exemptions
from policies.rules import all_rules
from policies.rules.governance import EXEMPTION_EXPIRED

DOCS_URL = "https://github.com/mlops-platform/mlops-platform/blob/main/docs/policies.md"


def default_enforcement(rule: Rule) -> EnforcementLevel:
    """Without a config file: mandatory for high and critical rules, advisory otherwise."""
    if rule.id == EXEMPTION_EXPIRED or rule.severity.value in ("high", "critical"):
        return EnforcementLevel.MANDATORY
    return EnforcementLevel.ADVISORY


def plain(value: Any) -> Any:
    """Unwrap pulumi-policy's unknown-checking proxies, keeping unknowns as sentinels."""
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            try:
                out[str(key)] = plain(value[key])
            except UnknownValueError as exc:
                out[str(key)] = exc.unknown_type_sentinel
        return out
    if isinstance(value, Sequence):
        items: list[Any] = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError as exc:
                items.append(exc.unknown_type_sentinel)
        return items
    return value


def from_args(args: ResourceValidationArgs) -> Resource:
    """A resource under validation as a rule Resource."""
    opts = getattr(args, "opts", None)
    return Resource(
        urn=args.urn, type=args.resource_type, name=args.name, props=plain(args.props),
        protect=bool(getattr(opts, "protect", False)),
        retain_on_delete=getattr(opts, "retain_on_delete", None),
    )


def from_policy_resource(r: PolicyResource) -> Resource:
    """A stack resource (with its property dependencies as URNs) as a rule Resource."""
    opts = getattr(r, "opts", None)
    return Resource(
        urn=r.urn, type=r.resource_type, name=r.name, props=plain(r.props),
        property_dependencies={k: [d.urn for d in v] for k, v in
                               (r.property_dependencies or {}).items()},
        dependencies=[d.urn for d in r.dependencies or []],
        protect=bool(getattr(opts, "protect", False)),
        retain_on_delete=getattr(opts, "retain_on_delete", None),
        parent=r.parent.urn if r.parent is not None else None,
    )


class _Reporter:
    """Reports findings, skipping exempted ones; unknowns end as the engine's own notice."""

    def __init__(self, rule: Rule, exemptions: Sequence[Exemption], stack: str | None,
                 today: dt.date) -> None:
        self.rule, self.exemptions, self.stack, self.today = rule, exemptions, stack, today

    def exempted(self, f: Finding) -> bool:
        return any(e.matches(self.rule.id, f.resource.name, f.resource.urn, self.stack)
                   and not e.expired(self.today) for e in self.exemptions)

    def report(self, findings: Sequence[Finding], report_violation: ReportViolation,
               with_urn: bool) -> None:
        unknown = [f for f in findings if f.unknown]
        for f in findings:
            if f.unknown or self.exempted(f):
                continue
            message = f"{f.resource.name}: {f.message}\nfix: {self.rule.remediation}"
            report_violation(message, (f.resource.urn or None) if with_urn else None)
        if unknown:
            raise UnknownValueError(UNKNOWN_STRING, [unknown[0].message])


def build_policies(
    exemptions_file: Path = DEFAULT_FILE, today: dt.date | None = None
) -> list[Policy]:
    """One pulumi-policy Policy per rule, with metadata, config schema and default level."""
    ids = [r.id for r in all_rules()]
    exemptions = load_exemptions(exemptions_file, ids)
    stack = os.environ.get("PULUMI_STACK")
    day = today or dt.date.today()
    out: list[Policy] = []
    for rule in all_rules():
        common: dict[str, Any] = {
            "name": rule.id,
            "description": rule.description,
            "enforcement_level": default_enforcement(rule),
            "severity": PulumiSeverity(rule.severity.value),
            "remediation_steps": rule.remediation,
            "tags": [rule.area, *rule.references],
            "url": f"{DOCS_URL}#{rule.id}",
        }
        if rule.config_schema:
            common["config_schema"] = PolicyConfigSchema(
                properties={k: dict(v) for k, v in rule.config_schema.items()})
        reporter = _Reporter(rule, exemptions, stack, day)
        if rule.id == EXEMPTION_EXPIRED:
            out.append(StackValidationPolicy(validate=_expired_validator(exemptions, day), **common))
        elif rule.scope == "resource":
            out.append(ResourceValidationPolicy(
                validate=_resource_validator(rule, reporter), **common))
        else:
            out.append(StackValidationPolicy(validate=_stack_validator(rule, reporter), **common))
    return out


def _resource_validator(rule: Rule, reporter: _Reporter) -> Callable[..., None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.resource_types:
            return
        run = run_rule(rule, [from_args(args)], dict(args.get_config() or {}))
        reporter.report(run.findings, report_violation, with_urn=False)

    return validate


def _stack_validator(rule: Rule, reporter: _Reporter) -> Callable[..., None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [from_policy_resource(r) for r in args.resources]
        run = run_rule(rule, resources, dict(args.get_config() or {}))
        reporter.report(run.findings, report_violation, with_urn=True)

    return validate


def _expired_validator(exemptions: Sequence[Exemption], today: dt.date) -> Callable[..., None]:
    stack = os.environ.get("PULUMI_STACK")

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for e in exemptions:
            if e.expired(today) and (not e.stacks or stack is None or stack in e.stacks):
                report_violation(
                    f"exemption for {e.rule} on {e.resource!r} (owner {e.owner}) expired on "
                    f"{e.expires.isoformat()}: {e.reason}", None)

    return validate
