"""Evaluate the pack on a Plan: enforcement per environment, exemptions, "cannot evaluate"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops.offline.plan import Plan, PlanResource
from mlops.policy.config import (
    POLICIES_DIR,
    config_path,
    enforcement_level,
    load_policy_config,
    rule_params,
)
from policies.core import Resource, Rule
from policies.engine import run_rule
from policies.exemptions import Exemption, load_exemptions
from policies.rules import all_rules
from policies.rules.governance import EXEMPTION_EXPIRED

SEVERITY_ORDER = ("critical", "high", "medium", "low")
VIOLATION, UNKNOWN, EXEMPTED = "violation", "cannot-evaluate", "exempted"


@dataclass(frozen=True)
class Result:
    """One finding of one rule on one resource, after enforcement and exemptions."""

    rule: Rule
    level: str
    status: str  # violation | cannot-evaluate | exempted
    urn: str
    name: str
    type: str
    message: str
    exemption: Exemption | None = None

    @property
    def mandatory(self) -> bool:
        return self.status == VIOLATION and self.level in ("mandatory", "remediate")

    def to_json(self) -> dict[str, Any]:
        """One finding: exactly policy, severity, enforcementLevel, urn, name, message."""
        return {
            "policy": self.rule.id,
            "severity": self.rule.severity.value,
            "enforcementLevel": self.level,
            "urn": self.urn,
            "name": self.name,
            "message": self.message,
        }


@dataclass
class RuleOutcome:
    """A rule's level, how many resources it judged, and its results."""

    rule: Rule
    level: str
    subjects: int = 0
    results: list[Result] = field(default_factory=list)

    @property
    def status(self) -> str:
        """failed | passed | cannot-evaluate | disabled | not-applicable."""
        if self.level == "disabled":
            return "disabled"
        if any(r.status == VIOLATION for r in self.results):
            return "failed"
        if any(r.status == UNKNOWN for r in self.results):
            return "cannot-evaluate"
        return "passed" if self.subjects or self.results else "not-applicable"


@dataclass
class Report:
    """Everything one check found."""

    stack: str
    tier: str
    resources: int
    outcomes: list[RuleOutcome]

    @property
    def results(self) -> list[Result]:
        return [r for o in self.outcomes for r in o.results]

    def of_status(self, status: str) -> list[Result]:
        return [r for r in self.results if r.status == status]

    @property
    def violations(self) -> list[Result]:
        return self.of_status(VIOLATION)

    @property
    def mandatory_violations(self) -> list[Result]:
        return [r for r in self.violations if r.mandatory]

    @property
    def passed(self) -> bool:
        return not self.mandatory_violations

    def summary(self) -> dict[str, Any]:
        """Counts for reports and CI."""
        by_severity = {s: sum(1 for r in self.violations if r.rule.severity.value == s)
                       for s in SEVERITY_ORDER}
        return {
            "passed": self.passed,
            "tier": self.tier,
            "rules": len(self.outcomes),
            "resources": self.resources,
            "violations": len(self.violations),
            "mandatory": len(self.mandatory_violations),
            "advisory": len(self.violations) - len(self.mandatory_violations),
            "cannotEvaluate": len(self.of_status(UNKNOWN)),
            "exempted": len(self.of_status(EXEMPTED)),
            "bySeverity": by_severity,
        }

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` document: ``{"stack", "violations", "summary"}``.

        Findings that are not violations (cannot evaluate, exempted) are listed inside the
        summary, in the same six-key shape, so the top level stays exactly as documented.
        """
        summary = self.summary()
        summary["cannotEvaluateFindings"] = [r.to_json() for r in self.of_status(UNKNOWN)]
        summary["exemptedFindings"] = [
            {**r.to_json(), "exemption": {
                "owner": r.exemption.owner, "reason": r.exemption.reason,
                "expires": r.exemption.expires.isoformat()}}
            for r in self.of_status(EXEMPTED) if r.exemption is not None]
        return {
            "stack": self.stack,
            "violations": [r.to_json() for r in self.violations],
            "summary": summary,
        }


def plan_resources(plan: Plan) -> list[Resource]:
    """The Plan's cloud resources as the rules see them (inputs as props)."""
    return [to_resource(r) for r in plan.custom_resources()]


def to_resource(r: PlanResource) -> Resource:
    """One Plan resource as a rule Resource."""
    return Resource(
        urn=r.urn, type=r.type, name=r.name, props=r.inputs,
        property_dependencies=r.property_dependencies, dependencies=tuple(r.dependencies),
        protect=r.protect, retain_on_delete=r.retain_on_delete, parent=r.parent,
    )


def evaluate(
    resources: Sequence[Resource],
    *,
    stack: str,
    tier: str,
    config: Mapping[str, Any],
    exemptions: Iterable[Exemption] = (),
    today: dt.date | None = None,
    rules: Sequence[Rule] | None = None,
) -> Report:
    """Run every rule with the tier's enforcement and parameters; apply exemptions."""
    today = today or dt.date.today()
    relevant = [e for e in exemptions if not e.stacks or stack in e.stacks]
    outcomes: list[RuleOutcome] = []
    for rule in rules if rules is not None else all_rules():
        level = enforcement_level(rule, config)
        outcome = RuleOutcome(rule, level)
        outcomes.append(outcome)
        if level == "disabled":
            continue
        if rule.id == EXEMPTION_EXPIRED:
            outcome.subjects = len(relevant)
            for e in relevant:
                if e.expired(today):
                    outcome.results.append(Result(
                        rule, level, VIOLATION, "", e.resource, "exemption",
                        f"exemption for {e.rule} on {e.resource!r} (owner {e.owner}) expired on "
                        f"{e.expires.isoformat()}: {e.reason}", e,
                    ))
            continue
        run = run_rule(rule, resources, rule_params(rule, config))
        outcome.subjects = run.subjects
        for f in run.findings:
            res = f.resource
            if f.unknown:
                outcome.results.append(Result(rule, level, UNKNOWN, res.urn, res.name, res.type,
                                              f"cannot evaluate: {f.message}"))
                continue
            match = next((e for e in relevant if e.matches(rule.id, res.name, res.urn, stack)),
                         None)
            if match is not None and not match.expired(today):
                outcome.results.append(Result(rule, level, EXEMPTED, res.urn, res.name, res.type,
                                              f.message, match))
            else:
                outcome.results.append(Result(rule, level, VIOLATION, res.urn, res.name, res.type,
                                              f.message))
    return Report(stack=stack, tier=tier, resources=len(resources), outcomes=outcomes)


def policies_dir(root: Path) -> Path:
    """The pack directory of a project root (the installed pack when the root has none)."""
    candidate = root / "policies"
    return candidate if (candidate / "config").is_dir() else POLICIES_DIR


def check_plan(
    root: Path, stack: str, tier: str, plan: Plan, today: dt.date | None = None
) -> Report:
    """Evaluate a Plan with the tier's config and the project's exemptions."""
    pack = policies_dir(root)
    ids = {r.id for r in all_rules()}
    config = load_policy_config(config_path(tier, pack / "config"), ids)
    exemptions = load_exemptions(pack / "exemptions.yaml", ids)
    return evaluate(plan_resources(plan), stack=stack, tier=tier, config=config,
                    exemptions=exemptions, today=today)
