"""The stack's Kubernetes cluster, read through ``kubectl`` with the stack's own kubeconfig.

The project has no Kubernetes API client (pulumi-kubernetes is not one), so the day-2 commands
call ``kubectl`` with the cluster the stack file names, never the ambient kubeconfig: the
kubeconfig file and context of ``mlops:kubernetes.kubeconfig``, one built from DescribeCluster
for an EKS cluster (authenticating with ``aws eks get-token``), or a file given with
``--kubeconfig`` (a kubeconfig kept as a Pulumi secret is not read by mlops). Anything that keeps
the cluster from answering is :class:`ClusterUnreachable`, with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.components.kubernetes_serving import eks_kubeconfig
from infra.config import KubernetesCluster
from mlops.ops.aws import AwsClients, clients, describe_error

REQUEST_TIMEOUT = "10s"
FORWARD_WAIT_SECONDS = 20.0


class ClusterUnreachable(Exception):  # noqa: N818 (an outcome the commands report)
    """kubectl cannot talk to the stack's cluster; ``str()`` says why."""


@dataclass
class Kubectl:
    """kubectl bound to one cluster (``--kubeconfig`` and ``--context``)."""

    binary: str
    kubeconfig: Path
    context: str | None = None

    def command(self, *args: str) -> list[str]:
        context = ["--context", self.context] if self.context else []
        return [self.binary, "--kubeconfig", str(self.kubeconfig), *context,
                f"--request-timeout={REQUEST_TIMEOUT}", *args]

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object as JSON; None when the cluster says it does not exist."""
        try:
            run = subprocess.run(self.command("get", kind, name, "-n", namespace, "-o", "json"),
                                 capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ClusterUnreachable(f"kubectl: {exc}") from None
        if run.returncode != 0:
            if "NotFound" in run.stderr or "not found" in run.stderr:
                return None
            lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
            raise ClusterUnreachable(lines[-1] if lines else f"kubectl exit {run.returncode}")
        try:
            found = json.loads(run.stdout)
        except json.JSONDecodeError:
            raise ClusterUnreachable("kubectl answered something that is not JSON") from None
        return found if isinstance(found, dict) else None

    @contextlib.contextmanager
    def port_forward(self, namespace: str, service: str, port: int) -> Iterator[int]:
        """Forward a free local port to ``service``'s ``port`` (through the API server and the
        kubelet, so the namespace's NetworkPolicies do not apply); yields the local port."""
        local = _free_port()
        try:
            proc = subprocess.Popen(
                self.command("port-forward", "-n", namespace, f"service/{service}",
                             f"{local}:{port}", "--address", "127.0.0.1"),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except OSError as exc:
            raise ClusterUnreachable(f"kubectl: {exc}") from None
        try:
            _wait_for(proc, local)
            yield local
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + FORWARD_WAIT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            error = (proc.stderr.read() if proc.stderr else "").strip().splitlines()
            raise ClusterUnreachable(error[-1] if error else "kubectl port-forward ended")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise ClusterUnreachable(f"kubectl port-forward did not listen within "
                             f"{FORWARD_WAIT_SECONDS:.0f} s")


@contextlib.contextmanager
def connect(cluster: KubernetesCluster, region: str, *, kubeconfig: Path | None = None,
            aws: AwsClients | None = None) -> Iterator[Kubectl]:
    """kubectl for the stack's cluster; ClusterUnreachable when it cannot be had."""
    binary = shutil.which("kubectl")
    if binary is None:
        raise ClusterUnreachable("kubectl is not on PATH")
    settings = cluster.kubeconfig
    context = settings.context if settings else None
    if kubeconfig is not None:
        yield Kubectl(binary, kubeconfig, context)
        return
    if settings is not None and settings.path is not None:
        yield Kubectl(binary, Path(os.path.expanduser(settings.path)), context)
        return
    if settings is not None:
        raise ClusterUnreachable(f"the stack's kubeconfig is the Pulumi secret "
                                 f"{settings.secret_config_key}, which mlops does not read; pass "
                                 "--kubeconfig FILE")
    assert cluster.eks_cluster_name is not None  # settings name a cluster
    name = cluster.eks_cluster_name
    try:
        found = (aws or clients(region)).for_region(region).client("eks").describe_cluster(
            name=name)["cluster"]
    except Exception as exc:  # an AWS error is the reason the cluster cannot be reached
        detail = describe_error(exc) if type(exc).__module__.startswith("botocore") else str(exc)
        raise ClusterUnreachable(f"EKS cluster {name}: {detail}") from None
    config = eks_kubeconfig(name, str(found["endpoint"]),
                            str(found["certificateAuthority"]["data"]), region)
    with tempfile.TemporaryDirectory(prefix="mlops-kubeconfig-") as tmp:
        path = Path(tmp) / "config"
        path.write_text(json.dumps(config), encoding="utf-8")
        path.chmod(0o600)
        yield Kubectl(binary, path)
