"""A project root with a stack that serves churn on Kubernetes (``k8s-dev``, dev tier).

The shipped stacks serve on SageMaker; this fixture stack is the documented example of
docs/kubernetes.md: an EKS cluster named in ``mlops:kubernetes``, churn pinned with its artifact,
and churn's ``serving.target`` set to kubernetes for this stack only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.conftest import make_root

STACK = "k8s-dev"
ACCOUNT, REGION = "123456789012", "eu-west-1"
CLUSTER = "team-a-dev"
NAMESPACE = "mlops-k8s-dev-serving"
INGRESS = ("gateway", "checkout")
SHA = hashlib.sha256(b"churn v3").hexdigest()
ARTIFACT = (f"s3://mlops-{STACK}-model-artifacts-{ACCOUNT}-{REGION}/models/churn/{SHA}/"
            "model.tar.gz")
PACKAGE = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/mlops-{STACK}-churn/3"
IMAGE = (f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/churn-server@sha256:"
         + hashlib.sha256(b"server").hexdigest())
LOADER = (f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/model-loader@sha256:"
          + hashlib.sha256(b"loader").hexdigest())

CLUSTER_SETTINGS = f"""\
  mlops:kubernetes:
    eksClusterName: {CLUSTER}
    namespace: {NAMESPACE}
    ingressNamespaces: [{", ".join(INGRESS)}]
"""
PIN = f"""\
  mlops:models:
    churn:
      version: 3
      packageArn: {PACKAGE}
      artifactUri: {ARTIFACT}
      artifactSha256: {SHA}
"""
STACK_FILE = f"""\
# k8s-dev: a dev-tier stack that serves churn on the team's EKS cluster.
config:
  aws:region: {REGION}
  aws:defaultTags:
    tags:
      mlops:environment: dev
      mlops:managed-by: pulumi
  mlops:environment: dev
  mlops:allowedInstanceTypes: [ml.t3.medium, ml.m5.large]
  mlops:kmsDeletionWindowDays: 7
  mlops:promotion: {{allowFrom: [dev]}}
{CLUSTER_SETTINGS}{PIN}"""
SERVING = f"""\
  target: {{{STACK}: kubernetes}}
  kubernetes:
    image: {IMAGE}
    loaderImage: {LOADER}
    port: 8080
    health: {{readiness: /ping, liveness: /ping, startup: /ping}}
    replicas: {{dev: 2}}
    autoscaling:
      {STACK}: {{min: 2, max: 6, targetCpuUtilization: 70}}
    resources:
      {STACK}: {{cpu: 500m, memory: 1Gi}}
"""


def serve_churn_on_kubernetes(root: Path, serving: str = SERVING) -> None:
    """churn's serving section gains the Kubernetes target and options."""
    path = root / "pipelines" / "churn" / "project.yaml"
    path.write_text(path.read_text().replace("\nserving:\n", f"\nserving:\n{serving}", 1))


def kubernetes_root(tmp: Path, stack_file: str = STACK_FILE) -> Path:
    """A copy of the project with the k8s-dev stack."""
    root = make_root(tmp)
    (root / "stacks" / f"Pulumi.{STACK}.yaml").write_text(stack_file)
    serve_churn_on_kubernetes(root)
    return root


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.k8s_stack DIR``: the example root in DIR/root and its manifests in
    DIR/manifests (what `make k8s-example` runs, so Checkov or kubeconform can read them)."""
    import os
    import subprocess
    import sys

    out = Path((argv if argv is not None else sys.argv[1:])[0]).resolve()
    if out.exists():
        import shutil

        shutil.rmtree(out)
    (out / "root").mkdir(parents=True)
    root = kubernetes_root(out / "root")
    done = subprocess.run([sys.executable, "-m", "mlops.cli", "export", "k8s", "--stack", STACK,
                           "--out", str(out / "manifests")],
                          env={**os.environ, "MLOPS_ROOT": str(root)}, check=False)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
