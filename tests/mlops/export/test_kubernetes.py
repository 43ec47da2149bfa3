"""`mlops export k8s`: the Plan's Kubernetes objects as manifests Kubernetes scanners read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from common import tokens
from mlops.export.kubernetes import HEADER, manifest_of, manifests, write_manifests
from mlops.offline.plan import Plan, PlanResource
from tests.conftest import run_cli, save_plan
from tests.k8s_stack import NAMESPACE, STACK

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
FILES = {
    f"namespace-cluster-{NAMESPACE}.yaml": "Namespace",
    f"serviceaccount-{NAMESPACE}-churn.yaml": "ServiceAccount",
    f"deployment-{NAMESPACE}-churn.yaml": "Deployment",
    f"service-{NAMESPACE}-churn.yaml": "Service",
    f"horizontalpodautoscaler-{NAMESPACE}-churn.yaml": "HorizontalPodAutoscaler",
    f"poddisruptionbudget-{NAMESPACE}-churn.yaml": "PodDisruptionBudget",
    f"networkpolicy-{NAMESPACE}-default-deny-all.yaml": "NetworkPolicy",
    f"networkpolicy-{NAMESPACE}-allow-dns-https-egress.yaml": "NetworkPolicy",
    f"networkpolicy-{NAMESPACE}-churn-allow-ingress.yaml": "NetworkPolicy",
}


@pytest.fixture()
def exported(kubernetes_plan: Plan, tmp_path: Path, monkeypatch, capsys) -> Path:
    saved = tmp_path / "plan.json"
    saved.write_text(kubernetes_plan.to_json())
    out = tmp_path / "manifests"
    code, stdout, stderr = run_cli(monkeypatch, capsys, None, "export", "k8s", "--stack", STACK,
                                   "--plan", str(saved), "--out", str(out))
    assert code == 0, stderr
    assert sorted(stdout.split()) == sorted(str(out / name) for name in FILES)
    assert stderr.strip() == f"wrote 9 manifests to {out}"
    return out


def load(path: Path) -> dict:
    documents = list(yaml.safe_load_all(path.read_text()))
    assert len(documents) == 1, path.name  # one object per file
    return documents[0]


def test_one_file_per_object_in_kubernetes_own_shape(exported: Path) -> None:
    assert sorted(p.name for p in exported.iterdir()) == sorted(FILES)
    for name, kind in FILES.items():
        text = (exported / name).read_text()
        assert text.startswith(HEADER)
        obj = load(exported / name)
        assert list(obj)[:3] == ["apiVersion", "kind", "metadata"], name
        assert obj["kind"] == kind
        assert obj["metadata"]["name"]
        if kind != "Namespace":
            assert obj["metadata"]["namespace"] == NAMESPACE
            assert list(obj["metadata"])[:2] == ["name", "namespace"]
    deployment = load(exported / f"deployment-{NAMESPACE}-churn.yaml")
    assert deployment["apiVersion"] == "apps/v1"
    spec = deployment["spec"]["template"]["spec"]
    server = spec["containers"][0]
    assert server["securityContext"]["runAsUser"] == 10001  # an integer, not 10001.0
    assert type(server["ports"][0]["containerPort"]) is int
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert server["resources"]["requests"] == server["resources"]["limits"]
    assert spec["initContainers"][0]["command"][:2] == ["/bin/sh", "-c"]
    assert load(exported / f"namespace-cluster-{NAMESPACE}.yaml")["apiVersion"] == "v1"
    hpa = load(exported / f"horizontalpodautoscaler-{NAMESPACE}-churn.yaml")
    assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["minReplicas"] == 2
    deny = load(exported / f"networkpolicy-{NAMESPACE}-default-deny-all.yaml")
    assert deny["apiVersion"] == "networking.k8s.io/v1"
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    sa = load(exported / f"serviceaccount-{NAMESPACE}-churn.yaml")
    assert sa["automountServiceAccountToken"] is False


def test_an_export_replaces_its_own_files_and_leaves_others(exported: Path,
                                                            kubernetes_plan: Plan) -> None:
    before = {p.name: p.read_bytes() for p in exported.iterdir()}
    (exported / "deployment-old-gone.yaml").write_text(f"{HEADER} from stack x (y); do not edit\n")
    (exported / "kustomization.yaml").write_text("resources: []\n")  # not ours
    write_manifests(kubernetes_plan, exported)
    after = {p.name: p.read_bytes() for p in exported.iterdir()}
    assert after == {**before, "kustomization.yaml": b"resources: []\n"}  # same bytes again


def test_values_unknown_at_preview_become_placeholders() -> None:
    resource = PlanResource(
        urn=f"urn:pulumi:s::p::{tokens.K8S_SERVICE_ACCOUNT}::sa", type=tokens.K8S_SERVICE_ACCOUNT,
        name="sa", inputs={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
            "name": "churn", "namespace": "serving",
            "annotations": {"eks.amazonaws.com/role-arn": UNKNOWN}}})
    manifest = manifest_of(resource)
    text = manifest.to_yaml("s")
    assert UNKNOWN not in text
    assert yaml.safe_load(text)["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "<unknown until deploy: sa.metadata.annotations."
                                      "eks.amazonaws.com/role-arn>"}
    assert manifest.file_name == "serviceaccount-serving-churn.yaml"


def test_a_stack_without_kubernetes_serving_has_nothing_to_export(plans, tmp_path, monkeypatch,
                                                                  capsys) -> None:
    assert manifests(plans["dev"]) == []
    saved = save_plan(plans, "dev", tmp_path)
    code, out, err = run_cli(monkeypatch, capsys, None, "export", "k8s", "--stack", "dev",
                             "--plan", str(saved), "--out", str(tmp_path / "m"))
    assert (code, out) == (2, "")
    assert err.strip() == ("error: stack dev has no Kubernetes objects to export: no project "
                           "serves on Kubernetes there (serving.target in project.yaml, "
                           "mlops:kubernetes in stacks/Pulumi.dev.yaml; see docs/kubernetes.md)")
    assert not (tmp_path / "m").exists()


CHECKOV = os.environ.get("CHECKOV") or shutil.which("checkov") or (
    "/tmp/ck/bin/checkov" if Path("/tmp/ck/bin/checkov").exists() else None)


@pytest.mark.slow
@pytest.mark.skipif(CHECKOV is None, reason="Checkov is not installed (set CHECKOV=path)")
def test_checkov_kubernetes_framework_passes_the_manifests(exported: Path) -> None:
    assert CHECKOV is not None
    run = subprocess.run([CHECKOV, "-d", str(exported), "--framework", "kubernetes",
                          "--skip-download", "-o", "json"], capture_output=True, text=True,
                         timeout=600, check=False)
    report = json.loads(run.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] >= 40


@pytest.mark.slow  # a subprocess renders and exports the example
def test_make_k8s_example_writes_the_documented_example(tmp_path: Path) -> None:
    from tests import k8s_stack

    out = tmp_path / "example"
    (out / "stale").mkdir(parents=True)  # an earlier run's output is replaced
    assert k8s_stack.main([str(out)]) == 0
    assert not (out / "stale").exists()
    files = sorted(p.name for p in (out / "manifests").glob("*.yaml"))
    assert f"deployment-{NAMESPACE}-churn.yaml" in files and len(files) == 9
    deployment = yaml.safe_load((out / "manifests" / f"deployment-{NAMESPACE}-churn.yaml")
                                .read_text())
    assert deployment["kind"] == "Deployment"
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert (out / "root" / "stacks" / f"Pulumi.{STACK}.yaml").is_file()
