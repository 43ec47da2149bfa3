"""The offline evaluator: enforcement per tier, exemptions, cannot-evaluate, the insecure stack."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from common import tokens
from mlops.offline.plan import load_plan
from mlops.policy.config import CONFIG_DIR, config_path, load_policy_config
from mlops.policy.evaluate import EXEMPTED, UNKNOWN, VIOLATION, evaluate, plan_resources
from policies.exemptions import Exemption, ExemptionsError, load_exemptions, parse_exemptions
from policies.rules import all_rules
from tests.conftest import ROOT
from tests.policies.helpers import UNKNOWN as UNKNOWN_VALUE
from tests.policies.helpers import bucket, res, secure_buckets

DATA = ROOT / "tests" / "policies" / "data"
TODAY = dt.date(2026, 11, 22)
IDS = {r.id for r in all_rules()}


def tier(name: str) -> dict:
    return load_policy_config(config_path(name), IDS)


def unencrypted_topic():
    return [*secure_buckets(), res(tokens.SNS_TOPIC, "alerts", {"name": "alerts"})]


def test_enforcement_differs_between_dev_and_prod():
    dev = evaluate(unencrypted_topic(), stack="dev", tier="dev", config=tier("dev"), today=TODAY)
    prod = evaluate(unencrypted_topic(), stack="prod", tier="prod", config=tier("prod"),
                    today=TODAY)
    assert [(r.rule.id, r.level) for r in dev.violations] == [("sns-kms", "advisory")]
    assert [(r.rule.id, r.level) for r in prod.violations] == [("sns-kms", "mandatory")]
    assert dev.passed and not prod.passed


def test_rules_disabled_in_dev_are_not_run():
    fg = res(tokens.SAGEMAKER_FEATURE_GROUP, "fg", {})
    dev = evaluate([fg], stack="dev", tier="dev", config=tier("dev"), today=TODAY)
    prod = evaluate([fg], stack="prod", tier="prod", config=tier("prod"), today=TODAY)
    assert "feature-group-protected" not in {r.rule.id for r in dev.results}
    assert {r.rule.id for r in prod.mandatory_violations} == {"feature-group-protected"}


def test_default_levels_follow_severity_in_prod():
    prod = tier("prod")
    for rule in all_rules():
        level = prod[rule.id] if isinstance(prod[rule.id], str) else prod[rule.id][
            "enforcementLevel"]
        expected = "mandatory" if rule.severity.value in ("high", "critical") else "advisory"
        assert level == expected, rule.id


def test_every_rule_is_configured_in_every_tier():
    for name in ("dev", "staging", "prod"):
        assert set(tier(name)) == IDS, name
    dev = tier("dev")
    assert {k for k, v in dev.items() if v == "mandatory"} == {"exemption-expired"}


def exemption(expires: dt.date, rule: str = "sns-kms", resource: str = "alert*") -> Exemption:
    return Exemption(rule=rule, resource=resource, owner="ml-platform@example.com",
                     reason="migrating to the shared alerts key (TICKET-42)", expires=expires)


def test_active_exemption_exempts():
    report = evaluate(unencrypted_topic(), stack="prod", tier="prod", config=tier("prod"),
                      exemptions=[exemption(TODAY)], today=TODAY)
    assert report.passed
    assert [(r.rule.id, r.status) for r in report.results] == [("sns-kms", EXEMPTED)]


def test_expired_exemption_is_a_violation_and_exempts_nothing():
    report = evaluate(unencrypted_topic(), stack="dev", tier="dev", config=tier("dev"),
                      exemptions=[exemption(TODAY - dt.timedelta(days=1))], today=TODAY)
    assert not report.passed  # exemption-expired is mandatory even in dev
    found = {(r.rule.id, r.status, r.level) for r in report.results}
    assert found == {("exemption-expired", VIOLATION, "mandatory"),
                     ("sns-kms", VIOLATION, "advisory")}
    expired = next(r for r in report.results if r.rule.id == "exemption-expired")
    assert "expired on 2026-11-21" in expired.message and expired.name == "alert*"


def test_exemption_limited_to_stacks():
    scoped = exemption(TODAY).model_copy(update={"stacks": ("staging",)})
    report = evaluate(unencrypted_topic(), stack="prod", tier="prod", config=tier("prod"),
                      exemptions=[scoped], today=TODAY)
    assert [r.status for r in report.results] == [VIOLATION]


def test_unknown_values_are_reported_as_cannot_evaluate_not_pass():
    topic = res(tokens.SNS_TOPIC, "alerts", {"kmsMasterKeyId": UNKNOWN_VALUE})
    report = evaluate([topic], stack="prod", tier="prod", config=tier("prod"), today=TODAY)
    assert [(r.rule.id, r.status) for r in report.results] == [("sns-kms", UNKNOWN)]
    outcome = next(o for o in report.outcomes if o.rule.id == "sns-kms")
    assert outcome.status == "cannot-evaluate"
    assert report.summary()["cannotEvaluate"] == 1


def test_insecure_stack_fails_with_expected_rules():
    plan = load_plan(DATA / "insecure-plan.json")
    report = evaluate(plan_resources(plan), stack="prod", tier="prod", config=tier("prod"),
                      today=TODAY)
    assert not report.passed
    mandatory = {r.rule.id for r in report.mandatory_violations}
    assert {"s3-public-access-block", "s3-no-public-policy", "sns-kms", "iam-no-admin",
            "feature-group-protected"} <= mandatory
    assert mandatory == {"s3-public-access-block", "s3-no-public-policy", "sns-kms",
                         "iam-no-admin", "iam-no-wildcard-resource-write",
                         "feature-group-protected", "s3-encryption-kms", "s3-tls-only",
                         "stateful-protected"}


def test_shipped_exemptions_file_is_valid():
    assert load_exemptions(CONFIG_DIR.parent / "exemptions.yaml", IDS) is not None


@pytest.mark.parametrize(("entry", "message"), [
    ({"rule": "sns-kms", "resource": "x", "owner": "not-an-email", "reason": "long enough reason",
      "expires": "2026-12-01"}, "exemptions[0].owner: String should match pattern"),
    ({"rule": "sns-kms", "resource": "x", "owner": "a@example.com", "reason": "long enough reason",
      "expires": "next week"}, "exemptions[0].expires: expires must be YYYY-MM-DD"),
    ({"rule": "no-such-rule", "resource": "x", "owner": "a@example.com",
      "reason": "long enough reason", "expires": "2026-12-01"},
     "exemptions[0].rule: unknown rule 'no-such-rule'"),
    ({"rule": "sns-kms", "resource": "x", "owner": "a@example.com", "reason": "long enough reason",
      "expires": "2026-12-01", "extra": 1}, "exemptions[0].extra: Extra inputs are not permitted"),
])
def test_bad_exemptions_name_file_and_entry(entry, message):
    with pytest.raises(ExemptionsError) as info:
        parse_exemptions({"exemptions": [entry]}, "policies/exemptions.yaml", IDS)
    assert str(info.value).startswith(f"policies/exemptions.yaml: {message}"), str(info.value)
    assert "\n" not in str(info.value)


def test_bad_yaml_exemptions_file(tmp_path):
    path = tmp_path / "exemptions.yaml"
    path.write_text("exemptions:\n  - rule: [unclosed\n")
    with pytest.raises(ExemptionsError) as info:
        load_exemptions(path, IDS)
    assert str(info.value).startswith(str(path))


def test_tier_parameters_match_stack_settings(root):
    """The per-tier config carries the stack's limits; they must not drift apart."""
    from mlops.offline.runtime import load_settings

    for stack in ("dev", "staging", "prod"):
        settings, _ = load_settings(root, stack)
        params = tier(settings.environment)["pipeline-definition-rules"]
        assert params["allowedInstanceTypes"] == settings.allowed_instance_types, stack
        assert params["maxRuntimeSeconds"] == settings.max_runtime_seconds, stack
        kms = tier(settings.environment)["kms-deletion-window"]
        assert kms["minDays"] <= settings.kms_deletion_window_days, stack


def test_buckets_joined_in_evaluate_pass():
    report = evaluate([*secure_buckets(), bucket("extra")], stack="dev", tier="dev",
                      config=tier("dev"), today=TODAY)
    assert {r.name for r in report.violations} == {"extra"}


def test_json_report_shape():
    report = evaluate(unencrypted_topic(), stack="prod", tier="prod", config=tier("prod"),
                      today=TODAY)
    data = json.loads(json.dumps(report.to_json()))
    assert data["stack"] == "prod"
    violation = data["violations"][0]
    assert {k: violation[k] for k in ("policy", "severity", "enforcementLevel", "name")} == {
        "policy": "sns-kms", "severity": "high", "enforcementLevel": "mandatory",
        "name": "alerts"}
    assert violation["urn"].endswith(f"{tokens.SNS_TOPIC}::alerts")
    assert data["summary"]["mandatory"] == 1 and data["summary"]["passed"] is False
