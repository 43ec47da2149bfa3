"""The pack as the Pulumi CLI starts it: `python __main__.py` in policies/ serves the analyzer.

Building the PolicyPack validates every policy's name, description and config schema and starts
the gRPC analyzer, which announces its port on stdout; a pack that cannot start would only show
up at `pulumi up --policy-pack policies` otherwise.
"""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys

from tests.conftest import ROOT

PACK = ROOT / "policies"


def test_the_pack_starts_and_serves_the_analyzer() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([sys.executable, "__main__.py"], cwd=PACK, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        selector = selectors.DefaultSelector()
        assert proc.stdout is not None
        selector.register(proc.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=60)
        assert ready, "the pack announced no port within 60 s"
        line = proc.stdout.readline().decode().strip()
        assert line.isdigit(), (line, proc.stderr.read().decode() if proc.poll() else "")
        with socket.create_connection(("127.0.0.1", int(line)), timeout=5):
            pass  # the analyzer accepts connections
        assert proc.poll() is None, "the pack exited instead of serving"
    finally:
        proc.kill()
        proc.wait(timeout=10)
