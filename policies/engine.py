"""Run one rule over a list of resources: the part shared by the pack and the offline check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from common import tokens
from policies.core import CannotEvaluate, Finding, Resource, Rule, canonical, malformed

# Findings of a stack rule that are not about one resource are attached to the stack.
STACK = Resource(urn="", type=tokens.STACK, name="(stack)")


@dataclass
class RuleRun:
    """What one rule found: the resources it judged and its findings."""

    rule: Rule
    subjects: int = 0
    findings: list[Finding] = field(default_factory=list)


def subjects_of(rule: Rule, resources: Sequence[Resource]) -> list[Resource]:
    """Resources a rule judges (its types; for stack rules the first type is the subject)."""
    if rule.scope == "resource":
        return [r for r in resources if r.type in rule.resource_types]
    primary = rule.resource_types[:1]
    return [r for r in resources if r.type in primary]


def run_rule(rule: Rule, resources: Sequence[Resource], config: Mapping[str, Any] | None) -> RuleRun:
    """Evaluate ``rule`` with its parameters (schema defaults overlaid with ``config``)."""
    resources = [canonical(r) for r in resources]
    params = rule.params(config)
    run = RuleRun(rule, subjects=len(subjects_of(rule, resources)))
    if rule.scope == "resource":
        for resource in resources:
            if resource.type not in rule.resource_types:
                continue
            try:
                run.findings.extend(Finding(resource, m) for m in rule.check(resource, params))
            except CannotEvaluate as exc:
                run.findings.append(Finding(resource, str(exc), unknown=True))
            except Exception as exc:  # noqa: BLE001 (a malformed value is not a pass)
                run.findings.append(Finding(resource, malformed(exc), unknown=True))
        return run
    try:
        run.findings.extend(rule.check(resources, params))
    except CannotEvaluate as exc:
        run.findings.append(Finding(STACK, str(exc), unknown=True))
    except Exception as exc:  # noqa: BLE001
        run.findings.append(Finding(STACK, malformed(exc), unknown=True))
    return run
