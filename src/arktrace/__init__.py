"""arktrace: OpenTelemetry spans for every LLM call made with the OpenAI and Ark SDKs.

Two lines::

    import arktrace
    arktrace.init()          # exporters from env vars / .env, then instrument()

or, with your own OpenTelemetry set-up, ``arktrace.instrument(tracer_provider=...)``.
"""

from __future__ import annotations

from ._context import context, current_span_id, current_trace_id
from ._errors import ConfigError
from ._instrument import instrument, is_instrumented, uninstrument
from ._setup import flush, init, shutdown
from ._tracing import trace
from ._version import __version__

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
