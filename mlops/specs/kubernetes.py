"""Kubernetes (pulumi-kubernetes 4): what Kubernetes serving creates on the team's cluster.

The offline Plan gets what the API server would answer (a ``<namespace>/<name>`` ID, a UID);
the sandbox has no API server, so none is simulated; the Terraform-plan export leaves them out
because `mlops export k8s` writes them as the manifests Kubernetes scanners read.
"""

from __future__ import annotations

from common import tokens
from mlops.offline.cloud import Cloud, stable_uuid
from mlops.specs.spec import NotExported, NotSimulated, ResourceSpec

NO_CLUSTER = NotSimulated("the sandbox simulates AWS only and has no Kubernetes API server "
                          "(mlops export k8s writes these as manifests for a real cluster)")
AS_MANIFESTS = NotExported("Kubernetes objects are exported as manifests by mlops export k8s "
                           "(checkov --framework kubernetes, kubeconform), not in the Terraform "
                           "plan")


def fake_object(c: Cloud, name: str, inputs: dict) -> tuple[str, dict]:
    """pulumi-kubernetes's ID is ``<namespace>/<name>`` (the name alone for cluster-scoped
    kinds); the API server adds a UID to the metadata."""
    metadata = dict(inputs.get("metadata") or {})
    object_name = str(metadata.get("name") or name)
    namespace = metadata.get("namespace")
    physical = f"{namespace}/{object_name}" if namespace else object_name
    kind = str(inputs.get("kind") or "")
    metadata.setdefault("name", object_name)
    metadata["uid"] = stable_uuid(c.account_id, kind, physical)
    return physical, {"metadata": metadata}


def _spec(token: str, unchecked: str = "") -> ResourceSpec:
    return ResourceSpec(token, fake_object, NO_CLUSTER, AS_MANIFESTS, unchecked=unchecked)


SPECS = [
    _spec(tokens.K8S_NAMESPACE),
    _spec(tokens.K8S_SERVICE_ACCOUNT),
    _spec(tokens.K8S_DEPLOYMENT),
    _spec(tokens.K8S_SERVICE),
    _spec(tokens.K8S_HPA),
    _spec(tokens.K8S_PDB),
    _spec(tokens.K8S_NETWORK_POLICY),
]
