"""``arktrace run [--] program [args...]``: run any program with arktrace initialised, no code change.

The program is exec'd in place of this process (so its signals, exit code and process id are its own)
with ``_bootstrap/`` first on PYTHONPATH; the ``sitecustomize`` there calls ``arktrace.init()`` when the
program's Python interpreter starts. Every setting comes from environment variables and ``.env``.
"""

from __future__ import annotations

import os
import subprocess
import sys

from ._reference import help_text

BOOTSTRAP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bootstrap")

USAGE = "usage: arktrace run [-h] [--] program [args ...]\n"
DESCRIPTION = """
Run a program with arktrace initialised in every Python process it starts: arktrace.init() reads the
settings below from environment variables and .env (in the working directory), instruments the OpenAI
and Ark SDKs and flushes at exit (normal end, sys.exit, uncaught exception, forked workers). Where the
spans go is said once on stderr (`arktrace run: exporting to ...`). The exit
code is the program's; a configuration error stops it before it starts, with one line naming the
variable, and exit code 78.

  arktrace run -- python app.py
  OTEL_SERVICE_NAME=shop ARKTRACE_BACKENDS=langfuse arktrace run -- gunicorn app:app -w 4
"""


def child_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the bootstrap directory first on PYTHONPATH, whatever was there kept after it."""
    child = dict(env)
    existing = [entry for entry in child.get("PYTHONPATH", "").split(os.pathsep) if entry]
    child["PYTHONPATH"] = os.pathsep.join([BOOTSTRAP_DIR, *(e for e in existing if e != BOOTSTRAP_DIR)])
    # the program's first Python process says where its spans go (on stderr), and removes this
    child["_ARKTRACE_RUN_ANNOUNCE"] = "1"
    return child


def run(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        sys.stdout.write(USAGE + DESCRIPTION + "\n" + help_text())
        return 0
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.stderr.write(USAGE + "arktrace run: error: the program to run is missing\n")
        return 2
    env = child_environment(dict(os.environ))
    try:
        if os.name == "nt":  # no exec that keeps the console and exit code there
            return subprocess.call(argv, env=env)
        os.execvpe(argv[0], argv, env)
    except OSError as error:
        sys.stderr.write(f"arktrace run: cannot run {argv[0]!r}: {error.strerror or error}\n")
        # the shell's codes: 127 not found, 126 found but not runnable
        return 127 if isinstance(error, FileNotFoundError) else 126
    return 0  # pragma: no cover - execvpe does not return
