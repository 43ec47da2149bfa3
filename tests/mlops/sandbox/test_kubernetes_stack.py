"""The sandbox applies a stack that serves on Kubernetes: the AWS side is created in moto, the
Kubernetes objects and the Pod Identity association are listed as not simulated, with why."""

from __future__ import annotations

from pathlib import Path

import pytest

from common import tokens
from mlops.sandbox.engine import CREATED, NOT_SIMULATED, apply_stack
from tests.conftest import boto_client
from tests.k8s_stack import STACK, kubernetes_root


@pytest.mark.slow  # applies a whole stack to moto
def test_kubernetes_serving_in_the_sandbox(moto_backend, tmp_path: Path) -> None:
    applied = apply_stack(kubernetes_root(tmp_path), STACK)
    assert applied.failed == []
    by_type: dict[str, set[str]] = {}
    for outcome in applied.outcomes:
        by_type.setdefault(outcome.type, set()).add(outcome.status)
    on_cluster = [t for t in by_type if tokens.is_kubernetes(t)]
    assert len(on_cluster) == 7
    for token in [*on_cluster, tokens.EKS_POD_IDENTITY_ASSOCIATION]:
        assert by_type[token] == {NOT_SIMULATED}, token
    reasons = {o.detail for o in applied.outcomes if tokens.is_kubernetes(o.type)}
    assert reasons == {"the sandbox simulates AWS only and has no Kubernetes API server (mlops "
                       "export k8s writes these as manifests for a real cluster)"}
    assert by_type[tokens.IAM_ROLE] == {CREATED}
    role = boto_client("iam").get_role(RoleName=f"mlops-{STACK}-churn-k8s-serving")["Role"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    policy = boto_client("iam").get_role_policy(RoleName=role["RoleName"],
                                                PolicyName="serving-access")
    actions = {s["Sid"]: s["Action"] for s in policy["PolicyDocument"]["Statement"]}
    assert actions["ReadPinnedArtifact"] == "s3:GetObject"
