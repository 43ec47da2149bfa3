"""Pulumi mocks for the offline Plan: each resource's outputs come from its type's spec.

The Pulumi mock runtime asks for the ID and output state of each registered resource. The spec
of the type (``mlops/specs/``) computes what AWS would return (ARNs, IDs, names), so dependent
inputs (a bucket policy on the bucket ARN, a key ARN in an encryption config) are realistic in
the Plan. Data sources the program invokes are faked here (an unfaked invoke fails loudly).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pulumi

from common import tokens
from mlops.offline.cloud import DEFAULT_ACCOUNT, Cloud, stable_uuid
from mlops.specs import REGISTRY

__all__ = ["DEFAULT_ACCOUNT", "INVOKES", "Cloud", "FakeCloud", "UnfakedInvokeError", "stable_uuid"]


def _caller_identity(c: Cloud, args: dict) -> dict:
    return {"accountId": c.account_id, "arn": f"arn:{c.partition}:iam::{c.account_id}:user/offline",
            "userId": "AIDAOFFLINE", "id": c.account_id}


def _region(c: Cloud, args: dict) -> dict:
    return {"name": c.region, "region": c.region, "id": c.region,
            "description": c.region, "endpoint": f"ec2.{c.region}.amazonaws.com"}


def _partition(c: Cloud, args: dict) -> dict:
    return {"partition": c.partition, "dnsSuffix": "amazonaws.com", "id": c.partition,
            "reverseDnsPrefix": "com.amazonaws"}


def _eks_cluster(c: Cloud, args: dict) -> dict:
    """DescribeCluster of a team's EKS cluster (the platform never creates one): a stable
    endpoint, CA and OIDC issuer per account, region and name."""
    name = str(args.get("name") or "cluster")
    digest = hashlib.sha256(f"{c.account_id}/{c.region}/{name}".encode()).hexdigest()[:32].upper()
    ca = base64.b64encode(f"offline CA of {name}".encode()).decode()
    return {"id": name, "name": name, "arn": c.arn("eks", f"cluster/{name}"),
            "endpoint": f"https://{digest}.gr7.{c.region}.eks.amazonaws.com",
            "certificateAuthorities": [{"data": ca}],
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{c.region}.amazonaws.com"
                                                 f"/id/{digest}"}]}],
            "status": "ACTIVE", "version": "1.33", "platformVersion": "eks.1",
            "roleArn": f"arn:{c.partition}:iam::{c.account_id}:role/{name}-cluster",
            "tags": {}}


INVOKES: dict[str, Callable[[Cloud, dict], dict]] = {
    tokens.GET_CALLER_IDENTITY: _caller_identity,
    tokens.GET_REGION: _region,
    tokens.GET_PARTITION: _partition,
    tokens.GET_EKS_CLUSTER: _eks_cluster,
}


class UnfakedInvokeError(RuntimeError):
    """The program called a data source the offline runtime does not fake."""


class FakeCloud(pulumi.runtime.Mocks):
    """Pulumi mocks answering from the specs' fakes.

    Components and providers get a placeholder ID. So does a custom type without a spec, for
    the run to finish: ``build_plan`` then refuses the Plan, naming every such type.
    """

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        spec = REGISTRY.get(args.typ) if args.custom else None
        outputs: dict[str, Any]
        if spec is None:
            physical, outputs = f"{args.name}-id", {}
        else:
            physical, outputs = spec.fake(self.cloud, args.name, dict(args.inputs))
        return physical, {**args.inputs, **outputs}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:  # type: ignore[override]
        fake = INVOKES.get(args.token)
        if fake is None:
            # An unfaked invoke would silently return None; fail loudly instead.
            raise UnfakedInvokeError(f"offline runtime has no fake for invoke {args.token}")
        return fake(self.cloud, dict(args.args))
