"""The shipped stacks, as their offline Plans show them."""

from __future__ import annotations

import json

import pytest

from common import tokens
from tests.conftest import SHIPPED_STACKS

BUCKET = tokens.S3_BUCKET
COMPANIONS = {
    tokens.S3_BUCKET_SSE,
    tokens.S3_BUCKET_VERSIONING,
    tokens.S3_BUCKET_PUBLIC_ACCESS_BLOCK,
    tokens.S3_BUCKET_POLICY,
    tokens.S3_BUCKET_LIFECYCLE,
    tokens.S3_BUCKET_OWNERSHIP,
}
STATEFUL = {
    BUCKET,
    tokens.KMS_KEY,
    tokens.SAGEMAKER_FEATURE_GROUP,
    tokens.SAGEMAKER_MODEL_PACKAGE_GROUP,
}


def companions_of(plan, bucket):
    """Companion resources joined to a bucket through the `bucket` property dependency."""
    found = {}
    for r in plan.resources:
        if bucket.urn in r.property_dependencies.get("bucket", []):
            found.setdefault(r.type, []).append(r)
    return found


def policy_statements(document: str) -> list[dict]:
    statements = json.loads(document)["Statement"]
    return statements if isinstance(statements, list) else [statements]


def as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_five_buckets_with_globally_unique_names(plans, stack):
    buckets = plans[stack].of_type(BUCKET)
    names = sorted(b.inputs["bucket"] for b in buckets)
    assert len(names) == 5
    for name in names:
        assert name.startswith(f"mlops-{stack}-") and name.endswith("-123456789012-eu-west-1")
        assert len(name) <= 63


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_bucket_has_all_companions(plans, stack):
    plan = plans[stack]
    key_arns = {k.urn for k in plan.of_type(tokens.KMS_KEY)}
    for bucket in plan.of_type(BUCKET):
        found = companions_of(plan, bucket)
        missing = COMPANIONS - set(found)
        assert not missing, f"{bucket.name} lacks {missing}"

        (sse,) = found[next(t for t in COMPANIONS if "ServerSideEncryption" in t)]
        rule = sse.inputs["rules"][0]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith("arn:aws:kms:")
        assert rule["bucketKeyEnabled"] is True
        assert set(sse.property_dependencies["rules"]) & key_arns

        (versioning,) = found[tokens.S3_BUCKET_VERSIONING]
        assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"

        (pab,) = found[tokens.S3_BUCKET_PUBLIC_ACCESS_BLOCK]
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                     "restrictPublicBuckets"):
            assert pab.inputs[flag] is True

        (owner,) = found[tokens.S3_BUCKET_OWNERSHIP]
        assert owner.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"

        (lifecycle,) = found[tokens.S3_BUCKET_LIFECYCLE]
        rules = lifecycle.inputs["rules"]
        assert any(r.get("abortIncompleteMultipartUpload", {}).get("daysAfterInitiation") for r in rules)
        assert any(r.get("noncurrentVersionExpiration", {}).get("noncurrentDays") for r in rules)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_bucket_policies_deny_plain_http_and_unencrypted_uploads(plans, stack):
    plan = plans[stack]
    for bucket in plan.of_type(BUCKET):
        (policy,) = companions_of(plan, bucket)[tokens.S3_BUCKET_POLICY]
        statements = policy_statements(policy.inputs["policy"])
        tls = [s for s in statements if s["Effect"] == "Deny"
               and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
        assert tls and "s3:*" in as_list(tls[0]["Action"])
        sse = [s for s in statements if s["Effect"] == "Deny" and "s3:PutObject" in as_list(s["Action"])
               and "s3:x-amz-server-side-encryption" in json.dumps(s.get("Condition", {}))]
        assert sse
        for s in statements:
            if s["Effect"] == "Allow":
                assert s["Principal"] != "*" and s["Principal"] != {"AWS": "*"}


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_bucket_but_the_log_bucket_logs_to_it(plans, stack):
    plan = plans[stack]
    buckets = plan.of_type(BUCKET)
    (logs,) = [b for b in buckets if "-access-logs-" in b.inputs["bucket"]]
    for bucket in buckets:
        logging = companions_of(plan, bucket).get(tokens.S3_BUCKET_LOGGING, [])
        if bucket is logs:
            assert logging == []
            continue
        (entry,) = logging
        assert entry.inputs["targetBucket"] == logs.inputs["bucket"]
        assert logs.urn in entry.property_dependencies["targetBucket"]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_one_rotating_customer_managed_key(plans, stack):
    plan = plans[stack]
    (key,) = plan.of_type(tokens.KMS_KEY)
    assert key.inputs["enableKeyRotation"] is True
    expected_window = 30 if stack == "prod" else key.inputs["deletionWindowInDays"]
    assert key.inputs["deletionWindowInDays"] == expected_window
    statements = policy_statements(key.inputs["policy"])
    for s in statements:
        principal = s["Principal"]
        assert principal != "*" and principal.get("AWS") != "*"
        if "Service" in principal:
            assert s["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    services = {svc for s in statements for svc in as_list(s["Principal"].get("Service", []))}
    assert {"s3.amazonaws.com", "sagemaker.amazonaws.com", "sns.amazonaws.com",
            "cloudwatch.amazonaws.com", "events.amazonaws.com"} <= services
    (alias,) = plan.of_type(tokens.KMS_ALIAS)
    assert alias.inputs["name"] == f"alias/mlops-{stack}"


def test_prod_deletion_window_is_thirty_days(plans):
    (key,) = plans["prod"].of_type(tokens.KMS_KEY)
    assert key.inputs["deletionWindowInDays"] == 30


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_stateful_resources_protected_exactly_in_prod(plans, stack):
    stateful = [r for r in plans[stack].resources if r.type in STATEFUL]
    assert stateful
    for r in stateful:
        assert r.protect is (stack == "prod"), r.urn
        assert r.retain_on_delete is (stack == "prod"), r.urn
        if r.type == BUCKET:
            assert r.inputs.get("forceDestroy", False) is (stack != "prod")


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_no_iam_statement_has_a_wildcard_action(plans, stack):
    documents = []
    for r in plans[stack].custom_resources():
        for prop in ("policy", "assumeRolePolicy", "resourcePolicy"):
            if isinstance(r.inputs.get(prop), str) and r.inputs[prop].startswith("{"):
                documents.append((r.name, r.inputs[prop]))
    assert len(documents) >= 8
    for name, document in documents:
        for s in policy_statements(document):
            if s["Effect"] != "Allow":
                continue
            for action in as_list(s.get("Action", [])):
                assert action != "*" and not action.endswith(":*"), (name, action)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_execution_role_is_scoped_to_the_environment(plans, stack):
    plan = plans[stack]
    (role,) = [r for r in plan.of_type(tokens.IAM_ROLE) if "sagemaker-execution" in r.name]
    (trust,) = policy_statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    policies = [p for p in plan.of_type(tokens.IAM_ROLE_POLICY)
                if role.urn in p.property_dependencies.get("role", [])]
    assert policies
    for s in policy_statements(policies[0].inputs["policy"]):
        resources = as_list(s["Resource"])
        if resources == ["*"]:
            # only actions AWS cannot scope
            assert set(as_list(s["Action"])) <= {"cloudwatch:PutMetricData",
                "ecr:GetAuthorizationToken", "sagemaker:ListFeatureGroups", "sagemaker:Search"}
            continue
        for arn in resources:
            if arn.startswith("arn:aws:s3:::"):
                assert f"mlops-{stack}-" in arn
            if ":sagemaker:" in arn and "pipelines-" not in arn:
                assert f"/mlops-{stack}-" in arn


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_topic_is_encrypted_with_the_environment_key(plans, stack):
    plan = plans[stack]
    (key,) = plan.of_type(tokens.KMS_KEY)
    topics = plan.of_type(tokens.SNS_TOPIC)
    assert topics
    for topic in topics:
        assert topic.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:")
        assert key.urn in topic.property_dependencies["kmsMasterKeyId"]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_sagemaker_events_route_to_the_topic(plans, stack):
    plan = plans[stack]
    rules = plan.of_type(tokens.EVENT_RULE)
    patterns = [json.loads(r.inputs["eventPattern"]) for r in rules]
    detail_types = {t for p in patterns for t in p["detail-type"]}
    assert {"SageMaker Model Package State Change",
            "SageMaker Model Building Pipeline Execution Status Change"} <= detail_types
    failed = next(p for p in patterns if "Pipeline" in p["detail-type"][0])
    assert set(failed["detail"]["currentPipelineExecutionStatus"]) == {"Failed", "Stopped"}
    (topic,) = plan.of_type(tokens.SNS_TOPIC)
    targets = plan.of_type(tokens.EVENT_TARGET)
    assert len(targets) >= len(rules)
    for target in targets:
        assert topic.urn in target.property_dependencies["arn"]
    (policy,) = plan.of_type(tokens.SNS_TOPIC_POLICY)
    publishers = [s for s in policy_statements(policy.inputs["policy"])
                  if s["Effect"] == "Allow" and "Service" in s["Principal"]]
    assert publishers
    for s in publishers:
        assert s["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    # Named accounts are pinned by a condition too (no statement relies on the principal alone).
    for s in policy_statements(policy.inputs["policy"]):
        if s["Effect"] == "Allow" and "AWS" in s["Principal"]:
            assert s["Condition"]["StringEquals"]["aws:PrincipalAccount"] == "123456789012"


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_a_package_group_per_project_and_stack_outputs(plans, root, stack):
    from infra.projects.discover import project_names

    plan = plans[stack]
    groups = {g.inputs["modelPackageGroupName"] for g in
              plan.of_type(tokens.SAGEMAKER_MODEL_PACKAGE_GROUP)}
    projects = project_names(root)
    assert projects
    assert len(groups) == len(projects)
    assert all(g.startswith(f"mlops-{stack}-") for g in groups)
    for key in ("buckets", "keyArn", "roleArn", "topicArn", "modelPackageGroups"):
        assert plan.outputs[key], key
    assert set(plan.outputs["modelPackageGroups"].values()) == groups


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_components_parent_their_resources(plans, stack):
    plan = plans[stack]
    by_urn = plan.by_urn()
    for r in plan.custom_resources():
        assert r.parent in by_urn, r.urn
        assert by_urn[r.parent].type.startswith("mlops:")
    top = [r for r in plan.resources if r.parent is None]
    assert [r.type for r in top] == [tokens.PLATFORM]
