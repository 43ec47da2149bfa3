"""Server mode: separate processes share one sandbox; the commands' error contract."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.mlops.sandbox.helpers import run_mlops

pytestmark = pytest.mark.slow  # real sandbox servers in subprocesses

INSPECT = """
import json, os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
kms = boto3.client("kms", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
enc = s3.get_bucket_encryption(Bucket=buckets[0])["ServerSideEncryptionConfiguration"]["Rules"][0]
key = enc["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"].rsplit("/", 1)[-1]
print(json.dumps({"buckets": buckets, "rotation": kms.get_key_rotation_status(KeyId=key)[
    "KeyRotationEnabled"]}))
"""


def _exports(text: str) -> dict[str, str]:
    pairs = [line.removeprefix("export ").split("=", 1) for line in text.splitlines()]
    return {k: v for k, v in pairs}


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_env_without_a_server_is_a_one_line_error(sandbox) -> None:
    line = _one_line_error(run_mlops(["sandbox", "env"], sandbox))
    assert "not running" in line
    status = run_mlops(["sandbox", "status"], sandbox)
    assert status.returncode == 0 and "not running" in status.stdout


@pytest.mark.parametrize("args, message", [
    (["sandbox", "up"], "--stack NAME"),
    (["sandbox", "up", "--stack", "dev", "--all"], "--stack NAME"),
    (["sandbox", "up", "--stack", "nope"], "stacks/Pulumi.nope.yaml: no such stack file"),
])
def test_up_bad_arguments(sandbox, args: list[str], message: str) -> None:
    assert message in _one_line_error(run_mlops(args, sandbox))
    assert not (Path(sandbox["MLOPS_SANDBOX_DIR"]) / "server.json").exists()


def test_two_processes_share_the_sandbox(sandbox) -> None:
    up = run_mlops(["sandbox", "up", "--stack", "dev"], sandbox)
    assert up.returncode == 0, up.stderr
    assert "sandbox stack dev" in up.stdout and "created" in up.stdout
    state = json.loads((Path(sandbox["MLOPS_SANDBOX_DIR"]) / "server.json").read_text())
    exports = _exports(run_mlops(["sandbox", "env"], sandbox).stdout)
    assert exports["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{state['port']}"
    assert exports["AWS_ACCESS_KEY_ID"] == "testing"

    # Another process, plain boto3, configured only by the exported environment.
    inspected = subprocess.run([sys.executable, "-c", INSPECT], env={**sandbox, **exports},
                               capture_output=True, text=True, timeout=60, check=True)
    seen = json.loads(inspected.stdout)
    assert len(seen["buckets"]) == 5
    assert all(b.startswith("mlops-dev-") for b in seen["buckets"])
    assert seen["rotation"] is True

    again = run_mlops(["sandbox", "up", "--stack", "dev"], sandbox)  # idempotent over the server
    assert again.returncode == 0, again.stderr
    assert re.search(r"sandbox stack dev: \d+ applied", again.stdout)
    assert " created" not in again.stdout

    status = run_mlops(["sandbox", "status"], sandbox)
    assert f"running at http://127.0.0.1:{state['port']}" in status.stdout
    assert "dev" in status.stdout

    down = run_mlops(["sandbox", "down"], sandbox)
    assert down.returncode == 0 and "stopped" in down.stdout
    assert not (Path(sandbox["MLOPS_SANDBOX_DIR"]) / "server.json").exists()
    from mlops.sandbox import server

    assert not server._ours(state["pid"])  # gone (or a zombie awaiting its reaper)
    assert "not running" in run_mlops(["sandbox", "status"], sandbox).stdout


def test_server_module_starts_and_stops_in_process(sandbox) -> None:
    from mlops.sandbox import server

    state, started = server.start()
    assert started and server.read_state() == state
    assert server.start() == (state, False)  # already running: reused
    sts = state.client("sts").get_caller_identity()
    assert sts["Account"] == "123456789012"
    assert server.stop() == state
    assert server.read_state() is None
    assert ROOT.exists()
