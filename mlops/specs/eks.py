"""EKS: the Pod Identity associations of Kubernetes serving (the cluster is the team's)."""

from __future__ import annotations

from common import tokens
from mlops.offline.cloud import Cloud, stable_uuid
from mlops.specs.spec import NotSimulated, ResourceSpec, Terraform


def fake_association(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    """EKS names an association ``a-<17 characters>``; pulumi-aws's ID is
    ``<cluster>,<association id>``."""
    cluster = str(inputs.get("clusterName") or "cluster")
    association = "a-" + stable_uuid(c.account_id, cluster, str(inputs.get("namespace")),
                                     str(inputs.get("serviceAccount"))).replace("-", "")[:17]
    arn = c.arn("eks", f"podidentityassociation/{cluster}/{association}")
    return f"{cluster},{association}", {"associationId": association, "associationArn": arn}


SPECS = [
    ResourceSpec(tokens.EKS_POD_IDENTITY_ASSOCIATION, fake_association,
                 NotSimulated("moto has no EKS Pod Identity API (and the sandbox no cluster)"),
                 Terraform("aws_eks_pod_identity_association", default_tags=True),
                 unchecked="binds the serving role to one namespace and service account; what "
                           "the role may do and who may assume it are judged on the role "
                           "(iam-* rules)"),
]
