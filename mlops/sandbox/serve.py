"""``python -m mlops.sandbox.serve --port N``: the sandbox's moto server, until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
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

    # Pipeline executions EventBridge starts run for real, with the local runner.
    triggered.register(endpoint_url=f"http://{args.host}:{args.port}")
    try:
        stop.wait()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
