"""`mlops endpoints status` and `invoke` for a project served on Kubernetes: the Deployment read
through kubectl with the stack's kubeconfig, and what would run when the cluster is out of reach.

kubectl here is a fake on PATH that answers from files the test writes (and serves invocations on
the port-forward it is asked for); nothing reaches a real cluster.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from mlops.ops.endpoints import deployment_state, endpoint_states
from tests.conftest import run_cli
from tests.k8s_stack import (
    CLUSTER,
    CLUSTER_SETTINGS,
    IMAGE,
    NAMESPACE,
    PACKAGE,
    STACK,
    STACK_FILE,
    kubernetes_root,
)

FAKE_KUBECTL = f"""#!{sys.executable}
import http.server, json, os, sys
state = os.environ["FAKE_KUBECTL_STATE"]
args = sys.argv[1:]
with open(os.path.join(state, "calls.jsonl"), "a") as log:
    log.write(json.dumps(args) + "\\n")
if os.path.exists(os.path.join(state, "down")):
    sys.stderr.write("E0101 memcache.go: couldn't get current server API group list\\n"
                     "Unable to connect to the server: dial tcp 10.0.0.1:443: i/o timeout\\n")
    sys.exit(1)
if "get" in args:
    path = os.path.join(state, "deployment.json")
    if not os.path.exists(path):
        sys.stderr.write('Error from server (NotFound): deployments.apps "churn" not found\\n')
        sys.exit(1)
    print(open(path).read())
    sys.exit(0)
if "port-forward" in args:
    local = int(next(a for a in args if ":" in a and a.split(":")[0].isdigit()).split(":")[0])
    status = int(open(os.path.join(state, "answer-status")).read()) \\
        if os.path.exists(os.path.join(state, "answer-status")) else 200

    class Model(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with open(os.path.join(state, "request.json"), "w") as seen:
                json.dump({{"path": self.path, "type": self.headers["Content-Type"],
                           "body": body.decode()}}, seen)
            answer = b"0.42,0.07" if status == 200 else b"model not loaded"
            self.send_response(status)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *a):
            pass

    print(f"Forwarding from 127.0.0.1:{{local}} -> 8080", flush=True)
    http.server.HTTPServer(("127.0.0.1", local), Model).serve_forever()
sys.exit(3)
"""


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake kubectl first on PATH; returns its state directory."""
    bin_dir, state = tmp_path / "bin", tmp_path / "kubectl-state"
    bin_dir.mkdir()
    state.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(FAKE_KUBECTL)
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_KUBECTL_STATE", str(state))
    return state


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The k8s-dev stack naming its cluster by a kubeconfig file and context (and EKS)."""
    kubeconfig = tmp_path / "team-a.kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    settings = CLUSTER_SETTINGS.replace(
        f"    eksClusterName: {CLUSTER}\n",
        f"    eksClusterName: {CLUSTER}\n    kubeconfig: {{path: {kubeconfig}, context: team-a}}\n")
    return kubernetes_root(tmp_path / "project", STACK_FILE.replace(CLUSTER_SETTINGS, settings))


@pytest.fixture
def eks_root(tmp_path: Path) -> Iterator[Path]:
    """The k8s-dev stack naming only its EKS cluster, in a moto account that has no cluster."""
    with mock_aws():
        yield kubernetes_root(tmp_path / "project")


def deployment(version: int, *, updated: int = 2, available: int = 2,
               deadline_exceeded: bool = False) -> dict[str, Any]:
    conditions = [{"type": "Progressing", "status": "False" if deadline_exceeded else "True",
                   "reason": "ProgressDeadlineExceeded" if deadline_exceeded
                   else "NewReplicaSetAvailable"}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "churn", "namespace": NAMESPACE, "generation": 4},
            "spec": {"replicas": 2, "template": {"metadata": {
                "labels": {"app.kubernetes.io/version": f"v{version}"},
                "annotations": {"mlops.platform/model-package": PACKAGE}}}},
            "status": {"observedGeneration": 4, "replicas": updated if updated >= 2 else 2,
                       "updatedReplicas": updated, "availableReplicas": available,
                       "conditions": conditions}}


def cluster_has(state: Path, found: dict[str, Any] | None) -> None:
    path = state / "deployment.json"
    if found is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(json.dumps(found))


def calls(state: Path) -> list[list[str]]:
    return [json.loads(line) for line in (state / "calls.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(("found", "expected"), [
    (deployment(3), ("Available", 3)),
    (deployment(3, updated=1, available=2), ("Progressing", 3)),  # half rolled out
    (deployment(2, deadline_exceeded=True), ("Failed", 2)),
    ({"metadata": {}, "spec": {"template": {"metadata": {"labels": {}}}}}, ("Progressing", None)),
])
def test_deployment_state(found: dict[str, Any], expected: tuple[str, int | None]) -> None:
    assert deployment_state(found) == expected


def test_the_pinned_version_rolled_out_agrees(root: Path, kubectl: Path, monkeypatch,
                                             capsys) -> None:
    cluster_has(kubectl, deployment(3))
    code, stdout, _ = run_cli(monkeypatch, capsys, root, "endpoints", "status", "--stack", STACK,
                              "--json")
    assert code == 0
    [row] = json.loads(stdout)
    assert {k: row[k] for k in ("project", "target", "endpoint", "status", "serving", "pinned",
                                "agrees")} == {
        "project": "churn", "target": "kubernetes", "endpoint": f"{NAMESPACE}/churn",
        "status": "Available", "serving": 3, "pinned": 3, "agrees": True}
    assert row["detail"] == f"{NAMESPACE}/churn <- {PACKAGE}"
    [call] = calls(kubectl)
    kubeconfig = str(root.parent / "team-a.kubeconfig")
    assert call == ["--kubeconfig", kubeconfig, "--context", "team-a", "--request-timeout=10s",
                    "get", "deployment", "churn", "-n", NAMESPACE, "-o", "json"]


@pytest.mark.parametrize(("found", "status", "serving"), [
    (deployment(2), "Available", 2),  # rolled back, or never updated
    (deployment(3, updated=1, available=1), "Progressing", 3),
    (None, "absent", None),
])
def test_anything_but_the_pinned_version_rolled_out_disagrees(root: Path, kubectl: Path,
                                                              monkeypatch, capsys, found,
                                                              status, serving) -> None:
    cluster_has(kubectl, found)
    code, stdout, stderr = run_cli(monkeypatch, capsys, root, "endpoints", "status", "--stack",
                                   STACK)
    assert code == 1
    assert f"endpoints of {STACK} disagree with the pinned versions: churn" in stderr
    [state] = endpoint_states(root, STACK)
    assert (state.status, state.serving, state.pinned, state.agrees) == (status, serving, 3, False)
    if found is None:
        assert state.detail == (f"v3 is pinned but there is no Deployment {NAMESPACE}/churn "
                                f"(run: mlops up --stack {STACK})")


def test_an_unreachable_cluster_says_what_would_run_and_disagrees(root: Path, kubectl: Path,
                                                                  monkeypatch, capsys) -> None:
    (kubectl / "down").write_text("")
    code, stdout, _ = run_cli(monkeypatch, capsys, root, "endpoints", "status", "--stack", STACK,
                              "--json")
    assert code == 1
    [row] = json.loads(stdout)
    assert (row["status"], row["serving"], row["pinned"], row["agrees"]) == (
        "unreachable", None, 3, False)
    assert row["would_run"] == {"namespace": NAMESPACE, "deployment": "churn", "image": IMAGE,
                                "replicas": "2-6", "version": 3,
                                "artifact": row["would_run"]["artifact"]}
    assert row["detail"] == ("cluster not reachable (Unable to connect to the server: dial tcp "
                             f"10.0.0.1:443: i/o timeout); would run {IMAGE} x2-6 (v3) in "
                             f"namespace {NAMESPACE}")


def test_an_eks_cluster_that_does_not_answer_describe_cluster_is_unreachable(
        eks_root: Path, kubectl: Path) -> None:
    [state] = endpoint_states(eks_root, STACK)
    assert state.status == "unreachable" and not state.agrees
    assert state.detail.startswith(f"cluster not reachable (EKS cluster {CLUSTER}: ")
    assert "would run" in state.detail
    assert not (kubectl / "calls.jsonl").exists()  # kubectl was never asked


def test_without_kubectl_the_cluster_is_unreachable(root: Path, tmp_path: Path,
                                                    monkeypatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    [state] = endpoint_states(root, STACK)
    assert state.detail.startswith("cluster not reachable (kubectl is not on PATH); would run ")


def test_a_kubeconfig_given_on_the_command_line_wins(root: Path, kubectl: Path, tmp_path: Path,
                                                     monkeypatch, capsys) -> None:
    cluster_has(kubectl, deployment(3))
    mine = tmp_path / "mine.kubeconfig"
    code, _, _ = run_cli(monkeypatch, capsys, root, "endpoints", "status", "--stack", STACK,
                         "--kubeconfig", str(mine))
    assert code == 0
    assert calls(kubectl)[0][:4] == ["--kubeconfig", str(mine), "--context", "team-a"]


def test_invoke_posts_to_the_service_through_a_port_forward(root: Path, kubectl: Path,
                                                            tmp_path: Path, monkeypatch,
                                                            capsys) -> None:
    body = tmp_path / "rows.csv"
    body.write_text("1,2,3\n4,5,6\n")
    code, stdout, stderr = run_cli(monkeypatch, capsys, root, "endpoints", "invoke", "churn",
                                   "--stack", STACK, "--body", str(body))
    assert code == 0, stderr
    assert stdout == "0.42,0.07\n"
    assert "9 bytes, text/csv" in stderr
    seen = json.loads((kubectl / "request.json").read_text())
    assert seen == {"path": "/invocations", "type": "text/csv", "body": "1,2,3\n4,5,6\n"}
    [forward] = calls(kubectl)
    assert forward[forward.index("port-forward") + 1:][:3] == ["-n", NAMESPACE, "service/churn"]
    assert forward[-3].endswith(":8080")


def test_invoke_reports_what_the_model_answered_with_an_error(root: Path, kubectl: Path,
                                                             tmp_path: Path, monkeypatch,
                                                             capsys) -> None:
    (kubectl / "answer-status").write_text("503")
    body = tmp_path / "row.csv"
    body.write_text("1,2,3\n")
    code, stdout, stderr = run_cli(monkeypatch, capsys, root, "endpoints", "invoke", "churn",
                                   "--stack", STACK, "--body", str(body))
    assert (code, stdout) == (1, "")
    assert stderr.strip() == f"error: {NAMESPACE}/churn answered HTTP 503: model not loaded"


def test_invoke_on_an_unreachable_cluster_says_where_it_would_go(root: Path, kubectl: Path,
                                                                 tmp_path: Path, monkeypatch,
                                                                 capsys) -> None:
    (kubectl / "down").write_text("")
    body = tmp_path / "row.csv"
    body.write_text("1,2,3\n")
    code, stdout, stderr = run_cli(monkeypatch, capsys, root, "endpoints", "invoke", "churn",
                                   "--stack", STACK, "--body", str(body))
    assert (code, stdout) == (1, "")
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr
    assert lines[0] == (f"error: the cluster of stack {STACK} is not reachable (Unable to "
                        "connect to the server: dial tcp 10.0.0.1:443: i/o timeout); the request "
                        f"would go to service churn.{NAMESPACE}:8080/invocations, would run "
                        f"{IMAGE} x2-6 (v3) in namespace {NAMESPACE}")
