"""Reporters: text (grouped by severity), JSON, SARIF 2.1.0 (GitHub code scanning), JUnit XML.

All four carry the same findings; only the shape differs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree as ET

from mlops.policy.evaluate import (
    EXEMPTED,
    SEVERITY_ORDER,
    UNKNOWN,
    VIOLATION,
    Report,
    Result,
)
from policies.core import Rule

TOOL_NAME = "mlops-policy"
TOOL_VERSION = "1.0.0"
INFO_URI = "https://github.com/mlops-platform/mlops-platform/blob/main/docs/policies.md"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub code scanning reads this property to rank security alerts (0.1 .. 10.0).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
FORMATS = ("text", "json", "sarif", "junit")

Locator = Callable[[Result], str]


def render(report: Report, fmt: str, locate: Locator | None = None) -> str:
    """The report in one of FORMATS."""
    if fmt == "text":
        return to_text(report)
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2) + "\n"
    if fmt == "sarif":
        return json.dumps(to_sarif(report, locate), indent=2) + "\n"
    if fmt == "junit":
        return to_junit(report)
    raise ValueError(f"unknown format {fmt!r}")


def _resource_label(r: Result) -> str:
    return f"{r.name} ({r.type})" if r.type != "exemption" else f"exemption {r.name!r}"


def to_text(report: Report) -> str:
    """Human report: violations grouped by severity, each with the resource and the fix."""
    lines = [f"policy check: stack {report.stack} (tier {report.tier}), "
             f"{report.resources} resources, {len(report.outcomes)} rules"]
    for severity in SEVERITY_ORDER:
        found = [r for r in report.violations if r.rule.severity.value == severity]
        if not found:
            continue
        lines.append("")
        lines.append(f"{severity.upper()} ({len(found)})")
        for r in sorted(found, key=lambda x: (not x.mandatory, x.rule.id, x.name)):
            lines.append(f"  [{r.level}] {r.rule.id}: {_resource_label(r)}")
            lines.append(f"      {r.message}")
            lines.append(f"      fix: {r.rule.remediation}")
    unknown = report.of_status(UNKNOWN)
    if unknown:
        lines.append("")
        lines.append(f"CANNOT EVALUATE ({len(unknown)}): values known only after deploy")
        for r in unknown:
            lines.append(f"  {r.rule.id}: {_resource_label(r)}: {r.message}")
    exempted = report.of_status(EXEMPTED)
    if exempted:
        lines.append("")
        lines.append(f"EXEMPTED ({len(exempted)})")
        for r in exempted:
            e = r.exemption
            assert e is not None
            lines.append(f"  {r.rule.id}: {_resource_label(r)}: until {e.expires.isoformat()}, "
                         f"owner {e.owner}: {e.reason}")
    s = report.summary()
    lines.append("")
    verdict = "PASSED" if report.passed else "FAILED"
    lines.append(
        f"{verdict}: {s['mandatory']} mandatory and {s['advisory']} advisory violation(s), "
        f"{s['cannotEvaluate']} cannot evaluate, {s['exempted']} exempted"
    )
    return "\n".join(lines) + "\n"


def _help_text(rule: Rule) -> str:
    refs = ", ".join(rule.references) or "none"
    return f"{rule.description}\n\nRemediation: {rule.remediation}\n\nReferences: {refs}"


def _help_markdown(rule: Rule) -> str:
    refs = ", ".join(f"`{r}`" for r in rule.references) or "none"
    return (f"**{rule.id}** ({rule.severity.value})\n\n{rule.description}\n\n"
            f"**Remediation:** {rule.remediation}\n\n**References:** {refs}")


def _sarif_level(r: Result) -> str:
    if r.status == UNKNOWN:
        return "note"
    return "error" if r.level in ("mandatory", "remediate") else "warning"


def default_locator(root: Path, stack: str) -> Locator:
    """Map a result to the file that declares the resource: the component module of the
    URN's ``mlops:<area>:...`` parent type when it exists, else the stack file."""

    def locate(r: Result) -> str:
        if "::" in r.urn:
            qualified = r.urn.split("::")[2]
            head = qualified.split("$", 1)[0]
            parts = head.split(":")
            if len(parts) == 3 and parts[0] == "mlops":
                candidate = f"infra/components/{parts[1]}.py"
                if (root / candidate).exists():
                    return candidate
        if r.type == "exemption":
            return "policies/exemptions.yaml"
        return f"stacks/Pulumi.{stack}.yaml"

    return locate


def to_sarif(report: Report, locate: Locator | None = None) -> dict:
    """SARIF 2.1.0 log with rule metadata, levels, help text and one result per finding."""
    locate = locate or (lambda r: f"stacks/Pulumi.{report.stack}.yaml")
    rules = [o.rule for o in report.outcomes]
    index = {rule.id: i for i, rule in enumerate(rules)}
    descriptors = []
    for o in report.outcomes:
        rule = o.rule
        level = "error" if o.level in ("mandatory", "remediate") else (
            "none" if o.level == "disabled" else "warning")
        descriptors.append({
            "id": rule.id,
            "name": "".join(part.capitalize() for part in rule.id.split("-")),
            "shortDescription": {"text": rule.description.split(". ")[0].rstrip(".")},
            "fullDescription": {"text": rule.description},
            "help": {"text": _help_text(rule), "markdown": _help_markdown(rule)},
            "helpUri": f"{INFO_URI}#{rule.id}",
            "defaultConfiguration": {"level": level, "enabled": o.level != "disabled"},
            "properties": {
                "tags": ["security", "iac", "pulumi", rule.area],
                "security-severity": SECURITY_SEVERITY[rule.severity.value],
                "severity": rule.severity.value,
                "enforcementLevel": o.level,
                "references": list(rule.references),
                "precision": "high",
            },
        })
    results = []
    for r in report.results:
        fingerprint = hashlib.sha256(f"{r.rule.id}|{r.urn or r.name}|{r.message}".encode())
        result: dict = {
            "ruleId": r.rule.id,
            "ruleIndex": index[r.rule.id],
            "level": _sarif_level(r),
            "message": {"text": f"{r.name}: {r.message}"},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": locate(r)},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [{
                    "name": r.name,
                    "fullyQualifiedName": r.urn or r.name,
                    "kind": "resource",
                }],
            }],
            "partialFingerprints": {"mlopsPolicyFinding/v1": fingerprint.hexdigest()[:32]},
            "properties": {"severity": r.rule.severity.value, "enforcementLevel": r.level,
                           "status": r.status, "resourceType": r.type},
        }
        if r.status == EXEMPTED and r.exemption is not None:
            result["suppressions"] = [{
                "kind": "external",
                "status": "accepted",
                "justification": f"{r.exemption.reason} (owner {r.exemption.owner}, "
                                 f"expires {r.exemption.expires.isoformat()})",
            }]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": TOOL_NAME,
                "version": TOOL_VERSION,
                "informationUri": INFO_URI,
                "rules": descriptors,
            }},
            "automationDetails": {"id": f"mlops-policy/{report.stack}/"},
            "results": results,
            "properties": {"stack": report.stack, "tier": report.tier,
                           "summary": report.summary()},
        }],
    }


def to_junit(report: Report) -> str:
    """JUnit XML: one test case per rule; failed rules carry their violations."""
    suite = ET.Element("testsuite", {
        "name": f"mlops-policy.{report.stack}",
        "tests": str(len(report.outcomes)),
        "failures": str(sum(1 for o in report.outcomes
                            if any(r.mandatory for r in o.results))),
        "errors": "0",
        "skipped": str(sum(1 for o in report.outcomes
                           if o.status in ("disabled", "not-applicable", "cannot-evaluate"))),
    })
    for o in report.outcomes:
        case = ET.SubElement(suite, "testcase", {
            "classname": f"mlops-policy.{report.stack}.{o.rule.area}",
            "name": o.rule.id,
        })
        props = ET.SubElement(case, "properties")
        for key, value in (("severity", o.rule.severity.value), ("enforcementLevel", o.level),
                           ("resources", str(o.subjects))):
            ET.SubElement(props, "property", {"name": key, "value": value})
        violations = [r for r in o.results if r.status == VIOLATION and r.mandatory]
        advisory = [r for r in o.results if r.status == VIOLATION and not r.mandatory]
        unknown = [r for r in o.results if r.status == UNKNOWN]
        if advisory:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(f"advisory: {r.name} ({r.type}): {r.message}" for r in advisory)
        if violations:
            body = "\n".join(f"{r.name} ({r.type}): {r.message}" for r in violations)
            failure = ET.SubElement(case, "failure", {
                "type": f"{o.level}/{o.rule.severity.value}",
                "message": f"{len(violations)} violation(s) of {o.rule.id} ({o.level})",
            })
            failure.text = f"{body}\nfix: {o.rule.remediation}"
        elif o.status == "disabled":
            ET.SubElement(case, "skipped", {"message": "disabled in this environment"})
        elif unknown and not advisory:
            skipped = ET.SubElement(case, "skipped", {"message": "cannot evaluate before deploy"})
            skipped.text = "\n".join(f"{r.name}: {r.message}" for r in unknown)
        elif o.status == "not-applicable":
            ET.SubElement(case, "skipped", {"message": "no resources of this rule's types"})
    suites = ET.Element("testsuites", {"name": "mlops-policy"})
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
