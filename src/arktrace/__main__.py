"""Command line: ``arktrace demo`` and ``arktrace check`` (also ``python -m arktrace …``)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="arktrace", description="OpenTelemetry tracing for ModelArk LLM calls"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run instrumented calls against the bundled server and show their spans")
    # `check` parses its own options (and --help): everything after the word goes to it
    commands.add_parser(
        "check", add_help=False, help="send one test span to each configured backend and report what happened"
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        return run_demo()
    from ._check import run_check

    return run_check(rest)


if __name__ == "__main__":
    sys.exit(main())
