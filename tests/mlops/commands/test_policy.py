"""`mlops policy check` / `mlops policy docs` end to end (offline)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from common import tokens
from tests.conftest import ROOT, run_cli, save_plan

DATA = ROOT / "tests" / "policies" / "data"



@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_shipped_stacks_pass_every_mandatory_rule(plans, stack, tmp_path, monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, ROOT, "policy", "check", "--stack", stack,
                             "--plan", str(save_plan(plans, stack, tmp_path)), "--format", "json")
    data = json.loads(out)
    assert code == 0, out
    assert data["stack"] == stack and data["summary"]["mandatory"] == 0
    assert data["summary"]["cannotEvaluate"] == 0
    assert "passed" in err


def test_check_runs_the_program_when_no_plan_is_given(monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, ROOT, "policy", "check", "--stack", "prod")
    assert code == 0
    assert out.startswith("policy check: stack prod (tier prod)")
    assert "PASSED" in out


def test_insecure_plan_fails_with_exit_1(monkeypatch, capsys, tmp_path):
    report = tmp_path / "out" / "policy.sarif"
    code, out, err = run_cli(monkeypatch, capsys, ROOT, "policy", "check", "--stack", "prod",
                             "--plan", str(DATA / "insecure-plan.json"), "--format", "sarif",
                             "--output", str(report))
    assert code == 1 and out == ""
    assert "FAILED" in err
    sarif = json.loads(report.read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {
        "s3-public-access-block", "sns-kms", "iam-no-admin", "feature-group-protected"}


def test_same_plan_is_advisory_in_dev(monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, ROOT, "policy", "check", "--stack", "dev",
                           "--plan", str(DATA / "insecure-plan.json"), "--format", "junit")
    assert code == 0
    assert "<testsuite" in out and 'failures="0"' in out


@pytest.mark.parametrize(("args", "expected"), [
    (["--stack", "prod", "--format", "html"], "error: --format: must be one of text, json, "
                                              "sarif, junit (got 'html')"),
    (["--stack", "nope"], "error: stacks/Pulumi.nope.yaml"),
    (["--stack", "prod", "--plan", "missing.json"], "error: missing.json: no such file"),
])
def test_bad_input_is_one_line_exit_2(monkeypatch, capsys, args, expected):
    code, out, err = run_cli(monkeypatch, capsys, ROOT, "policy", "check", *args)
    assert code == 2
    assert err.strip().startswith(expected) and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_plan_that_is_not_a_plan_is_exit_2(monkeypatch, capsys, tmp_path):
    bad = tmp_path / "plan.json"
    bad.write_text(json.dumps({"resources": "nope"}))
    code, _, err = run_cli(monkeypatch, capsys, ROOT, "policy", "check", "--stack", "prod",
                           "--plan", str(bad))
    assert code == 2 and err.startswith(f"error: {bad}:") and "Traceback" not in err


def project_copy(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(ROOT / "stacks", root / "stacks")
    shutil.copytree(ROOT / "policies", root / "policies",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_expired_exemption_fails_the_check(plans, monkeypatch, capsys, tmp_path):
    root = project_copy(tmp_path)
    (root / "policies" / "exemptions.yaml").write_text(
        "exemptions:\n"
        "  - rule: s3-access-logging\n"
        "    resource: storage-scratch*\n"
        "    owner: ml-platform@example.com\n"
        "    reason: scratch bucket removed after the migration\n"
        "    expires: 2020-01-31\n")
    code, out, _ = run_cli(monkeypatch, capsys, root, "policy", "check", "--stack", "dev",
                           "--plan", str(save_plan(plans, "dev", tmp_path)), "--format", "json")
    assert code == 1
    data = json.loads(out)
    mandatory = [v for v in data["violations"] if v["enforcementLevel"] == "mandatory"]
    assert [(v["policy"], v["name"]) for v in mandatory] == [
        ("exemption-expired", "storage-scratch*")]


def test_bad_exemptions_file_is_exit_2(plans, monkeypatch, capsys, tmp_path):
    root = project_copy(tmp_path)
    (root / "policies" / "exemptions.yaml").write_text(
        "exemptions:\n  - rule: sns-kms\n    resource: x\n")
    code, _, err = run_cli(monkeypatch, capsys, root, "policy", "check", "--stack", "dev",
                           "--plan", str(save_plan(plans, "dev", tmp_path)))
    assert code == 2
    assert err.startswith(f"error: {root / 'policies' / 'exemptions.yaml'}: exemptions[0].")


def test_docs_page_is_current(monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, ROOT, "policy", "docs", "--check")
    assert code == 0, "docs/policies.md is stale: run `mlops policy docs`"


def test_docs_lists_every_rule_with_enforcement_and_fix():
    from policies.rules import all_rules

    page = (ROOT / "docs" / "policies.md").read_text()
    for rule in all_rules():
        assert f"### {rule.id}" in page
        assert rule.remediation in page
    assert "| [iam-no-admin](#iam-no-admin) | identity | critical | advisory | mandatory | " \
           "mandatory |" in page


def test_docs_writes_and_detects_staleness(monkeypatch, capsys, tmp_path):
    root = project_copy(tmp_path)
    code, _, _ = run_cli(monkeypatch, capsys, root, "policy", "docs", "--check")
    assert code == 1
    code, _, err = run_cli(monkeypatch, capsys, root, "policy", "docs")
    assert code == 0 and "wrote docs/policies.md" in err
    code, _, _ = run_cli(monkeypatch, capsys, root, "policy", "docs", "--check")
    assert code == 0


def test_json_report_has_exactly_the_documented_shape(monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, ROOT, "policy", "check", "--stack", "prod",
                           "--plan", str(DATA / "insecure-plan.json"), "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert set(data) == {"stack", "violations", "summary"}
    assert data["violations"] and all(
        set(v) == {"policy", "severity", "enforcementLevel", "urn", "name", "message"}
        for v in data["violations"])
    assert data["summary"]["mandatory"] == sum(
        1 for v in data["violations"] if v["enforcementLevel"] == "mandatory")


def test_unknown_values_are_reported_as_cannot_evaluate(monkeypatch, capsys, tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"resources": [{
        "type": tokens.SNS_TOPIC, "name": "alerts",
        "inputs": {"kmsMasterKeyId": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"}}]}))
    code, out, _ = run_cli(monkeypatch, capsys, ROOT, "policy", "check", "--stack", "prod",
                           "--plan", str(plan), "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["violations"] == []
    assert [(f["policy"], f["name"]) for f in data["summary"]["cannotEvaluateFindings"]] == [
        ("sns-kms", "alerts")]
    assert data["summary"]["cannotEvaluateFindings"][0]["message"].startswith("cannot evaluate")
    code, out, _ = run_cli(monkeypatch, capsys, ROOT, "policy", "check", "--stack", "prod",
                           "--plan", str(plan))
    assert "CANNOT EVALUATE (1)" in out and "sns-kms: alerts" in out


def test_stack_defaults_to_the_plans_stack(plans, monkeypatch, capsys, tmp_path):
    code, out, _ = run_cli(monkeypatch, capsys, ROOT, "policy", "check",
                           "--plan", str(save_plan(plans, "staging", tmp_path)))
    assert code == 0 and out.startswith("policy check: stack staging (tier staging)")
    code, _, err = run_cli(monkeypatch, capsys, ROOT, "policy", "check")
    assert code == 2 and err.strip() == "error: --stack: required (the stack to check; or " \
                                        "--plan FILE)"
    nameless = tmp_path / "nameless.json"
    nameless.write_text('{"resources": []}')
    code, _, err = run_cli(monkeypatch, capsys, ROOT, "policy", "check", "--plan", str(nameless))
    assert code == 2 and "names no stack" in err


@pytest.mark.parametrize(("content", "expected"), [
    ("{nope", "invalid JSON"),
    ('{"s3-versioning": "blocking"}', "s3-versioning: enforcement level must be one of"),
    ('{"no-such-rule": "advisory"}', "no-such-rule: unknown policy"),
])
def test_bad_policy_config_is_exit_2(plans, monkeypatch, capsys, tmp_path, content, expected):
    root = project_copy(tmp_path)
    (root / "policies" / "config" / "dev.json").write_text(content)
    code, _, err = run_cli(monkeypatch, capsys, root, "policy", "check", "--stack", "dev",
                           "--plan", str(save_plan(plans, "dev", tmp_path)))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"error: {root / 'policies' / 'config' / 'dev.json'}") and expected in err
