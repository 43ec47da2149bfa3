"""Start, find and stop the sandbox's moto server; its state lives under ``.sandbox/``.

``.sandbox/server.json`` holds pid, port and region of the running server; ``stacks.json`` the
stacks provisioned into it (the server keeps its resources in memory, so both go with it).
``MLOPS_SANDBOX_DIR`` moves the directory (tests use temporary ones).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops.errors import UsageError

SANDBOX_DIR_ENV = "MLOPS_SANDBOX_DIR"
HOST = "127.0.0.1"
DEFAULT_REGION = "eu-west-1"
START_TIMEOUT = 30.0
SERVE_MODULE = "mlops.sandbox.serve"


def sandbox_dir() -> Path:
    """Where the sandbox keeps its state: $MLOPS_SANDBOX_DIR, else .sandbox/ in the project."""
    configured = os.environ.get(SANDBOX_DIR_ENV)
    if configured:
        return Path(configured)
    root = os.environ.get("MLOPS_ROOT") or Path(__file__).resolve().parent.parent.parent
    return Path(root) / ".sandbox"


@dataclass(frozen=True)
class ServerState:
    pid: int
    port: int
    region: str
    started_at: str

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment that points boto3, the AWS CLI and `mlops` at the sandbox."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }

    def client(self, service: str, region: str | None = None) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=region or self.region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")


def _state_file() -> Path:
    return sandbox_dir() / "server.json"


def _stacks_file() -> Path:
    return sandbox_dir() / "stacks.json"


def _ours(pid: int) -> bool:
    """The pid is alive and is a sandbox server (guards against a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): alive is the best we can tell
    return SERVE_MODULE in cmdline


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
        return True
    return False


def read_state() -> ServerState | None:
    """The running server, or None (stale state from a dead server is removed)."""
    path = _state_file()
    try:
        state = ServerState(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if _ours(state.pid):
        deadline = time.monotonic() + 5  # a busy server may be slow to accept
        while time.monotonic() < deadline:
            if _answers(state.port):
                return state
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):  # ours but deaf: never leave it orphaned
            os.kill(state.pid, signal.SIGKILL)
    _clear()
    return None


def require_state() -> ServerState:
    state = read_state()
    if state is None:
        raise UsageError("the sandbox is not running; start it with `mlops sandbox up --stack dev`")
    return state


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _clear() -> None:
    for path in (_state_file(), _stacks_file()):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def start(region: str = DEFAULT_REGION) -> tuple[ServerState, bool]:
    """Start the server unless it runs; returns its state and whether it was started now.

    A lock file makes concurrent callers share one server; a port taken between choosing and
    binding it is retried with another.
    """
    import fcntl

    directory = sandbox_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "server.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = read_state()
        if state is not None:
            return state, False
        for _ in range(3):
            state = _spawn(directory, region)
            if state is not None:
                _clear()
                _state_file().write_text(json.dumps(asdict(state), indent=2) + "\n",
                                         encoding="utf-8")
                return state, True
    raise UsageError(f"the sandbox server did not start; see {directory / 'server.log'}")


def _spawn(directory: Path, region: str) -> ServerState | None:
    """Start a server process on a free port; None if it exited or never answered."""
    port = _free_port()
    with (directory / "server.log").open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", SERVE_MODULE, "--port", str(port), "--host", HOST],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
            return None
        time.sleep(0.1)
    return ServerState(pid=proc.pid, port=port, region=region,
                       started_at=datetime.now(UTC).isoformat(timespec="seconds"))


def stop() -> ServerState | None:
    """Stop the server if it runs and remove the sandbox state; returns what was stopped."""
    state = read_state()
    if state is None:
        _clear()
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _ours(state.pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(state.pid, os.WNOHANG)  # reap it if we happen to be its parent
        time.sleep(0.05)
    if _ours(state.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(state.pid, signal.SIGKILL)
    _clear()
    return state


def provisioned() -> dict[str, dict[str, Any]]:
    """Stacks provisioned into the running server: name -> summary."""
    try:
        data = json.loads(_stacks_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_stack(stack: str, summary: dict[str, Any]) -> None:
    data = provisioned()
    data[stack] = {**summary, "provisioned_at": datetime.now(UTC).isoformat(timespec="seconds")}
    _stacks_file().write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
