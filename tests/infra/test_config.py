"""Malformed stack files: one line naming the file and key, exit 2, nothing registered."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from common import tokens
from infra.config import SettingsError, parse_settings
from tests.conftest import run_cli

GOOD = """\
config:
  aws:region: eu-west-1
  mlops:environment: {env}
  mlops:retentionDays: 30
  mlops:allowedInstanceTypes: [ml.m5.large]
{extra}"""

CASES = [
    # (id, stack file text, expected message after "stacks/Pulumi.bad.yaml")
    ("missing-environment",
     "config:\n  aws:region: eu-west-1\n  mlops:allowedInstanceTypes: [ml.m5.large]\n",
     ": mlops:environment: required setting is missing"),
    ("missing-region",
     "config:\n  mlops:environment: dev\n  mlops:allowedInstanceTypes: [ml.m5.large]\n",
     ": aws:region: required setting is missing"),
    ("retention-wrong-type",
     GOOD.format(env="dev", extra="").replace("retentionDays: 30", "retentionDays: thirty"),
     ': mlops:retentionDays: must be a whole number (got "thirty")'),
    ("retention-out-of-range",
     GOOD.format(env="prod", extra="").replace("retentionDays: 30", "retentionDays: 0"),
     ": mlops:retentionDays: must be >= 1 (got 0)"),
    ("unknown-environment", GOOD.format(env="qa", extra=""),
     ": mlops:environment: must be one of 'dev', 'staging' or 'prod' (got \"qa\")"),
    ("bad-email",
     GOOD.format(env="dev", extra="  mlops:alarmRecipients:\n    emails: [ops@example.com, not-an-email]\n"),
     ": mlops:alarmRecipients.emails[1]: not an email address (got 'not-an-email')"),
    ("http-endpoint",
     GOOD.format(env="dev", extra="  mlops:alarmRecipients:\n    httpsEndpoints: ['http://hooks.example.com/x']\n"),
     ": mlops:alarmRecipients.httpsEndpoints[0]: not an https:// URL (got 'http://hooks.example.com/x')"),
    ("bad-boundary-arn",
     GOOD.format(env="dev", extra="  mlops:permissionsBoundaryArn: arn:aws:iam::12345:policy/b\n"),
     ": mlops:permissionsBoundaryArn: does not match"),
    ("unknown-key-with-hint",
     GOOD.format(env="dev", extra="  mlops:retentionDay: 30\n"),
     ": mlops:retentionDay: unknown setting; did you mean mlops:retentionDays?"),
    ("bad-instance-type",
     GOOD.format(env="dev", extra="").replace("[ml.m5.large]", "[ml.m5.large, m5.large]"),
     ": mlops:allowedInstanceTypes[1]: not a SageMaker instance type like ml.m5.xlarge (got 'm5.large')"),
    ("no-instance-types",
     GOOD.format(env="dev", extra="").replace("[ml.m5.large]", "[]"),
     ": mlops:allowedInstanceTypes: must not be empty"),
    ("prod-short-deletion-window",
     GOOD.format(env="prod", extra="  mlops:kmsDeletionWindowDays: 7\n"),
     ": mlops:kmsDeletionWindowDays: must be 30 in prod (got 7)"),
    ("deletion-window-range",
     GOOD.format(env="dev", extra="  mlops:kmsDeletionWindowDays: 3\n"),
     ": mlops:kmsDeletionWindowDays: must be >= 7 (got 3)"),
    ("not-a-bool",
     GOOD.format(env="dev", extra="  mlops:onlineFeatureStore: maybe\n"),
     ': mlops:onlineFeatureStore: must be true or false (got "maybe")'),
    ("bad-promotion-account",
     GOOD.format(env="staging", extra="  mlops:accountMode: per-stack\n  mlops:promotion:\n"
                 "    targetAccounts: ['1234']\n"),
     ": mlops:promotion.targetAccounts[0]: not a 12-digit AWS account id (got '1234')"),
    ("accounts-in-single-mode",
     GOOD.format(env="staging", extra="  mlops:promotion:\n    targetAccounts: ['210987654321']\n"),
     ": mlops:promotion: sourceAccounts/targetAccounts need accountMode: per-stack"),
    ("unknown-nested-key",
     GOOD.format(env="dev", extra="  mlops:alarmRecipients:\n    pager: [x]\n"),
     ": mlops:alarmRecipients.pager: unknown setting"),
    ("bad-region",
     GOOD.format(env="dev", extra="").replace("eu-west-1", "europe"),
     ': aws:region: does not match'),
    ("yaml-syntax", "config:\n  aws:region: eu-west-1\n  mlops:environment: [dev\n",
     ":4:1: invalid YAML: expected ',' or ']', but got '<stream end>'"),
    ("config-not-a-mapping", "config: [1, 2]\n", ": config: must be a mapping of settings"),
    ("kubernetes-names-no-cluster",
     GOOD.format(env="dev", extra="  mlops:kubernetes:\n    namespace: serving\n"),
     ": mlops:kubernetes: names no cluster: set eksClusterName (an EKS cluster) or kubeconfig "
     "(path or secretConfigKey)"),
    ("kubernetes-default-namespace",
     GOOD.format(env="dev", extra="  mlops:kubernetes:\n    eksClusterName: a\n"
                                  "    namespace: default\n"),
     ": mlops:kubernetes.namespace: must be a namespace of its own, not 'default'"),
    ("kubernetes-pod-identity-needs-eks",
     GOOD.format(env="dev", extra="  mlops:kubernetes:\n    kubeconfig: {path: /k}\n"),
     ": mlops:kubernetes.eksClusterName: EKS Pod Identity associates the serving role"),
    ("kubernetes-irsa-needs-an-issuer",
     GOOD.format(env="dev", extra="  mlops:kubernetes:\n    kubeconfig: {path: /k}\n"
                                  "    awsAccess: irsa\n"),
     ": mlops:kubernetes.oidcIssuer: IRSA trusts the cluster's OIDC issuer"),
    ("kubernetes-two-kubeconfigs",
     GOOD.format(env="dev", extra="  mlops:kubernetes:\n    eksClusterName: a\n"
                                  "    kubeconfig: {path: /k, secretConfigKey: 'a:b'}\n"),
     ": mlops:kubernetes.kubeconfig: give exactly one of path"),
    ("kubernetes-secret-not-in-the-file",
     GOOD.format(env="dev", extra="  mlops:kubernetes:\n    eksClusterName: a\n"
                                  "    kubeconfig: {secretConfigKey: 'team-a:kubeconfig'}\n"),
     ": mlops:kubernetes.kubeconfig.secretConfigKey: team-a:kubeconfig is not set in this stack "
     "file"),
    ("kubernetes-secret-in-the-mlops-namespace",
     GOOD.format(env="dev", extra="  mlops:kubernetes:\n    eksClusterName: a\n"
                                  "    kubeconfig: {secretConfigKey: 'mlops:kubeconfig'}\n"),
     ": mlops:kubernetes.kubeconfig.secretConfigKey: must be a config key outside the mlops: "
     "namespace"),
    ("kubernetes-bad-ingress-namespace",
     GOOD.format(env="dev", extra="  mlops:kubernetes:\n    eksClusterName: a\n"
                                  "    ingressNamespaces: [gateway, Apps]\n"),
     ": mlops:kubernetes.ingressNamespaces[1]: not a namespace name"),
    ("pin-artifact-not-in-s3",
     GOOD.format(env="dev", extra="  mlops:models:\n    churn:\n      version: 1\n"
                                  "      packageArn: x\n      artifactUri: https://x/y\n"),
     ": mlops:models.churn.artifactUri: not an s3://bucket/key URI (got 'https://x/y')"),
    ("prefix-too-long-for-bucket-names",
     GOOD.format(env="dev", extra="  mlops:namePrefix: averyverylongpre\n"),
     ": mlops:namePrefix: does not match"),
]


@pytest.fixture()
def project(tmp_path: Path, root: Path) -> Path:
    """A copy of the project's inputs (stacks, pipelines) where bad stack files can be written."""
    shutil.copytree(root / "stacks", tmp_path / "stacks")
    shutil.copytree(root / "pipelines", tmp_path / "pipelines")
    (tmp_path / "Pulumi.yaml").write_text((root / "Pulumi.yaml").read_text())
    return tmp_path


@pytest.fixture()
def registrations(monkeypatch):
    """Every resource registration any mock runtime sees during the test."""
    from mlops.offline import runtime

    seen: list[str] = []
    original = runtime.RecordingMonitor.RegisterResource

    def spy(self, request):
        if request.type != tokens.STACK:  # the engine's root, not a resource of ours
            seen.append(request.name)
        return original(self, request)

    monkeypatch.setattr(runtime.RecordingMonitor, "RegisterResource", spy)
    return seen


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_stack_file(project, monkeypatch, capsys, registrations, text, expected):
    (project / "stacks" / "Pulumi.bad.yaml").write_text(text)
    code, out, err = run_cli(monkeypatch, capsys, project, "preview", "--stack", "bad")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: stacks/Pulumi.bad.yaml" + expected), lines[0]
    assert "Traceback" not in err and out == ""
    assert registrations == []


def test_missing_stack_file_names_the_known_stacks(project, monkeypatch, capsys, registrations):
    code, _, err = run_cli(monkeypatch, capsys, project, "preview", "--stack", "qa")
    assert code == 2
    assert err.strip() == ("error: stacks/Pulumi.qa.yaml: no such stack file "
                           "(stacks here: dev, staging, prod)")
    assert registrations == []


@pytest.mark.slow  # cold render
def test_a_new_environment_is_one_more_stack_file(project, monkeypatch, capsys):
    text = GOOD.format(env="dev", extra="")
    (project / "stacks" / "Pulumi.alice-sandbox.yaml").write_text(text)
    code, out, _ = run_cli(monkeypatch, capsys, project, "preview", "--stack", "alice-sandbox",
                           "--json")
    assert code == 0
    assert '"mlops-alice-sandbox-raw-data-123456789012-eu-west-1"' in out


def test_stack_names_too_long_for_bucket_names(project, monkeypatch, capsys, registrations):
    name = "a-very-long-environment-name-for-buckets"
    (project / "stacks" / f"Pulumi.{name}.yaml").write_text(GOOD.format(env="dev", extra=""))
    code, _, err = run_cli(monkeypatch, capsys, project, "preview", "--stack", name)
    assert code == 2
    assert err.startswith(f"error: stacks/Pulumi.{name}.yaml: mlops:namePrefix: prefix and stack "
                          "name make bucket names of")
    assert registrations == []


def test_engine_config_strings_parse_like_the_file():
    """Pulumi hands structured config to programs as JSON strings; both shapes validate alike."""
    native = {"aws:region": "eu-west-1", "mlops:environment": "dev", "mlops:retentionDays": 5,
              "mlops:allowedInstanceTypes": ["ml.m5.large"], "mlops:onlineFeatureStore": True}
    engine = {"aws:region": "eu-west-1", "mlops:environment": "dev", "mlops:retentionDays": "5",
              "mlops:allowedInstanceTypes": '["ml.m5.large"]', "mlops:onlineFeatureStore": "true"}
    assert parse_settings(native, "x") == parse_settings(engine, "x")
    with pytest.raises(SettingsError, match="mlops:retentionDays: must be >= 1"):
        parse_settings({**engine, "mlops:retentionDays": "0"}, "x")


def test_console_script_exit_code_and_single_line(root):
    """The installed `mlops` entry point, as a new user runs it."""
    mlops = Path(sys.executable).parent / "mlops"
    result = subprocess.run([str(mlops), "preview", "--stack", "does-not-exist"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: stacks/Pulumi.does-not-exist.yaml: no such stack")
    assert "Traceback" not in result.stderr
