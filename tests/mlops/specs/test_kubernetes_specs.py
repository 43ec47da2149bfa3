"""The resource types of Kubernetes serving: the Kubernetes kinds and the EKS Pod Identity
association. Fakes, why the sandbox does not create them, and their exports."""

from __future__ import annotations

from dataclasses import replace

import pytest

from common import tokens
from mlops.export.terraform import shape_of, to_terraform_plan
from mlops.offline.cloud import Cloud
from mlops.offline.fakes import INVOKES
from mlops.specs import REGISTRY, NotExported, NotSimulated, Terraform

CLOUD = Cloud(account_id="123456789012", region="eu-west-1")
KINDS = (tokens.K8S_NAMESPACE, tokens.K8S_SERVICE_ACCOUNT, tokens.K8S_DEPLOYMENT,
         tokens.K8S_SERVICE, tokens.K8S_HPA, tokens.K8S_PDB, tokens.K8S_NETWORK_POLICY)


@pytest.mark.parametrize("token", KINDS)
def test_kubernetes_kinds_are_neither_simulated_nor_in_the_terraform_plan(token: str) -> None:
    spec = REGISTRY[token]
    assert spec.problems() == [] and spec.rules  # judged by the kubernetes rules
    assert isinstance(spec.sandbox, NotSimulated) and "Kubernetes API" in spec.sandbox.reason
    assert isinstance(spec.terraform, NotExported) and "mlops export k8s" in spec.terraform.reason
    assert shape_of(token) is None


def test_a_kubernetes_spec_is_checked_against_kubernetes_names() -> None:
    deployment = REGISTRY[tokens.K8S_DEPLOYMENT]
    assert replace(deployment, terraform=Terraform("aws_deployment")).problems() == [
        "terraform.type 'aws_deployment' is not a Terraform Kubernetes type"]
    assert replace(deployment, terraform=Terraform("kubernetes_deployment_v1")).problems() == []
    assert replace(deployment, terraform=NotExported(" ")).problems() == [
        "terraform: NotExported needs its reason"]
    assert replace(deployment, token="kubernetes:apps:Deployment").problems()[0] == (
        "token 'kubernetes:apps:Deployment' is not a kubernetes:<group>/<version>:<Kind> token")


def test_objects_get_the_ids_and_uids_the_api_server_gives() -> None:
    fake = REGISTRY[tokens.K8S_DEPLOYMENT].fake
    inputs = {"kind": "Deployment", "metadata": {"name": "churn", "namespace": "serving",
                                                 "labels": {"a": "b"}}}
    physical, outputs = fake(CLOUD, "kubernetes-serving-churn", inputs)
    assert physical == "serving/churn"
    assert outputs["metadata"]["labels"] == {"a": "b"}  # the inputs' metadata is kept
    assert outputs["metadata"]["uid"] == fake(CLOUD, "x", inputs)[1]["metadata"]["uid"]
    physical, outputs = REGISTRY[tokens.K8S_NAMESPACE].fake(
        CLOUD, "ns", {"kind": "Namespace", "metadata": {"name": "serving"}})
    assert physical == "serving" and outputs["metadata"]["name"] == "serving"


def test_the_pod_identity_association() -> None:
    spec = REGISTRY[tokens.EKS_POD_IDENTITY_ASSOCIATION]
    assert spec.problems() == [] and spec.unchecked and not spec.rules
    assert isinstance(spec.sandbox, NotSimulated)
    physical, outputs = spec.fake(CLOUD, "a", {"clusterName": "team-a", "namespace": "serving",
                                               "serviceAccount": "churn"})
    cluster, association = physical.split(",")
    assert cluster == "team-a" and association.startswith("a-") and len(association) == 19
    assert outputs["associationArn"] == (
        f"arn:aws:eks:eu-west-1:123456789012:podidentityassociation/team-a/{association}")
    assert shape_of(tokens.EKS_POD_IDENTITY_ASSOCIATION) == spec.terraform


def test_describe_cluster_is_faked_per_account_region_and_name() -> None:
    fake = INVOKES[tokens.GET_EKS_CLUSTER]
    cluster = fake(CLOUD, {"name": "team-a"})
    assert cluster["arn"] == "arn:aws:eks:eu-west-1:123456789012:cluster/team-a"
    assert cluster["endpoint"].startswith("https://") and cluster["certificateAuthorities"][0]["data"]
    issuer = cluster["identities"][0]["oidcs"][0]["issuer"]
    assert issuer.startswith("https://oidc.eks.eu-west-1.amazonaws.com/id/")
    assert fake(CLOUD, {"name": "team-a"}) == cluster
    assert fake(CLOUD, {"name": "team-b"})["endpoint"] != cluster["endpoint"]


def test_the_terraform_plan_export_keeps_aws_and_leaves_kubernetes_to_manifests(
        kubernetes_plan) -> None:
    document = to_terraform_plan(kubernetes_plan, "eu-west-1")
    types = {r["type"] for r in document["planned_values"]["root_module"]["resources"]}
    assert "aws_eks_pod_identity_association" in types and "aws_iam_role" in types
    assert not [t for t in types if t.startswith("kubernetes")]
