"""``python -m arktrace.testing``: serve a fake ModelArk in the foreground until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from ._server import ModelArkServer
from .scripts._common import USAGE_STYLES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m arktrace.testing", description="Run a local ModelArk-compatible server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before response headers")
    parser.add_argument("--chunk-interval", type=float, default=0.0, help="seconds between stream chunks")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer <key>'")
    parser.add_argument("--usage-style", choices=USAGE_STYLES, default="modelark")
    parser.add_argument("--cached-tokens", type=int, default=0)
    args = parser.parse_args(argv)

    server = ModelArkServer(
        args.host,
        args.port,
        api_key=args.api_key,
        latency=args.latency,
        chunk_interval=args.chunk_interval,
        usage_style=args.usage_style,
        cached_tokens=args.cached_tokens,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    server.start()
    try:
        print(f"arktrace.testing listening on {server.base_url}", flush=True)
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
