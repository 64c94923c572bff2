"""Command line: ``arktrace run``, ``demo``, ``check``, ``prices`` (also ``python -m arktrace …``)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        # the rest is the program's own command line: argparse must not read options from it
        from ._run import run

        return run(argv[1:])
    parser = argparse.ArgumentParser(
        prog="arktrace", description="OpenTelemetry tracing for ModelArk LLM calls"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run", add_help=False, help="run a program traced, settings from env vars / .env (run -h lists them)"
    )
    commands.add_parser("demo", help="run instrumented calls against the bundled server and show their spans")
    # `check` parses its own options (and --help): everything after the word goes to it
    commands.add_parser(
        "check", add_help=False, help="send one test span to each configured backend and report what happened"
    )
    commands.add_parser(
        "prices",
        add_help=False,
        help="register arktrace's price table in a backend that prices spans itself: prices register phoenix",
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "prices":
        from .backends.phoenix import run_prices

        return run_prices(rest)
    if args.command == "demo":
        from ._demo import run_demo

        return run_demo()
    from ._check import run_check

    return run_check(rest)


if __name__ == "__main__":
    sys.exit(main())
