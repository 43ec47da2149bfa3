"""``python -m mlops.sandbox.serve --port N``: the sandbox's moto server, until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import os
import signal
import threading


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mlops.sandbox.serve", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)

    from moto.server import ThreadedMotoServer

    from mlops.sandbox import moto_patches

    moto_patches.install()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    from mlops.sandbox import triggered

    # Pipeline executions EventBridge starts run for real, with the local runner, as clients of
    # this server: its address and fake credentials, whatever the shell that started it had.
    endpoint = f"http://{args.host}:{args.port}"
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"})
    os.environ.pop("AWS_SESSION_TOKEN", None)
    triggered.register(endpoint_url=endpoint)
    try:
        # Wake up now and then: a signal that lands on a server thread only sets Python's flag,
        # and the main thread runs the handler when it next runs (a bare wait() may never).
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
