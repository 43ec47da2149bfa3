"""The rule catalogue: stable ids, complete metadata, every catalogue rule present and tested."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from policies.rules import all_rules

HERE = Path(__file__).parent
# The rules of ../shared/design/POLICIES.md (notebook-* expanded; Kubernetes as the rules that
# mirror the CKV_K8S checks it lists).
CATALOGUE = {
    "s3-encryption-kms", "s3-versioning", "s3-public-access-block", "s3-tls-only",
    "s3-access-logging", "s3-ownership-enforced", "s3-lifecycle", "s3-no-public-policy",
    "kms-rotation", "kms-no-wildcard-principal", "kms-deletion-window", "iam-no-admin",
    "iam-no-wildcard-resource-write", "iam-trust-scoped", "iam-permissions-boundary",
    "feature-group-offline-kms", "feature-group-online-kms", "feature-group-protected",
    "registry-policy-known-accounts", "pipeline-role-is-platform-role",
    "pipeline-definition-rules", "endpoint-config-kms", "endpoint-data-capture-kms",
    "endpoint-min-instances", "model-network-isolation", "endpoint-auto-rollback",
    "notebook-kms", "notebook-no-direct-internet", "notebook-no-root", "sns-kms",
    "sns-no-public-policy", "alarm-has-actions", "every-pipeline-alarmed",
    "every-endpoint-alarmed", "log-group-retention-kms", "event-targets-known",
    "k8s-run-as-non-root", "k8s-no-privileged", "k8s-no-privilege-escalation",
    "k8s-read-only-root-filesystem", "k8s-resources-set", "k8s-image-digest", "k8s-probes",
    "k8s-no-host-namespaces", "k8s-drop-all-capabilities", "k8s-seccomp-runtime-default",
}


def test_catalogue_rules_are_all_implemented():
    assert {r.id for r in all_rules()} >= CATALOGUE


def test_rule_metadata_is_complete():
    for rule in all_rules():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", rule.id), rule.id
        assert rule.description.endswith(".") and rule.remediation, rule.id
        assert rule.severity.value in ("low", "medium", "high", "critical")
        for name, schema in rule.config_schema.items():
            assert {"type", "default", "description"} <= set(schema), (rule.id, name)


def untested(rule_ids: list[str], sources: dict[str, str]) -> list[str]:
    """Rule ids that no test function of the rule test modules names (in its body or its
    parametrize cases); this catalogue's own lists do not count."""
    named: set[str] = set()
    for name, source in sources.items():
        if name == Path(__file__).name:
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                named |= {c.value for c in ast.walk(node)
                          if isinstance(c, ast.Constant) and isinstance(c.value, str)}
                for decorator in node.decorator_list:
                    named |= {c.value for c in ast.walk(decorator)
                              if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return [rule_id for rule_id in rule_ids if rule_id not in named]


def test_every_rule_has_its_own_tests():
    """Each rule id is exercised by a rule test (pass and fail cases live together)."""
    sources = {p.name: p.read_text() for p in HERE.glob("test_*.py")}
    assert untested([r.id for r in all_rules()], sources) == []


def test_deleting_a_rules_tests_is_noticed():
    own = Path(__file__).name
    sources = {
        own: f"CATALOGUE = {sorted(CATALOGUE)!r}\n",  # listing an id here is not a test
        "test_x_rules.py": 'def test_kms():\n    assert violations("kms-rotation", []) == []\n'
                           '@pytest.mark.parametrize("rule", ["sns-kms"])\n'
                           'def test_sns(rule):\n    pass\n'
                           'HELPER = "s3-versioning"\n',  # outside a test function
    }
    assert untested(["kms-rotation", "sns-kms", "s3-versioning", "notebook-kms"], sources) == [
        "s3-versioning", "notebook-kms"]


def test_every_resource_type_the_stacks_create_is_judged_or_explained(plans):
    from mlops.specs import REGISTRY
    from policies.rules import rules_by_type

    judged = set(rules_by_type())
    unchecked = {t for t, spec in REGISTRY.items() if spec.unchecked}
    for stack, plan in plans.items():
        types = {r.type for r in plan.custom_resources()}
        assert types - judged - unchecked == set(), stack
    assert not unchecked & judged


# The Security Hub CSPM controls each rule mirrors, checked against AWS's control reference
# (docs.aws.amazon.com/securityhub/latest/userguide/<service>-controls.html).
SECURITY_HUB = {
    "monitor-job-network-isolation": {"SageMaker.11", "SageMaker.14"},
    "monitor-job-traffic-encryption": {"SageMaker.9", "SageMaker.22"},
    "s3-encryption-kms": {"S3.17"}, "s3-encryption-cmk": {"S3.17"}, "s3-versioning": {"S3.14"},
    "s3-public-access-block": {"S3.8"}, "s3-tls-only": {"S3.5"}, "s3-access-logging": {"S3.9"},
    "s3-ownership-enforced": {"S3.12"}, "s3-lifecycle": {"S3.13"},
    "s3-no-public-policy": {"S3.2", "S3.3"}, "sns-kms": {"SNS.1"},
    "sns-no-public-policy": {"SNS.4"}, "kms-rotation": {"KMS.4"}, "iam-no-admin": {"IAM.1"},
    "endpoint-min-instances": {"SageMaker.4"}, "model-network-isolation": {"SageMaker.5"},
    "notebook-no-direct-internet": {"SageMaker.1"}, "notebook-no-root": {"SageMaker.3"},
}


def test_rules_cite_the_right_security_hub_controls():
    cited = {r.id: {ref.removeprefix("Security Hub ") for ref in r.references
                    if ref.startswith("Security Hub ")} for r in all_rules()}
    assert {rule: ids for rule, ids in cited.items() if ids} == SECURITY_HUB
