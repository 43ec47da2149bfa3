"""Reporters: SARIF validated against the OASIS 2.1.0 schema, JUnit per rule, text grouping."""

from __future__ import annotations

import datetime as dt
import json
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from common import tokens
from mlops.offline.plan import load_plan
from mlops.policy.config import config_path, load_policy_config
from mlops.policy.evaluate import evaluate, plan_resources
from mlops.policy.report import default_locator, render, to_sarif
from policies.exemptions import Exemption
from tests.conftest import ROOT
from tests.policies.helpers import UNKNOWN, res

DATA = ROOT / "tests" / "policies" / "data"
# Vendored from the OASIS SARIF TC (sarif-spec, errata01 schema), see data/README.md.
SCHEMA = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture(scope="module")
def report():
    plan = load_plan(DATA / "insecure-plan.json")
    resources = plan_resources(plan) + [
        res(tokens.LOG_GROUP, "jobs", {"kmsMasterKeyId": None,
                                                         "retentionInDays": UNKNOWN}),
        res(tokens.METRIC_ALARM, "quiet", {"alarmActions": []}),
    ]
    exemptions = [Exemption(rule="s3-versioning", resource="public-*",
                            owner="sec@example.com", reason="bucket is being decommissioned",
                            expires=dt.date(2030, 1, 1))]
    return evaluate(resources, stack="prod", tier="prod",
                    config=load_policy_config(config_path("prod")), exemptions=exemptions,
                    today=dt.date(2026, 11, 22))


def test_sarif_is_valid_against_the_schema(report):
    sarif = json.loads(render(report, "sarif", default_locator(ROOT, "prod")))
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(rules) == len(report.outcomes)
    by_id = {r["id"]: r for r in rules}
    assert by_id["iam-no-admin"]["properties"]["security-severity"] == "9.5"
    assert by_id["iam-no-admin"]["defaultConfiguration"]["level"] == "error"
    assert "Remediation:" in by_id["iam-no-admin"]["help"]["text"]
    assert "CKV_AWS_62" in by_id["iam-no-admin"]["help"]["markdown"]
    levels = {(r["ruleId"], r["level"]) for r in run["results"]}
    assert ("iam-no-admin", "error") in levels          # mandatory
    assert ("s3-lifecycle", "warning") in levels        # advisory
    assert ("log-group-retention-kms", "note") in levels  # cannot evaluate
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    suppressed = [r for r in run["results"] if r.get("suppressions")]
    assert [r["ruleId"] for r in suppressed] == ["s3-versioning"]


def test_sarif_schema_rejects_a_broken_log(report):
    sarif = to_sarif(report)
    sarif["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SCHEMA).validate(sarif)


def test_sarif_locations_point_at_declaring_files(report):
    sarif = to_sarif(report, default_locator(ROOT, "prod"))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["runs"][0]["results"]}
    assert uris == {"stacks/Pulumi.prod.yaml"}  # the fixture has no component parents
    platform_urn = (f"urn:pulumi:prod::mlops-platform::{tokens.SECURE_BUCKET}$"
                    f"{tokens.S3_BUCKET}::storage-raw-data")
    result = next(iter(report.results))
    moved = type(result)(result.rule, result.level, result.status, platform_urn, "x",
                         result.type, result.message)
    assert default_locator(ROOT, "prod")(moved) == "infra/components/storage.py"


def test_junit_has_a_test_case_per_rule(report):
    xml = ET.fromstring(render(report, "junit"))
    suite = xml.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [o.rule.id for o in report.outcomes]
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {o.rule.id for o in report.outcomes
                      if any(r.mandatory for r in o.results)}
    assert suite.get("failures") == str(len(failed))
    admin = next(c for c in cases if c.get("name") == "iam-no-admin")
    failure = admin.find("failure")
    assert failure is not None and "admin-policy" in (failure.text or "")
    lifecycle = next(c for c in cases if c.get("name") == "s3-lifecycle")
    out = lifecycle.find("system-out")
    assert out is not None and "advisory: public-data" in (out.text or "")


def test_text_groups_by_severity_with_resource_and_fix(report):
    text = render(report, "text")
    order = [text.index(h) for h in ("CRITICAL (", "HIGH (", "MEDIUM (", "LOW (")]
    assert order == sorted(order)
    assert f"[mandatory] iam-no-admin: admin-policy ({tokens.IAM_ROLE_POLICY})" in text
    assert "fix: List the actions the principal needs" in text
    assert "CANNOT EVALUATE (1)" in text and "EXEMPTED (1)" in text
    assert text.rstrip().splitlines()[-1].startswith("FAILED:")


def test_all_formats_carry_the_same_findings(report):
    data = json.loads(render(report, "json"))
    sarif = to_sarif(report)
    violations = {(v["policy"], v["name"]) for v in data["violations"]}
    sarif_violations = {(r["ruleId"], r["logicalLocations"][0]["name"])
                        for r in sarif["runs"][0]["results"]
                        if r["properties"]["status"] == "violation"
                        for r in [r | r["locations"][0]]}
    assert violations == sarif_violations


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_sarif_of_shipped_stacks_is_valid(plans, stack):
    report = evaluate(plan_resources(plans[stack]), stack=stack, tier=stack,
                      config=load_policy_config(config_path(stack)))
    sarif = to_sarif(report, default_locator(ROOT, stack))
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    assert all(r["level"] != "error" for r in sarif["runs"][0]["results"])
