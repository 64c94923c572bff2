"""arktrace: OpenTelemetry spans for every LLM call made with the OpenAI and Ark SDKs.

Two lines::

    import arktrace
    arktrace.init()          # exporters from env vars / .env, then instrument()

or, with your own OpenTelemetry set-up, ``arktrace.instrument(tracer_provider=...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._context import context, current_span_id, current_trace_id
from ._errors import ConfigError
from ._instrument import instrument, is_instrumented, uninstrument
from ._tracing import trace
from ._version import __version__

if TYPE_CHECKING:
    from ._setup import flush, init, shutdown

_SETUP = ("flush", "init", "shutdown")


def __getattr__(name: str) -> Any:
    # init()'s exporter set-up is imported on first use: an app that only calls instrument() (or
    # uses opentelemetry-instrument) does not pay for it at import time.
    if name in _SETUP:
        from . import _setup

        return getattr(_setup, name)
    raise AttributeError(f"module 'arktrace' has no attribute {name!r}")


def __dir__() -> list[str]:
    # dir() and help() list what the module holds; the lazily imported functions are part of it too.
    return sorted({*globals(), *_SETUP})


__all__ = [
    "ConfigError",
    "__version__",
    "context",
    "current_span_id",
    "current_trace_id",
    "flush",
    "init",
    "instrument",
    "is_instrumented",
    "shutdown",
    "trace",
    "uninstrument",
]
