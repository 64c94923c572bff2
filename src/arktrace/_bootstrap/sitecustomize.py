"""Runs at start-up of every Python process ``arktrace run`` launches (this directory is on its PYTHONPATH).

Python imports the first ``sitecustomize`` on ``sys.path``, which is this one, so it first imports the
one it hides (a virtualenv's or a distribution's), then calls ``arktrace.init()``. The directory stays in
PYTHONPATH, so the program's own Python subprocesses (spawned workers, re-executed servers) are traced
too. ``init()`` registers the flush at interpreter exit, which runs after a normal end, ``sys.exit()``
and an uncaught exception alike, and in forked children that exit the same ways.

A configuration error stops the process before the program runs, with one line naming the variable:
the user asked for tracing, and a typo that silently ran the program untraced would only be noticed
when the traces are missing. Anything else that goes wrong here leaves the program to run untraced.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
# sysexits.h's EX_CONFIG, so a wrapper script can tell a configuration error from the program's own codes
_EXIT_CONFIG_ERROR = 78
# Set by `arktrace run` for the program it starts; the first Python process to see it removes it, so
# where spans go is said once, not again by every worker the program spawns.
_ANNOUNCE = "_ARKTRACE_RUN_ANNOUNCE"


def _import_hidden_sitecustomize() -> None:
    # Leave this directory off sys.path for good: the program should see the sys.path it would see anyway.
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != _HERE]
    this = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # noqa: F401
    except ImportError as error:
        if error.name != "sitecustomize":
            _warn(f"the program's sitecustomize failed: {error!r}")
        if this is not None:
            sys.modules["sitecustomize"] = this
    except Exception as error:
        _warn(f"the program's sitecustomize failed: {error!r}")


def _init() -> None:
    try:
        import arktrace
    except ImportError as error:
        _warn(f"{sys.executable} cannot import arktrace ({error}); this process runs untraced")
        return
    announcer = _Announcer() if os.environ.pop(_ANNOUNCE, None) is not None else None
    try:
        from arktrace import _setup

        _setup.unknown_variables_are_errors = True
        arktrace.init()
    except arktrace.ConfigError as error:
        _warn(f"{error}")
        sys.stderr.flush()
        # SystemExit here would surface as a fatal error in site.py; nothing has started that needs cleanup.
        os._exit(_EXIT_CONFIG_ERROR)
    except Exception as error:
        _warn(f"arktrace.init() failed ({error!r}); this process runs untraced")
    finally:
        if announcer is not None:
            announcer.close()


class _Announcer:
    """Writes what ``init()`` logs at INFO and above (where spans go) to stderr while it runs.

    ``init()`` only logs: a library must not write into an application's output, and most programs have
    no logging configured when ``sitecustomize`` runs. The user of ``arktrace run`` asked for tracing on
    the command line, so the command says once where the spans go, as ``arktrace check`` does.
    """

    def __init__(self) -> None:
        import logging

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                message = record.getMessage()
                _warn(message[len("arktrace: ") :] if message.startswith("arktrace: ") else message)

        self._logger = logging.getLogger("arktrace")
        self._level = self._logger.level
        self._handler = Handler(logging.INFO)
        self._logger.addHandler(self._handler)
        if self._logger.getEffectiveLevel() > logging.INFO:
            self._logger.setLevel(logging.INFO)

    def close(self) -> None:
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)


def _warn(message: str) -> None:
    try:
        sys.stderr.write(f"arktrace run: {message}\n")
    except Exception:
        pass


_import_hidden_sitecustomize()
_init()
